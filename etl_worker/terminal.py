"""What a person reads in a terminal: an execution, the history, a run's progress (CLI and demo).

Output fits the terminal it is written to, 80 columns included: ids are shown by their first 8
characters (every command accepts such a prefix), statuses and numbers are never cut, phase details
are a short ``key=value`` summary (the whole JSON is in ``--json``), and a table too wide drops its
least useful columns before it shortens the one free-text column.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rich import box
from rich.console import Console, JustifyMethod
from rich.progress import BarColumn, Progress, TextColumn
from rich.table import Table

from etl_worker.display import cell, printable
from etl_worker.models import PHASES, ETLExecution
from etl_worker.settings import Settings

ID_CHARS = 8
STALLED_SECONDS = 10  # a run without a finished phase or batch for this long says what it waits for
LISTENER_LAG_SECONDS = 5  # after a run ends, how long to wait for the records of its last phases
_STATUS_COLOURS = {"success": "green", "partial_success": "yellow", "failed": "red"}


def short(identifier: str | None) -> str:
    """An id as people type it: its first characters (a unique prefix for every command)."""
    return (identifier or "")[:ID_CHARS]


def summarize(details: dict[str, Any]) -> str:
    """A phase's details as ``key=value`` pairs, nested mappings flattened one level, in one line."""
    parts = []
    for key, value in details.items():
        if isinstance(value, dict):
            inner = " ".join(f"{k}={_scalar(v)}" for k, v in value.items())
            parts.append(f"{key}: {inner}" if inner else f"{key}: -")
        else:
            parts.append(f"{key}={_scalar(value)}")
    return "; ".join(parts)


def _scalar(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ",".join(map(_scalar, value)) or "-"
    if isinstance(value, dict):
        return ",".join(f"{k}:{_scalar(v)}" for k, v in value.items()) or "-"
    if isinstance(value, float):
        return f"{value:g}"
    return "-" if value is None else str(value)


@dataclass(frozen=True)
class Column:
    """A table column: ``keep`` ranks what stays when the table is too wide (higher stays longer);
    the ``free`` column (free text) is shortened with an ellipsis instead of dropped, down to
    ``min_free`` characters."""

    header: str
    keep: int = 10
    free: bool = False
    justify: JustifyMethod = "left"


_MIN_FREE = 12
_COMFORT = 40  # what the free text gets before columns worth less than it are kept
_GAP = 2  # between two columns: the tables are drawn without side borders (box.SIMPLE_HEAD, collapsed padding)


def whole_line(console: Console, text: str) -> None:
    """Print a line that holds what a person copies (a path, a URL, an ``export`` line) as written,
    escaped, and never wrapped or cut by rich: a terminal wraps it on screen, a pipe gets it on one line."""
    console.print(printable(text), soft_wrap=True, markup=False, highlight=False)


def fitted_table(columns: Sequence[Column], rows: Sequence[Sequence[object]], width: int, **options: Any) -> Table:
    """A table of ``rows`` at most ``width`` characters wide: columns with the lowest ``keep`` are left out
    until the rest fits with the free column at its natural width or shortened to no less than
    ``_MIN_FREE``; every other cell is shown whole."""
    cells = [[cell(v) for v in row] for row in rows]
    natural = [
        max([len(c.header), *(len(printable("" if r[i] is None else r[i])) for r in rows)])
        for i, c in enumerate(columns)
    ]
    shown = list(range(len(columns)))

    def needed(indices: list[int], free_width: int = _MIN_FREE) -> int:
        widths = [min(natural[i], free_width) if columns[i].free else natural[i] for i in indices]
        return sum(widths) + _GAP * max(len(widths) - 1, 0)

    # Columns worth less than the free text go first, until it has room to be read; then the least
    # useful of the others, until it fits at all (the free text, which can be shortened, goes last).
    free_keep = max((c.keep for c in columns if c.free), default=0)
    for free_width, worth_less in ((_COMFORT, free_keep), (_MIN_FREE, None)):
        while needed(shown, free_width) > width and len(shown) > 1:
            others = [i for i in shown if not columns[i].free]
            candidates = [i for i in others if worth_less is None or columns[i].keep < worth_less]
            if worth_less is None and len(candidates) <= 1:
                candidates = shown[1:]
            if not candidates:
                break
            shown.remove(min(candidates, key=lambda i: (columns[i].keep, -i)))
    fixed = needed([i for i in shown if not columns[i].free])
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, collapse_padding=True, **options)
    for i in shown:
        column = columns[i]
        if column.free:  # what the other columns leave, up to its natural width
            room = max(width - fixed - _GAP, min(natural[i], _MIN_FREE))
            table.add_column(column.header, overflow="ellipsis", no_wrap=True, max_width=min(natural[i], room))
        else:
            table.add_column(column.header, no_wrap=True, min_width=natural[i], justify=column.justify)
    for row in cells:
        table.add_row(*(row[i] for i in shown))
    return table


def history_table(executions: Sequence[ETLExecution], width: int) -> Table:
    columns = (
        Column("execution", keep=100),
        Column("status", keep=100),
        Column("started", keep=60),
        Column("seconds", keep=50, justify="right"),
        Column("prospects", keep=40, justify="right"),
        Column("quality", keep=45, justify="right"),
        Column("extraction", keep=30),
        Column("replay of", keep=20),
        Column("error", keep=35, free=True),
    )
    rows = [
        (
            short(e.execution_id),
            e.overall_status,
            f"{e.started_at:%Y-%m-%d %H:%M}" if e.started_at else "",
            f"{e.duration_seconds:.1f}" if e.duration_seconds is not None else "",
            str(e.total_prospects_loaded),
            f"{e.quality_score:.1f}" if e.quality_score is not None else "",
            short(e.extraction_id),
            f"{short(e.replay_of)} {e.replay_from}" if e.replay_of else "",
            e.error_summary or "",
        )
        for e in executions
    ]
    return fitted_table(columns, rows, width)


def render_execution(console: Console, e: ETLExecution) -> None:
    """An execution with its phases and transformers, to fit ``console``'s width."""
    colour = _STATUS_COLOURS.get(e.overall_status, "cyan")
    console.print(
        f"execution [bold]{short(e.execution_id)}[/] of extraction {short(e.extraction_id)}: "
        f"[{colour}]{e.overall_status}[/]"
    )
    duration = f"{e.duration_seconds:.2f} s" if e.duration_seconds is not None else "-"
    quality = f"{e.quality_score:.1f}" if e.quality_score is not None else "-"
    console.print(
        f"duration {duration}; loaded {e.total_prospects_loaded} prospects, {e.total_grades_loaded} grades, "
        f"{e.total_measurements_loaded} measurements, {e.total_stats_loaded} college seasons; quality {quality}",
        highlight=False,
    )
    if e.error_summary:
        console.print(f"[{colour}]{cell(e.error_summary)}[/]", highlight=False)
    if e.replay_of:
        console.print(f"replay of execution {short(e.replay_of)} from {e.replay_from} (earlier phases reused)")
    if e.resumes and e.resumed_at is not None:
        console.print(
            f"resumed at {e.resumed_from} at {e.resumed_at:%H:%M:%S} ({e.resumes}x): the broker had lost its tasks",
            highlight=False,
        )
    for w in e.waiting_for:
        console.print(f"waiting for: {in_flight(w)}", highlight=False)
    for h in e.handovers:
        why = f"worker {cell(h['lost_worker'])} lost" if h["lost_worker"] else "held by no worker, requeued"
        console.print(f"redelivered: {why} at {h['at']:%H:%M:%S} (task {short(h['task_id'])})", highlight=False)
    phase_columns = (
        Column("phase", keep=100),
        Column("status", keep=100),
        Column("seconds", keep=60, justify="right"),
        Column("worker", keep=20),
        Column("details / error", keep=80, free=True),
    )
    phase_rows = [
        (
            p.phase,
            p.status,
            f"{p.duration_seconds:.3f}" if p.duration_seconds is not None else "",
            p.hostname or "",
            p.error_message or summarize(p.details),
        )
        for p in e.phases
    ]
    console.print(fitted_table(phase_columns, phase_rows, console.width))
    for p in e.phases:  # the rules by name, in full: the table's details column is cut to fit
        for outcome in ("failed", "warned"):
            named = (p.details or {}).get(f"rules_{outcome}") or []
            if named:
                console.print(f"rules {outcome}: {cell(', '.join(map(str, named)))}", highlight=False)
    transformer_columns = (
        Column("transformer", keep=100),
        Column("batches", keep=60, justify="right"),
        Column("records", keep=90, justify="right"),
        Column("quarantined", keep=80, justify="right"),
        Column("status", keep=100),
        Column("workers", keep=20, free=True),
    )
    transformer_rows = [
        (
            name,
            str(s["batches"]),
            str(s["processed"]),
            str(s["failed"]),
            ",".join(sorted(s["statuses"])),
            ", ".join(sorted(s["workers"])),
        )
        for name, s in e.transformer_summary().items()
    ]
    console.print(fitted_table(transformer_columns, transformer_rows, console.width))


def in_flight(task: dict[str, Any]) -> str:
    """One task a run waits for, as a person reads it."""
    waited = (datetime.now(UTC) - task["since"]).total_seconds()
    name = (task["task_name"] or "a task").removeprefix("etl.")
    return f"{name} (task {short(task['task_id'])}) on {cell(task['hostname'] or '?')} for {waited:.0f} s"


def follow(
    settings: Settings, execution_id: str, ended: Callable[[], bool], console: Console, log: Console | None = None
) -> None:
    """Until the execution ends: on a terminal, a progress bar of its transform batches with phases done
    and rows/s; elsewhere, one line on ``log`` (if given) per phase as it ends.

    Progress comes from the history the listener writes; without a listener it shows at the end.
    """
    from etl_worker.db import tracking
    from etl_worker.db.engine import transaction

    started = time.monotonic()
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[batches]}"))
    lines = log if log is not None and not console.is_terminal else None
    told: set[str] = set()
    ended_at: float | None = None
    with Progress(*columns, console=console, transient=True, disable=not console.is_terminal) as bar:
        task = bar.add_task("running", total=None, batches="planning")
        last, moved = None, time.monotonic()
        while True:
            finished = ended()  # the service decides (and fails a run past its deadline)
            with transaction(settings.database_url) as conn:
                state = tracking.progress(conn, execution_id)
                if (state["phases"], state["batches"]) != last:
                    last, moved = (state["phases"], state["batches"]), time.monotonic()
                stalled = time.monotonic() - moved > STALLED_SECONDS
                waiting = tracking.in_flight(conn, execution_id)[:1] if stalled else []
                phases = tracking.finished_phases(conn, execution_id) if lines is not None else []
            if lines is not None:
                for phase in phases:
                    if phase["phase"] not in told:
                        lines.print(_phase_line(phase), highlight=False, soft_wrap=True)
                        told.add(phase["phase"])
            rate = state["rows"] / max(time.monotonic() - started, 1e-6)
            description = f"{state['status']}: {state['phases']}/6 phases, {rate:,.0f} rows/s"
            if waiting:  # a run that has not moved for a while says what it waits for
                description += f"; waiting for {in_flight(waiting[0])}"
            counted = batches_done(state)
            bar.update(
                task, total=state["planned"], completed=state["batches"], description=description, batches=counted
            )
            if finished:
                # The listener may still be writing the records of the last phases: give it a moment.
                ended_at = ended_at or time.monotonic()
                if lines is None or len(told) == len(PHASES) or time.monotonic() - ended_at > LISTENER_LAG_SECONDS:
                    return
            time.sleep(0.2)


def batches_done(state: dict[str, Any]) -> str:
    """The progress bar's count: ``12/40 batches``, or ``planning`` before the run has planned any."""
    return f"{state['batches']}/{state['planned']} batches" if state.get("planned") else "planning"


def _phase_line(phase: dict[str, Any]) -> str:
    seconds = f" in {phase['duration_seconds']:.2f} s" if phase["duration_seconds"] is not None else ""
    reason = f": {cell(phase['error_message'])}" if phase["error_message"] else ""
    return f"{phase['phase']} {phase['status']}{seconds}{reason}"

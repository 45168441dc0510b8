"""A self-contained HTML page for one execution: a timeline of every task by worker, phase durations,
transformer results, the quality report and the quarantine summary. No scripts or styles from outside."""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any

from etl_worker.models import ETLExecution

PHASE_COLOURS = {
    "extract": "#4e79a7",
    "transform": "#59a14f",
    "validate": "#edc948",
    "merge": "#b07aa1",
    "load": "#f28e2b",
    "publish": "#76b7b2",
}
STATUS_COLOURS = {"pass": "#2e7d32", "warn": "#ef6c00", "fail": "#c62828"}
_LANE, _LEFT, _WIDTH = 28, 170, 900


def timeline_bars(execution: ETLExecution) -> list[dict[str, Any]]:
    """Every task with a start and an end: phases that ran on a worker, and each transformer batch."""
    bars = [
        {
            "worker": p.hostname,
            "phase": p.phase,
            "label": p.phase,
            "start": p.started_at,
            "end": p.completed_at,
            "status": p.status,
        }
        for p in execution.phases
        if p.hostname and p.started_at and p.completed_at
    ]
    bars += [
        {
            "worker": t.hostname,
            "phase": "transform",
            "label": f"{t.transformer_type} batch {t.batch_no}",
            "start": t.started_at,
            "end": t.completed_at,
            "status": t.status,
        }
        for t in execution.transformers
        if t.hostname and t.started_at and t.completed_at
    ]
    return sorted(bars, key=lambda b: b["start"])


def timeline_svg(bars: list[dict[str, Any]]) -> str:
    if not bars:
        return "<p>No task has recorded times yet.</p>"
    origin: datetime = min(b["start"] for b in bars)
    span = max((max(b["end"] for b in bars) - origin).total_seconds(), 1e-3)
    workers = sorted({b["worker"] for b in bars})
    height = _LANE * len(workers) + 40
    parts = [
        f'<svg id="timeline" width="{_LEFT + _WIDTH + 60}" height="{height}" role="img" '
        f'aria-label="task timeline by worker">'
    ]
    for i, worker in enumerate(workers):
        y = 10 + i * _LANE
        parts.append(f'<text x="4" y="{y + 17}" class="lane">{escape(worker)}</text>')
        parts.append(
            f'<line x1="{_LEFT}" x2="{_LEFT + _WIDTH}" y1="{y + _LANE - 2}" y2="{y + _LANE - 2}" class="grid"/>'
        )
    for bar in bars:
        x = _LEFT + (bar["start"] - origin).total_seconds() / span * _WIDTH
        width = max((bar["end"] - bar["start"]).total_seconds() / span * _WIDTH, 1.5)
        y = 10 + workers.index(bar["worker"]) * _LANE + 3
        colour = "#c62828" if bar["status"] == "failed" else PHASE_COLOURS.get(bar["phase"], "#999")
        seconds = (bar["end"] - bar["start"]).total_seconds()
        parts.append(
            f'<rect class="bar" x="{x:.2f}" y="{y}" width="{width:.2f}" height="{_LANE - 8}" fill="{colour}">'
            f"<title>{escape(bar['label'])} on {escape(bar['worker'])}: {seconds:.3f} s ({escape(bar['status'])})"
            "</title></rect>"
        )
    axis_y = 10 + len(workers) * _LANE + 14
    for tick in range(5):
        x = _LEFT + tick / 4 * _WIDTH
        parts.append(f'<text x="{x:.0f}" y="{axis_y}" class="tick">{span * tick / 4:.2f} s</text>')
    parts.append("</svg>")
    return "".join(parts)


def phase_svg(execution: ETLExecution) -> str:
    timed = [p for p in execution.phases if p.duration_seconds is not None]
    if not timed:
        return ""
    longest = max(p.duration_seconds or 0 for p in timed) or 1e-3
    parts = [f'<svg id="phases" width="{_LEFT + 520}" height="{len(timed) * 24 + 10}">']
    for i, p in enumerate(timed):
        width = max((p.duration_seconds or 0) / longest * 400, 1)
        parts.append(f'<text x="4" y="{i * 24 + 20}" class="lane">{escape(p.phase)} ({escape(p.status)})</text>')
        parts.append(
            f'<rect x="{_LEFT}" y="{i * 24 + 6}" width="{width:.1f}" height="18" '
            f'fill="{PHASE_COLOURS.get(p.phase, "#999")}"/>'
        )
        parts.append(
            f'<text x="{_LEFT + width + 6:.1f}" y="{i * 24 + 20}" class="tick">{p.duration_seconds:.3f} s</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _table(headers: list[str], rows: list[list[str]], cls: str = "") -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def render(execution: ETLExecution, metrics: list[dict[str, Any]], quarantine: list[tuple[str, str, int]]) -> str:
    """The report page for ``execution`` with its quality metrics and quarantine counts."""
    bars = timeline_bars(execution)
    transformer_rows = [
        [
            escape(name),
            str(e["batches"]),
            f"{e['processed']:,}",
            f"{e['failed']:,}",
            escape(", ".join(sorted(e["workers"]))),
            escape("; ".join(sorted(e["errors"]))),
        ]
        for name, e in execution.transformer_summary().items()
    ]
    metric_rows = [
        [
            escape(m["rule"]),
            escape(m["scope"]),
            f'<span style="color:{STATUS_COLOURS.get(m["status"], "#000")}">{escape(m["status"])}</span>',
            f"{m['value']:.4g}" if m["value"] is not None else "",
            "" if m["warn_threshold"] is None else f"{m['warn_threshold']:g}",
            "" if m["fail_threshold"] is None else f"{m['fail_threshold']:g}",
        ]
        for m in metrics
    ]
    quarantine_rows = [[escape(s), escape(r), f"{n:,}"] for s, r, n in quarantine]
    status_colour = {"success": "#2e7d32", "partial_success": "#ef6c00", "failed": "#c62828"}.get(
        execution.overall_status, "#555"
    )
    legend = " ".join(f'<span class="key" style="background:{c}"></span>{escape(p)}' for p, c in PHASE_COLOURS.items())
    duration = f"{execution.duration_seconds:.2f} s" if execution.duration_seconds is not None else "running"
    quality = f"{execution.quality_score:.1f}" if execution.quality_score is not None else "-"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>etl_worker execution {escape(execution.execution_id)}</title>
<style>
body {{ font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; }}
h1 {{ font-size: 20px; }} h2 {{ font-size: 16px; margin-top: 28px; }}
.status {{ color: #fff; background: {status_colour}; padding: 2px 8px; border-radius: 4px; }}
table {{ border-collapse: collapse; }} th, td {{ border-bottom: 1px solid #ddd; padding: 4px 10px; text-align: left; }}
.lane {{ font-size: 12px; fill: #333; }} .tick {{ font-size: 11px; fill: #666; }} .grid {{ stroke: #eee; }}
.key {{ display: inline-block; width: 12px; height: 12px; margin: 0 4px 0 12px; vertical-align: middle; }}
</style></head>
<body>
<h1>Execution {escape(execution.execution_id)} <span class="status">{escape(execution.overall_status)}</span></h1>
<p>Extraction {escape(execution.extraction_id)} &middot; {duration} &middot; quality score {quality} &middot;
loaded {execution.total_prospects_loaded:,} prospects, {execution.total_grades_loaded:,} grades,
{execution.total_measurements_loaded:,} measurements, {execution.total_stats_loaded:,} college seasons</p>
{f'<p style="color:{status_colour}">{escape(execution.error_summary)}</p>' if execution.error_summary else ""}
<h2>Timeline of every task, by worker</h2>
<p>{legend}</p>
{timeline_svg(bars)}
<h2>Phase durations</h2>
{phase_svg(execution)}
<h2>Transformers</h2>
{_table(["source", "batches", "records", "quarantined", "workers", "errors"], transformer_rows)}
<h2>Quality report</h2>
{_table(["rule", "scope", "status", "value", "warn", "fail"], metric_rows)}
<h2>Quarantined rows</h2>
{_table(["source", "rule", "rows"], quarantine_rows) if quarantine_rows else "<p>None.</p>"}
<script>
// Lets a headless browser tell that the timeline was laid out: the number of bars with a width.
document.body.dataset.barsDrawn = String(
  Array.from(document.querySelectorAll("#timeline rect.bar")).filter(r => r.getBBox().width > 0).length);
</script>
</body></html>
"""

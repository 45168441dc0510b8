"""Transform: one batch of one source's staging rows into extraction-scoped work rows.

A batch replaces its own work rows, so running it twice changes nothing. A bad row is quarantined with
its reason; any other error fails the batch (and so its source) without touching other sources.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.engine import Connection

from etl_worker.db import staging, work
from etl_worker.db.engine import transaction
from etl_worker.errors import RecordError, RetriableError
from etl_worker.models import TransformerStatus
from etl_worker.normalize import college_key, name_key, position_group, surname_key
from etl_worker.phases.resolve import block_bucket
from etl_worker.phases.results import Batch, Clock, RunContext
from etl_worker.settings import Settings
from etl_worker.sources import for_run
from etl_worker.sources.base import Transformed

log = logging.getLogger(__name__)


def work_rows(key: dict[str, Any], parsed: Transformed) -> dict[str, list[dict[str, Any]]]:
    """The work-table rows one parsed record contributes, keyed by table name."""
    p = parsed.prospect
    folded = name_key(p.full_name)
    surname = surname_key(folded)
    rows: dict[str, list[dict[str, Any]]] = {
        "work_prospects": [
            {
                **key,
                "full_name": p.full_name,
                "name_key": folded,
                "surname_key": surname,
                "block_bucket": block_bucket(surname),
                "position": p.position,
                "position_group": position_group(p.position),
                "college": p.college,
                "college_key": college_key(p.college),
                "draft_year": p.draft_year,
                "source_player_id": p.source_player_id,
                "other_ids": dict(p.other_ids) or None,
                "draft_round": p.draft_round,
                "draft_pick": p.draft_pick,
                "draft_team": p.draft_team,
            }
        ],
        "work_grades": [{**key, **vars(g)} for g in parsed.grades],
        "work_measurements": [{**key, **parsed.measurements}] if parsed.measurements else [],
        "work_college_stats": [{**key, "season": s.season, "team": s.team, **s.stats} for s in parsed.college_seasons],
    }
    return rows


def _record(
    ctx: RunContext, batch: Batch, clock: Clock, worker: str | None, task_id: str | None, **values: Any
) -> dict[str, Any]:
    return {
        "kind": "transformer",
        "execution_id": ctx.execution_id,
        "extraction_id": ctx.extraction_id,
        "transformer_type": batch.source,
        "batch_no": batch.batch_no,
        "row_lo": batch.row_lo,
        "row_hi": batch.row_hi,
        "task_id": task_id,
        "hostname": worker,
        **clock.stamp(),
        **values,
    }


def transform(
    settings: Settings,
    ctx: RunContext,
    batch: Batch,
    worker: str | None,
    task_id: str | None,
) -> dict[str, Any]:
    """Transform one batch; returns its transformer record. Raises only ``RetriableError``."""
    clock = Clock()
    extraction_id = ctx.extraction_id
    try:
        source = for_run(batch.source, ctx.adapters)
        with transaction(settings.database_url) as conn:
            records: list[tuple[int, dict[str, list[dict[str, Any]]]]] = []
            staged: dict[int, dict[str, Any]] = {}
            failed: set[int] = set()
            for row_number, record in staging.read_batch(conn, batch.source, extraction_id, batch.row_lo, batch.row_hi):
                staged[row_number] = record
                key = {"extraction_id": extraction_id, "source": batch.source, "row_number": row_number}
                try:
                    produced = work_rows(key, source.parse(record))
                except RecordError as exc:
                    failed.add(row_number)
                    produced = {
                        "quarantined_records": [{**key, "rule": exc.rule, "reason": exc.reason, "record": record}]
                    }
                records.append((row_number, produced))
            refused = work.replace_batch(conn, extraction_id, batch.source, batch.row_lo, batch.row_hi, records)
            if refused:  # each alone, with PostgreSQL's reason: never the batch
                quarantined = [
                    {
                        "extraction_id": extraction_id,
                        "source": batch.source,
                        "row_number": n,
                        "rule": "not_storable",
                        "reason": f"PostgreSQL refused the record: {why}",
                        "record": staged[n],
                    }
                    for n, why in refused.items()
                ]
                work.write_rows(conn, [{"quarantined_records": quarantined}])
                failed.update(refused)
            processed = len(records)
            counts = {
                "records_processed": processed,
                "records_succeeded": processed - len(failed),
                "records_failed": len(failed),
            }
            _note(conn, extraction_id, batch, task_id, TransformerStatus.SUCCESS, None, **counts)
    except RetriableError:
        raise
    except Exception as exc:
        log.exception("transform batch failed", extra={"extraction_id": extraction_id, "source": batch.source})
        return failed_batch(settings, ctx, batch, clock, worker, task_id, f"{type(exc).__name__}: {exc}")
    return _record(ctx, batch, clock, worker, task_id, status=TransformerStatus.SUCCESS, error_message=None, **counts)


def _note(
    conn: Connection,
    extraction_id: str,
    batch: Batch,
    task_id: str | None,
    status: str,
    error: str | None,
    **counts: int,
) -> None:
    """The batch's row in the extraction's batch ledger."""
    work.record_batch(
        conn,
        extraction_id=extraction_id,
        source=batch.source,
        batch_no=batch.batch_no,
        row_lo=batch.row_lo,
        row_hi=batch.row_hi,
        status=status,
        task_id=task_id,
        error_message=error,
        **counts,
    )


def failed_batch(
    settings: Settings,
    ctx: RunContext,
    batch: Batch,
    clock: Clock | None,
    worker: str | None,
    task_id: str | None,
    error: str,
) -> dict[str, Any]:
    """Record a batch that could not be transformed (best effort: the database may be what failed)."""
    try:
        with transaction(settings.database_url) as conn:
            _note(conn, ctx.extraction_id, batch, task_id, TransformerStatus.FAILED, error)
    except Exception:
        log.warning(
            "could not record the failed batch", extra={"extraction_id": ctx.extraction_id, "source": batch.source}
        )
    return _record(
        ctx,
        batch,
        clock or Clock(),
        worker,
        task_id,
        status=TransformerStatus.FAILED,
        error_message=error,
        records_processed=0,
        records_succeeded=0,
        records_failed=0,
    )

"""The Celery tasks: thin wrappers that take ids and JSON-safe dicts, turn them into the phases' types
(etl_worker.phases.results), call a phase and return its result as a dict."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from celery import Task

from etl_worker.celery_app import app, settings
from etl_worker.errors import BatchesPending, ConfigurationError, RetriableError
from etl_worker.ids import canonical_uuid
from etl_worker.models import ETLPhase, PhaseStatus
from etl_worker.ops import alerts, retention, schedule
from etl_worker.phases import extract, load, merge, publish, transform, validate
from etl_worker.phases.results import Batch, Clock, Outcome, PartResult, Run, RunContext, phase_record, skipped
from etl_worker.pipeline import build_pipeline
from etl_worker.redact import redact_text
from etl_worker.settings import Settings
from etl_worker.tracking import deliveries

log = logging.getLogger(__name__)
LIMITS = settings().task_limits
T = TypeVar("T")


def _backoff(retries: int) -> int:
    return min(2 ** (retries + 1), 30)


def _attempt(task: Task, ctx: RunContext, call: Callable[[], T]) -> tuple[T | None, str | None]:
    """Run ``call`` for a task: ``(result, None)``, or ``(None, error)`` when it could not.

    Passing faults retry the task with backoff (validate waiting for batches, without limit); a task
    whose worker died on each of its last deliveries is not run again; anything else is the error.
    """
    request = task.request
    outcome: tuple[T | None, str | None]
    try:
        refused = deliveries.refusal(
            settings(), request.id, request.retries or 0, ctx.execution_id, request.hostname, task.name
        )
        outcome = (None, refused) if refused is not None else (call(), None)
    except BatchesPending as exc:
        raise task.retry(exc=exc, countdown=2, max_retries=None) from None
    except RetriableError as exc:
        if request.retries < settings().max_retries:
            raise task.retry(exc=exc, countdown=_backoff(request.retries)) from None
        outcome = None, redact_text(f"gave up after {request.retries} retries: {exc}")
    except Exception as exc:
        log.exception("task failed", extra={"task": task.name, "execution_id": ctx.execution_id})
        outcome = None, redact_text(f"{type(exc).__name__}: {exc}")
    try:  # the delivery is over, whatever its outcome (a retry is not: the task runs again)
        deliveries.finished(settings(), request.id, request.retries or 0)
    except Exception as exc:  # only what status says is at stake, never the task's outcome
        log.warning("could not note the end of task %s: %s", request.id, exc)
    return outcome


PhaseWork = Callable[[Settings, RunContext, Any, str | None, str | None], Outcome]


def _guarded(task: Task, phase: str, ctx: RunContext, run: Run, work: PhaseWork, given: Any) -> dict[str, Any]:
    """The task policy of a phase, which does ``work(settings, ctx, given, worker, task_id)``: after a halted
    run it is recorded skipped without running; a phase that could not run becomes a failed phase that
    halts the run. The last phase also ends the execution."""
    worker, task_id = task.request.hostname, task.request.id
    if run.halted:
        outcome = skipped(ctx, phase, run, worker, task_id)
    else:
        result, error = _attempt(task, ctx, lambda: work(settings(), ctx, given, worker, task_id))
        if result is not None:
            return result.as_dict()
        record = phase_record(ctx, phase, PhaseStatus.FAILED, Clock(), worker, {}, error, task_id)
        outcome = Outcome(run.halt(f"{phase} failed: {error}"), [record])
    if phase == ETLPhase.PUBLISH:
        publish.finish(settings(), ctx, outcome)
    return outcome.as_dict()


PartWork = Callable[[Settings, RunContext, Run, Any], PartResult]


def _part(task: Task, ctx: dict[str, Any], previous: dict[str, Any], part: int | str, work: PartWork) -> dict:
    """The task policy of a part of a phase (a chord header task): it never raises into the chord; after
    a halted run it does nothing, else it reports its result or its error."""
    run_ctx, run = RunContext.from_dict(ctx), Outcome.from_dict(previous).run
    if run.halted:
        return PartResult(run, part).as_dict()
    result, error = _attempt(task, run_ctx, lambda: work(settings(), run_ctx, run, part))
    return (result or PartResult(run, part, error)).as_dict()


class RunExtraction(app.Task):  # type: ignore[name-defined,misc]
    """``run_extraction``'s producer side: the extraction id is read (a ``uuid.UUID`` or a string in any
    spelling) and sent in its canonical form, or refused in one line before anything is enqueued."""

    def apply_async(self, args: Any = None, kwargs: Any = None, *more: Any, **options: Any) -> Any:
        args, kwargs = list(args or ()), dict(kwargs or {})
        if args:
            args[0] = canonical_uuid(args[0])
        elif "extraction_id" in kwargs:
            kwargs["extraction_id"] = canonical_uuid(kwargs["extraction_id"])
        return super().apply_async(args, kwargs, *more, **options)


@app.task(
    name="etl.run_extraction",
    bind=True,
    base=RunExtraction,
    time_limit=LIMITS.run,
)
def run_extraction(
    self: Task,
    extraction_id: str,
    transformer_types: list[str] | None = None,
    max_records_per_batch: int | None = None,
    timeout_seconds: int | None = None,
    replay_of: str | None = None,
    from_phase: str | None = None,
    adapters: dict[str, str] | None = None,
    rules: list[str] | None = None,
    requested_by: str | None = None,
) -> dict[str, Any]:
    """Create the execution record and start the pipeline. The result's ``execution_id`` names the
    execution that runs: this task's id, or the active execution of the same extraction it joined.

    With ``replay_of`` the run starts at ``from_phase`` and reuses that execution's earlier phases;
    ``adapters`` (source -> ``module:Class``) and ``rules`` (names or paths) are the run's plug-ins.
    """
    try:  # sent by name (send_task), the id is as the producer wrote it
        extraction_id = canonical_uuid(extraction_id)
    except ConfigurationError as exc:
        log.warning("run_extraction refused: %s", exc)
        return {"error": str(exc)}
    overrides = {"max_records_per_batch": max_records_per_batch, "timeout_seconds": timeout_seconds}
    run_settings = settings().with_overrides(**{k: v for k, v in overrides.items() if v})
    try:
        started = extract.start_execution(
            run_settings,
            self.request.id,
            extraction_id,
            transformer_types,
            self.request.hostname,
            replay_of,
            from_phase,
            adapters,
            rules,
            requested_by,
        )
    except RetriableError as exc:  # as every task: ETL_MAX_RETRIES times, with backoff
        retries = self.request.retries or 0
        raise self.retry(exc=exc, countdown=_backoff(retries), max_retries=settings().max_retries) from None
    if started.ctx is not None:  # the context and plan become dicts where the canvas is built
        build_pipeline(started.ctx, started.plan, started.start, started.rerun, started.carried).apply_async()
        extract.mark_started(settings(), started)
    return started.as_dict()


@app.task(name="etl.extract", bind=True, time_limit=LIMITS.extract)
def extract_task(self: Task, ctx: dict[str, Any], plan: list[dict[str, Any]]) -> dict[str, Any]:
    batches = [Batch.from_dict(b) for b in plan]
    return _guarded(self, ETLPhase.EXTRACT, RunContext.from_dict(ctx), Run(), extract.extract, batches)


# The soft limit leaves a batch time to report its own failure before the hard limit kills it.
TRANSFORM_SOFT_LIMIT = LIMITS.transform - max(1, min(30, LIMITS.transform // 10))


@app.task(name="etl.transform", bind=True, time_limit=LIMITS.transform, soft_time_limit=TRANSFORM_SOFT_LIMIT)
def transform_task(self: Task, previous: dict[str, Any], ctx: dict[str, Any], batch: dict[str, Any]) -> dict[str, Any]:
    """A chord header task: it never raises into the chord, it reports success or failure."""
    run_ctx, part, run = RunContext.from_dict(ctx), Batch.from_dict(batch), Outcome.from_dict(previous).run
    worker, task_id = self.request.hostname, self.request.id
    if run.halted:
        record = transform.failed_batch(settings(), run_ctx, part, None, worker, task_id, "not run: the run halted")
        return Outcome(run, [record]).as_dict()
    done, error = _attempt(self, run_ctx, lambda: transform.transform(settings(), run_ctx, part, worker, task_id))
    record = done or transform.failed_batch(settings(), run_ctx, part, None, worker, task_id, str(error))
    return Outcome(run, [record]).as_dict()


@app.task(name="etl.validate", bind=True, time_limit=LIMITS.validate)
def validate_task(
    self: Task, results: list[dict[str, Any]], ctx: dict[str, Any], plan: list[dict[str, Any]]
) -> dict[str, Any]:
    batches = [Batch.from_dict(b) for b in plan]
    reported = [Outcome.from_dict(r) for r in results if isinstance(r, dict)]
    run = reported[0].run if reported else Run()

    def work(
        settings: Settings, ctx: RunContext, reported: list[Outcome], worker: str | None, task: str | None
    ) -> Outcome:
        return validate.validate(settings, ctx, batches, reported, worker, task)

    return _guarded(self, ETLPhase.VALIDATE, RunContext.from_dict(ctx), run, work, reported)


@app.task(name="etl.merge_part", bind=True, time_limit=LIMITS.merge)
def merge_part_task(self: Task, previous: dict[str, Any], ctx: dict[str, Any], part: int) -> dict[str, Any]:
    """Resolve the surname blocks of one part of the merge (the parts run in parallel)."""
    return _part(self, ctx, previous, part, merge.merge_part)


@app.task(name="etl.merge", bind=True, time_limit=LIMITS.merge)
def merge_task(self: Task, parts: list[dict[str, Any]], ctx: dict[str, Any]) -> dict[str, Any]:
    results = [PartResult.from_dict(p) for p in parts]
    return _guarded(self, ETLPhase.MERGE, RunContext.from_dict(ctx), results[0].run, merge.merge, results)


@app.task(name="etl.load", bind=True, time_limit=LIMITS.load)
def load_task(self: Task, previous: dict[str, Any], ctx: dict[str, Any]) -> dict[str, Any]:
    run = Outcome.from_dict(previous).run
    return _guarded(self, ETLPhase.LOAD, RunContext.from_dict(ctx), run, load.load, run)


@app.task(name="etl.refresh_view", bind=True, time_limit=LIMITS.publish)
def refresh_view_task(self: Task, previous: dict[str, Any], ctx: dict[str, Any], view: str) -> dict[str, Any]:
    return _part(self, ctx, previous, view, publish.refresh)


@app.task(name="etl.publish", bind=True, time_limit=LIMITS.publish)
def publish_task(self: Task, views: list[dict[str, Any]], ctx: dict[str, Any]) -> dict[str, Any]:
    results = [PartResult.from_dict(v) for v in views]
    return _guarded(self, ETLPhase.PUBLISH, RunContext.from_dict(ctx), results[0].run, publish.publish, results)


@app.task(name="etl.alert", bind=True, time_limit=LIMITS.publish)
def alert_task(self: Task, previous: dict[str, Any] | None = None, *, execution_id: str) -> dict[str, Any]:
    """Raise the alerts of a finished execution; a sink that failed is tried again with backoff."""
    try:
        return alerts.raise_alerts(settings(), execution_id)
    except RetriableError as exc:
        if self.request.retries < settings().max_retries:
            raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from None
        log.error("alerts not delivered", extra={"execution_id": execution_id, "error": str(exc)})
        return {"error": str(exc)}


@app.task(name="etl.prune_history", time_limit=LIMITS.publish)
def prune_history_task() -> dict[str, int]:
    """Roll up and prune execution history past its retention (scheduled by ``etl-worker beat``)."""
    return retention.prune_history(settings())


@app.task(name="etl.run_staged", time_limit=LIMITS.run)
def run_staged_task() -> list[str]:
    """Start the staged extractions nobody ran (scheduled by ``etl-worker beat``)."""
    return schedule.run_staged(settings())

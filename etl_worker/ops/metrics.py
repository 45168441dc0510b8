"""Pipeline metrics for Prometheus: executions, phases, rows, data quality, queues, workers, the listener.

Figures are read at scrape time from where they are kept, not counted in one process: PostgreSQL for
executions, phase durations, rows and quality (so every worker's work counts, and a restart loses
nothing); the broker for queue depths; the listener for the workers its reaper hears and for its own
lag (from a task's result to its record in PostgreSQL). The listener serves them on
``ETL_METRICS_PORT``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from prometheus_client import Counter, Histogram, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from etl_worker.broker import queue_depths
from etl_worker.db import metrics
from etl_worker.db.engine import transaction
from etl_worker.errors import ConfigurationError
from etl_worker.settings import Settings

log = logging.getLogger(__name__)

PHASE_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0)


class PipelineCollector(Collector):
    """Every pipeline figure, read when Prometheus scrapes."""

    def __init__(self, settings: Settings, queues: list[str], workers_alive: Callable[[], int] | None = None) -> None:
        self.settings = settings
        self.queues = queues
        self.workers_alive = workers_alive

    def collect(self) -> Iterator[Metric]:
        with transaction(self.settings.database_url) as conn:
            statuses = metrics.executions_by_status(conn)
            phases = metrics.phase_durations(conn, PHASE_BUCKETS)
            rows = metrics.rows_by_source(conn)
            loaded = metrics.rows_loaded(conn)
            quality = metrics.latest_quality(conn)
            redelivered = metrics.redeliveries(conn)
        executions = GaugeMetricFamily("etl_executions", "Executions recorded, by status", labels=["status"])
        for status, count in sorted(statuses.items()):
            executions.add_metric([status], count)
        yield executions
        durations = HistogramMetricFamily(
            "etl_phase_duration_seconds", "How long each phase took, of the phase records that ended", labels=["phase"]
        )
        for phase, figures in sorted(phases.items()):
            buckets: list[tuple[str, float]] = [
                (repr(b), c) for b, c in zip(PHASE_BUCKETS, figures["buckets"], strict=True)
            ]
            durations.add_metric([phase], [*buckets, ("+Inf", figures["count"])], figures["sum"])
        yield durations
        for kind in ("staged", "transformed", "quarantined"):
            family = CounterMetricFamily(f"etl_rows_{kind}", f"Records {kind}, per source", labels=["source"])
            for source, count in sorted(rows.get(kind, {}).items()):
                family.add_metric([source], count)
            yield family
        family = CounterMetricFamily(
            "etl_rows_loaded", "Rows the committed loads upserted, per table", labels=["table"]
        )
        for table, count in loaded.items():
            family.add_metric([table], count)
        yield family
        if quality is not None:
            yield GaugeMetricFamily(
                "etl_quality_score", "Quality score (0-100) of the latest run", value=quality["score"]
            )
            rules = GaugeMetricFamily("etl_quality_rules", "Rule verdicts of the latest run", labels=["status"])
            for status in ("pass", "warn", "fail"):
                rules.add_metric([status], quality["rules"].get(status, 0))
            yield rules
        yield CounterMetricFamily(
            "etl_tasks_redelivered",
            "Deliveries of a task beyond its first (a lost worker, a broker)",
            value=redelivered,
        )
        yield from self._broker()

    def _broker(self) -> Iterator[Metric]:
        try:
            depths = queue_depths(self.settings.broker_url, self.queues)
        except Exception as exc:  # the broker away: the other figures still count
            log.warning("queue depths not read: %s", exc)
        else:
            family = GaugeMetricFamily("etl_queue_depth", "Tasks waiting in each queue", labels=["queue"])
            for queue, depth in depths.items():
                family.add_metric([queue], depth)
            yield family
        if self.workers_alive is not None:
            yield GaugeMetricFamily("etl_workers_alive", "Workers heard from recently", value=self.workers_alive())


LISTENER_LAG = Histogram(
    "etl_listener_lag_seconds",
    "From a task's result in the backend to its record in PostgreSQL",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=None,
)
LISTENER_SKIPPED = Counter(
    "etl_listener_skipped_entries",
    "Result-backend entries the listener could not read (malformed, foreign or oversized) and skipped",
    registry=None,
)


def registry(settings: Settings, queues: list[str], workers_alive: Callable[[], int] | None = None) -> Any:
    """A registry with the pipeline's figures and the listener's lag."""
    own = CollectorRegistry()
    own.register(PipelineCollector(settings, queues, workers_alive))
    own.register(LISTENER_LAG)
    own.register(LISTENER_SKIPPED)
    return own


def serve(settings: Settings, queues: list[str], workers_alive: Callable[[], int]) -> None:
    """Serve the metrics on ETL_METRICS_ADDRESS:ETL_METRICS_PORT in a thread of this process."""
    if settings.metrics_port is None:
        return
    where = f"{settings.metrics_address}:{settings.metrics_port}"
    try:
        start_http_server(
            settings.metrics_port, settings.metrics_address, registry=registry(settings, queues, workers_alive)
        )
    except OSError as exc:  # the port taken, an address not of this host
        raise ConfigurationError(f"cannot serve metrics on {where} (ETL_METRICS_PORT): {exc.strerror or exc}") from None
    log.info("metrics on %s", where)


def record_lag(meta: dict[str, Any]) -> None:
    """Observe how long after the task's result its record reached PostgreSQL (entries with a time)."""
    done = meta.get("date_done")
    if not isinstance(done, str):
        return
    try:
        at = datetime.fromisoformat(done)
    except ValueError:
        return
    at = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    LISTENER_LAG.observe(max(0.0, (datetime.now(UTC) - at).total_seconds()))

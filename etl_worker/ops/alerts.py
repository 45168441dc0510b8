"""Alerts: rules evaluated once an execution has an outcome, delivered to the log and to a webhook.

An execution is evaluated after its last phase (and after a cancel or a missed deadline). Each alert
is stored once per (execution, rule, scope) before any sink sees it, so a redelivered evaluation
never alerts twice; a sink that failed is tried again on the next evaluation, one that took the alert
is not.
"""

from __future__ import annotations

import base64
import json
import logging
import statistics
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit, urlunsplit

from sqlalchemy.engine import Connection

from etl_worker.db import alerts as store
from etl_worker.db import quality
from etl_worker.db.engine import transaction
from etl_worker.errors import RetriableError
from etl_worker.models import ETLStatus
from etl_worker.redact import redact_text, webhook_shown
from etl_worker.settings import Alerting, Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Alert:
    rule: str
    scope: str
    severity: str  # critical or warning
    message: str
    details: dict[str, Any]


def p95(values: Sequence[float]) -> float:
    """The 95th percentile (inclusive method: never above the largest value)."""
    if len(values) == 1:
        return float(values[0])
    return statistics.quantiles(values, n=20, method="inclusive")[-1]


def evaluate(conn: Connection, rules: Alerting, execution: dict[str, Any]) -> list[Alert]:
    """Every alert the finished ``execution`` (a row of etl_executions) raises."""
    found: list[Alert] = []
    status, score = execution["status"], execution["quality_score"]
    if status == ETLStatus.FAILED:
        found.append(Alert("run_failed", "all", "critical", f"run failed: {execution['error_summary']}", {}))
    elif status == ETLStatus.PARTIAL_SUCCESS:
        message = f"partial success: {execution['error_summary']}"
        found.append(Alert("partial_success", "all", "warning", message, {}))
    if score is not None and score < rules.min_quality:
        message = f"quality score {score:.1f} is under {rules.min_quality:g}"
        found.append(Alert("low_quality", "all", "warning", message, {"quality_score": score}))
    drops = quality.volume_drop(conn, execution["extraction_id"], execution["transformer_types"])
    for source, drop in sorted(drops.items()):
        if drop > rules.volume_drop:
            message = f"{source} staged {drop:.0%} fewer rows than its previous extraction"
            found.append(Alert("volume_drop", source, "warning", message, {"drop": round(drop, 4)}))
    duration = execution["duration_seconds"]
    recent = store.recent_durations(conn, execution["execution_id"], rules.slow_window)
    if duration is not None and len(recent) >= rules.slow_min_runs and duration > p95(recent):
        limit = p95(recent)
        message = f"run took {duration:.1f} s, over the p95 of the last {len(recent)} runs ({limit:.1f} s)"
        found.append(Alert("slow_run", "all", "warning", message, {"duration": duration, "p95": limit}))
    return found


class Sink(Protocol):
    name: str

    def send(self, payload: dict[str, Any]) -> None:
        """Deliver one alert; raises ``RetriableError`` when it could not."""


class LogSink:
    name = "log"

    def send(self, payload: dict[str, Any]) -> None:
        log.warning(
            "ALERT %s [%s] %s (execution %s)",
            payload["rule"],
            payload["scope"],
            payload["message"],
            payload["execution_id"],
            extra={"alert": payload},
        )


class WebhookSink:
    """POSTs each alert as JSON; any answer outside 2xx, or none within the timeout, is a failure.

    A user and password in the URL are sent as HTTP Basic auth, never as part of the address; errors,
    logs and stored deliveries name the webhook by scheme, host and fingerprint only.
    """

    name = "webhook"

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        parts = urlsplit(url)
        self.headers = {"Content-Type": "application/json", "User-Agent": "etl-worker-alerts"}
        if parts.username is not None or parts.password is not None:
            login = f"{unquote(parts.username or '')}:{unquote(parts.password or '')}"
            self.headers["Authorization"] = "Basic " + base64.b64encode(login.encode()).decode("ascii")
        host = parts.hostname or ""
        netloc = f"[{host}]" if ":" in host else host
        if parts.port is not None:
            netloc += f":{parts.port}"
        self.url = urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
        self.shown = webhook_shown(url, self.url)
        self.timeout = timeout

    def send(self, payload: dict[str, Any]) -> None:
        request = urllib.request.Request(
            self.url, data=json.dumps(payload, default=str).encode(), headers=self.headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read()
        except urllib.error.HTTPError as exc:
            raise RetriableError(f"webhook {self.shown} answered {exc.code}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = redact_text(str(getattr(exc, "reason", exc)))
            raise RetriableError(f"webhook {self.shown} unreachable: {reason}") from None
        except Exception as exc:  # a malformed answer or address: a failed delivery, never a crash
            raise RetriableError(f"webhook {self.shown} failed: {type(exc).__name__}") from None


def sinks(settings: Settings) -> list[Sink]:
    configured: list[Sink] = [LogSink()]
    if settings.alerting.webhook_url:
        configured.append(WebhookSink(settings.alerting.webhook_url))
    return configured


def payload(alert: dict[str, Any]) -> dict[str, Any]:
    keys = ("alert_id", "execution_id", "extraction_id", "rule", "scope", "severity", "message", "details")
    return {**{k: alert[k] for k in keys}, "created_at": alert["created_at"].isoformat()}


def raise_alerts(settings: Settings, execution_id: str, targets: Sequence[Sink] | None = None) -> dict[str, Any]:
    """Evaluate a finished execution, store its alerts and hand each to every sink that lacks it.

    Raises ``RetriableError`` (after recording it) when a sink failed, so the caller can try again.
    """
    with transaction(settings.database_url) as conn:
        execution = store.finished_execution(conn, execution_id)
        if execution is None:
            return {"alerts": 0, "note": "the execution has no outcome yet"}
        found = evaluate(conn, settings.alerting, execution)
        rows = [
            {
                "execution_id": execution_id,
                "extraction_id": execution["extraction_id"],
                "rule": a.rule,
                "scope": a.scope,
                "severity": a.severity,
                "message": a.message,
                "details": a.details,
            }
            for a in found
        ]
        stored = store.add_alerts(conn, rows)
    failures = []
    for alert in stored:
        for sink in targets if targets is not None else sinks(settings):
            if alert["deliveries"].get(sink.name) == "delivered":
                continue
            try:
                sink.send(payload(alert))
                outcome = "delivered"
            except Exception as exc:  # one sink's failure never keeps an alert from the others
                outcome = redact_text(str(exc)) if isinstance(exc, RetriableError) else type(exc).__name__
                failures.append(f"{sink.name}: {outcome}")
            with transaction(settings.database_url) as conn:
                store.set_delivery(conn, alert["alert_id"], sink.name, outcome)
    if failures:
        raise RetriableError(f"{len(failures)} alert deliveries failed: {failures[0]}")
    return {"alerts": len(stored), "rules": sorted({a["rule"] for a in stored})}


def recent(settings: Settings, limit: int) -> list[dict[str, Any]]:
    with transaction(settings.database_url) as conn:
        return store.recent_alerts(conn, limit)

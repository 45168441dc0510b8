"""What a task is about, for its logs and its trace: execution, extraction, phase, source, batch.

- Structured logs: with ``ETL_LOG_FORMAT=json`` every line of workers, listener, beat, watcher and
  console is one JSON object (python-json-logger), carrying the fields of the task it was written in.
- Traces: with ``OTEL_EXPORTER_OTLP_ENDPOINT`` set, each worker process exports a span per task over
  OTLP (opentelemetry-instrumentation-celery), linked across workers through the task headers, so an
  execution is one trace; the spans carry the same fields. Unset, nothing of OpenTelemetry is imported.
"""

from __future__ import annotations

import contextvars
import logging
import os
import socket
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

_fields: contextvars.ContextVar[Mapping[str, Any]] = contextvars.ContextVar(
    "etl_task_fields", default=MappingProxyType({})
)
_PHASES = {"etl.merge_part": "merge", "etl.refresh_view": "publish", "etl.run_extraction": "extract"}
TEXT_FORMAT = "%(levelname)s %(name)s: %(message)s"


def task_fields(
    name: str, task_id: str | None, worker: str | None, args: Sequence[Any], kwargs: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The fields of one task from its name and arguments (the run's context, a batch, a part)."""
    fields: dict[str, Any] = {"task_id": task_id, "worker": worker}
    if name.startswith("etl."):
        fields["phase"] = _PHASES.get(name, name.removeprefix("etl."))
    for arg in (*args, *(kwargs or {}).values()):
        if isinstance(arg, Mapping) and "execution_id" in arg and "extraction_id" in arg:
            fields["execution_id"], fields["extraction_id"] = arg["execution_id"], arg["extraction_id"]
        elif isinstance(arg, Mapping) and "source" in arg and "batch_no" in arg:
            fields["source"], fields["batch"] = arg["source"], arg["batch_no"]
    if name == "etl.run_extraction" and args and isinstance(args[0], str):
        fields["extraction_id"] = args[0]
    return {k: v for k, v in fields.items() if v is not None}


def bind(fields: Mapping[str, Any]) -> contextvars.Token[Mapping[str, Any]]:
    """Give the logs of what runs next these fields; ``unbind`` with the token after."""
    return _fields.set(fields)


def unbind(token: contextvars.Token[Mapping[str, Any]]) -> None:
    _fields.reset(token)


class _TaskFields(logging.Filter):
    """Adds the current task's fields to every record (as attributes the JSON formatter writes)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in _fields.get().items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


def formatter(log_format: str) -> logging.Formatter:
    """``text`` or ``json`` (one object per line)."""
    if log_format == "text":
        return logging.Formatter(TEXT_FORMAT)
    from pythonjsonlogger.json import JsonFormatter

    return JsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(process)d %(message)s",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger", "process": "pid"},
        static_fields={"host": socket.gethostname()},
    )


_format = {"chosen": "text"}  # what install() set up in this process


def json_logs() -> bool:
    """Whether this process logs JSON (what its services say goes to the log then, not to the terminal)."""
    return _format["chosen"] == "json"


def install(logger: logging.Logger, log_format: str) -> None:
    """Format ``logger``'s handlers as ``log_format`` and give their records the task's fields."""
    _format["chosen"] = log_format
    chosen = formatter(log_format)
    if log_format == "json":
        logging.captureWarnings(True)  # a warning is a log line too, not free text on stderr
    for handler in logger.handlers:
        if log_format == "json":
            handler.setFormatter(chosen)
        if not any(isinstance(f, _TaskFields) for f in handler.filters):
            handler.addFilter(_TaskFields())


# --- traces ---------------------------------------------------------------------------------------------


def tracing_wanted() -> bool:
    return bool(os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))


def start_tracing(service: str) -> None:
    """Export a span per task of this process over OTLP/HTTP (call once per worker process); each span
    carries the task's fields as ``etl.*`` attributes."""
    if not tracing_wanted():
        return
    from celery.signals import task_prerun
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    CeleryInstrumentor().instrument(tracer_provider=provider)
    # Connected after the instrumentor's own handler, which opens the task's span.
    task_prerun.connect(_span_fields, weak=False)


def _span_fields(
    task_id: str, task: Any, args: Sequence[Any] = (), kwargs: Mapping[str, Any] | None = None, **_: Any
) -> None:
    from opentelemetry import trace

    span = trace.get_current_span()
    for key, value in task_fields(task.name, task_id, task.request.hostname, args or (), kwargs).items():
        span.set_attribute(f"etl.{key}", value)


def stop_tracing() -> None:
    """Send the spans still buffered (a worker process that ends)."""
    if not tracing_wanted():
        return
    from opentelemetry import trace

    provider = trace.get_tracer_provider()
    if hasattr(provider, "shutdown"):
        provider.shutdown()

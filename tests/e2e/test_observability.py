"""One trace per execution and JSON logs, from two real worker processes and a listener.

A local OTLP/HTTP receiver (the test's own, decoding the protobuf requests) stands in for a collector.
"""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from etl_worker.supervisor import ProcessGroup
from tests.helpers import stage_fixtures, wait_for


class Receiver(ThreadingHTTPServer):
    """Keeps every span POSTed to /v1/traces as a dict: name, trace id, attributes."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.spans: list[dict[str, Any]] = []
        self.lock = threading.Lock()


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        request = ExportTraceServiceRequest.FromString(body)
        spans = [
            {
                "name": span.name,
                "trace_id": span.trace_id.hex(),
                "attributes": {a.key: _value(a.value) for a in span.attributes},
            }
            for resource in request.resource_spans
            for scope in resource.scope_spans
            for span in scope.spans
        ]
        with self.server.lock:
            self.server.spans.extend(spans)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def _value(value: Any) -> Any:
    kind = value.WhichOneof("value")
    return getattr(value, kind) if kind else None


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


@pytest.fixture(scope="module")
def traced_stack(settings, receiver, tmp_path_factory) -> Iterator[ProcessGroup]:  # type: ignore[no-untyped-def]
    env = {
        **os.environ,
        "ETL_DATABASE_URL": settings.database_url,
        "ETL_BROKER_URL": settings.broker_url,
        "ETL_RESULT_BACKEND": settings.result_backend,
        "PYTHONPATH": str(Path(__file__).parents[2]),
        "ETL_LOG_FORMAT": "json",
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{receiver.server_address[1]}",
        "OTEL_BSP_SCHEDULE_DELAY": "100",  # ms: spans leave the workers at once
    }
    procs = ProcessGroup(env, tmp_path_factory.mktemp("traced"))
    host = socket.gethostname()
    try:
        procs.start_worker("t1")
        procs.start_worker("t2")
        procs.start("listener", "-v", "listener")
        procs.wait_for_workers({f"t1@{host}", f"t2@{host}"}, 60)
        wait_for(lambda: "listener ready" in procs.log("listener"), 30, "the listener")
        yield procs
    finally:
        procs.stop_all()


def test_an_execution_is_one_trace_with_every_phase_and_batch_from_both_workers(settings, traced_stack, receiver):  # type: ignore[no-untyped-def]
    from etl_worker.orchestrator import ETLOrchestrator

    orchestrator = ETLOrchestrator(max_records_per_batch=100, settings=settings)
    execution = orchestrator.execute_extraction_sync(stage_fixtures(settings))
    assert execution.overall_status == "success", execution.error_summary
    batches = {(t.transformer_type, t.batch_no) for t in execution.transformers}
    assert len({t.hostname for t in execution.transformers}) == 2  # the batches ran on both workers

    def run_spans() -> list[dict[str, Any]] | None:
        with receiver.lock:
            mine = [s for s in receiver.spans if s["attributes"].get("etl.execution_id") == execution.execution_id]
        traced = {(s["attributes"].get("etl.source"), s["attributes"].get("etl.batch")) for s in mine}
        phases = {s["attributes"].get("etl.phase") for s in mine}
        done = batches <= traced and {"extract", "transform", "validate", "merge", "load", "publish"} <= phases
        return mine if done else None

    spans = wait_for(run_spans, 30, "the run's spans at the receiver")
    assert len({s["trace_id"] for s in spans}) == 1, "every task of the execution in one trace"
    assert {s["attributes"]["etl.worker"] for s in spans} == {
        f"t1@{socket.gethostname()}",
        f"t2@{socket.gethostname()}",
    }
    assert {s["attributes"]["etl.extraction_id"] for s in spans} == {execution.extraction_id}


def test_workers_and_the_listener_log_one_json_object_per_line_with_the_task_fields(settings, traced_stack):  # type: ignore[no-untyped-def]
    from etl_worker.orchestrator import ETLOrchestrator

    execution = ETLOrchestrator(settings=settings).execute_extraction_sync(stage_fixtures(settings))
    assert execution.overall_status == "success", execution.error_summary

    def lines(name: str) -> list[dict[str, Any]]:
        text = traced_stack.log(name)
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    worker_lines = wait_for(
        lambda: (
            [
                line
                for name in ("t1", "t2")
                for line in lines(name)
                if line.get("execution_id") == execution.execution_id
            ]
            or None
        ),
        30,
        "a worker's log line about the execution",
    )
    fields = {"time", "level", "logger", "message", "execution_id", "extraction_id", "phase", "task_id", "worker"}
    assert any(fields <= line.keys() for line in worker_lines), worker_lines[:3]
    assert any("source" in line and "batch" in line for line in worker_lines), "transform lines name their batch"
    listener = lines("listener")  # every line parses, and there is one
    assert listener and all({"time", "level", "message"} <= line.keys() for line in listener)

"""Flower for our app: basic auth from the environment, the API and Prometheus metrics, next to real workers."""

from __future__ import annotations

import base64
import json
import socket
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from tests.helpers import stage_fixtures, wait_for

HOST = socket.gethostname()
AUTH = "ops:s3cret"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str, auth: str | None = AUTH) -> tuple[int, str]:
    request = urllib.request.Request(url)
    if auth:
        request.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, ""
    except OSError:
        return 0, ""


@pytest.fixture(scope="module")
def flower(stack):  # type: ignore[no-untyped-def]
    port = _free_port()
    stack.env["ETL_FLOWER_BASIC_AUTH"] = AUTH
    stack.start("flower", "flower", "--port", str(port))
    base = f"http://127.0.0.1:{port}"
    wait_for(lambda: get(f"{base}/healthcheck")[0] == 200, 60, "Flower to answer")
    yield base
    stack.stop("flower")


def test_flower_refuses_to_start_without_credentials(settings):  # type: ignore[no-untyped-def]
    result = subprocess.run(
        [sys.executable, "-m", "etl_worker.cli", "flower"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "ETL_FLOWER_BASIC_AUTH" in result.stderr and "Traceback" not in result.stderr


def test_flower_shows_workers_and_tasks_with_credentials_only(settings, flower):  # type: ignore[no-untyped-def]
    from etl_worker.orchestrator import ETLOrchestrator

    assert get(f"{flower}/api/workers", auth=None)[0] == 401
    assert get(f"{flower}/api/workers", auth="ops:wrong")[0] == 401
    execution = ETLOrchestrator(settings=settings).execute_extraction_sync(stage_fixtures(settings, ("yahoo",)))
    assert execution.overall_status == "success"

    def workers() -> dict:
        status, body = get(f"{flower}/api/workers?refresh=1")
        return json.loads(body) if status == 200 and body else {}

    assert f"w1@{HOST}" in wait_for(workers, 30, "Flower to list the workers")

    def tasks() -> list[str]:
        status, body = get(f"{flower}/api/tasks")
        return [t.get("name") for t in json.loads(body).values()] if status == 200 and body else []

    assert "etl.transform" in wait_for(lambda: [n for n in tasks() if n == "etl.transform"], 30, "a transform task")


def test_flower_prometheus_metrics_need_the_credentials(flower):  # type: ignore[no-untyped-def]
    assert get(f"{flower}/metrics", auth=None)[0] == 401
    assert get(f"{flower}/metrics", auth="ops:wrong")[0] == 401
    status, body = get(f"{flower}/metrics")
    assert status == 200
    assert "flower_events_total" in body

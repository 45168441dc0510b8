"""A real Prometheus (Debian's package, on loopback) scrapes the listener's metrics during a run on real
workers, and its HTTP API answers with the run's figures."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import stage_fixtures, wait_for

PROMETHEUS = shutil.which("prometheus")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def prometheus(stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:  # type: ignore[no-untyped-def]
    if PROMETHEUS is None:
        if os.environ.get("CI") == "true":
            pytest.fail("prometheus is not installed (apt-get install prometheus)")
        pytest.skip("prometheus is not installed")
    metrics_port, web_port = _free_port(), _free_port()
    # The module's listener, restarted to serve its metrics.
    stack.stop("listener")
    ready = stack.log("listener").count("listener ready")
    stack.env["ETL_METRICS_PORT"] = str(metrics_port)
    stack.start("listener", "listener")
    wait_for(lambda: stack.log("listener").count("listener ready") > ready, 30, "the listener to be ready")
    home = tmp_path_factory.mktemp("prometheus")
    config = home / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        f"scrape_configs:\n  - job_name: etl_worker\n    static_configs:\n      - targets: ['127.0.0.1:{metrics_port}']\n"
    )
    with (home / "prometheus.log").open("wb") as log:
        proc = subprocess.Popen(
            [
                PROMETHEUS,
                f"--config.file={config}",
                f"--storage.tsdb.path={home / 'data'}",
                f"--web.listen-address=127.0.0.1:{web_port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{web_port}"
    try:
        wait_for(lambda: _get(f"{url}/-/ready") is not None, 60, "Prometheus to be ready")
        yield url
    finally:
        proc.terminate()
        proc.wait(30)
        stack.env.pop("ETL_METRICS_PORT")


def _get(url: str) -> bytes | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return bytes(response.read())
    except OSError:
        return None


def _query(prometheus: str, expr: str) -> dict[tuple[tuple[str, str], ...], float]:
    """The instant vector of ``expr``, by its labels (without Prometheus's own job and instance)."""
    body = _get(f"{prometheus}/api/v1/query?{urllib.parse.urlencode({'query': expr})}")
    if body is None:
        return {}
    result = json.loads(body)["data"]["result"]
    return {
        tuple(sorted((k, v) for k, v in r["metric"].items() if k not in ("job", "instance", "__name__"))): float(
            r["value"][1]
        )
        for r in result
    }


def test_prometheus_reads_the_pipeline_figures_of_a_run_on_real_workers(settings, stack, prometheus) -> None:  # type: ignore[no-untyped-def]
    from etl_worker.orchestrator import ETLOrchestrator

    execution = ETLOrchestrator(settings=settings).execute_extraction_sync(stage_fixtures(settings))
    assert execution.overall_status == "success", execution.error_summary

    def scraped() -> bool:
        return _query(prometheus, 'etl_executions{status="success"}') == {(("status", "success"),): 1.0}

    wait_for(scraped, 60, "Prometheus to scrape the finished run")
    assert _query(prometheus, "etl_rows_staged_total") == {
        (("source", "cfr"),): 24.0,
        (("source", "nfl"),): 31.0,
        (("source", "pff"),): 10.0,
        (("source", "yahoo"),): 12.0,
    }
    assert _query(prometheus, 'etl_rows_transformed_total{source="nfl"}') == {(("source", "nfl"),): 31.0}
    loaded = _query(prometheus, "etl_rows_loaded_total")
    assert loaded[(("table", "prospects"),)] == execution.total_prospects_loaded > 0
    # Every phase of the run in the duration histogram, once.
    counts = _query(prometheus, "etl_phase_duration_seconds_count")
    assert {dict(k)["phase"]: v for k, v in counts.items()} == {
        p: 1.0 for p in ("extract", "transform", "validate", "merge", "load", "publish")
    }
    assert _query(prometheus, "etl_quality_score") == {(): execution.quality_score}
    assert sum(_query(prometheus, "etl_quality_rules").values()) > 0
    assert _query(prometheus, "etl_queue_depth") == {(("queue", "celery"),): 0.0}
    assert _query(prometheus, "etl_workers_alive") == {(): 2.0}
    assert _query(prometheus, "etl_listener_lag_seconds_count")[()] > 0
    assert _query(prometheus, "etl_tasks_redelivered_total") == {(): 0.0}


def test_the_grafana_dashboard_plots_only_metrics_the_listener_serves() -> None:
    dashboard = json.loads((Path(__file__).parents[2] / "deploy" / "grafana" / "etl_worker.json").read_text())
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel.get("targets", [])]
    served = (
        "etl_executions",
        "etl_phase_duration_seconds_bucket",
        "etl_rows_staged_total",
        "etl_rows_transformed_total",
        "etl_rows_quarantined_total",
        "etl_rows_loaded_total",
        "etl_quality_score",
        "etl_quality_rules",
        "etl_queue_depth",
        "etl_workers_alive",
        "etl_listener_lag_seconds_bucket",
        "etl_tasks_redelivered_total",
    )
    assert exprs and all(any(name in expr for name in served) for expr in exprs), exprs

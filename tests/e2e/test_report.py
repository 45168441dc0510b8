"""The HTML report of a real execution, rendered by headless Chromium: the timeline is drawn."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest

from tests.helpers import stage_fixtures

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def report(settings, stack, tmp_path_factory):  # type: ignore[no-untyped-def]
    from etl_worker.orchestrator import ETLOrchestrator

    execution = ETLOrchestrator(max_records_per_batch=10, settings=settings).execute_extraction_sync(
        stage_fixtures(settings)
    )
    path = tmp_path_factory.mktemp("report") / "report.html"
    env = {**os.environ, "ETL_DATABASE_URL": settings.database_url}
    result = subprocess.run(
        [sys.executable, "-m", "etl_worker.cli", "report", execution.execution_id, "-o", str(path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return execution, path


def test_report_lists_phases_transformers_and_quality(report):  # type: ignore[no-untyped-def]
    execution, path = report
    html = path.read_text()
    heading = f'<h1>Execution {execution.execution_id} <span class="status">success</span></h1>'
    assert heading in html
    assert f"loaded {execution.total_prospects_loaded:,} prospects" in html
    # A row per source in the transformers table: source, batches, records (10 pff, 24 cfr, 31 nfl, 12 yahoo).
    for source, batches, records in (("pff", 1, 10), ("cfr", 3, 24), ("nfl", 4, 31), ("yahoo", 2, 12)):
        assert f"<tr><td>{source}</td><td>{batches}</td><td>{records}</td>" in html
    rules = re.findall(r"<tr><td>([a-z_]+)</td><td>[^<]*</td><td><span [^>]*>(pass|warn|fail)</span></td>", html)
    assert ("quarantine_rate", "pass") in rules and ("error_rate", "pass") in rules
    assert "<script src" not in html and "<link" not in html  # self-contained


def test_chromium_draws_a_bar_for_every_task(report, tmp_path):  # type: ignore[no-untyped-def]
    if CHROMIUM is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed")
        pytest.skip("chromium is not installed")
    execution, path = report
    tasks = sum(1 for p in execution.phases if p.hostname) + len(execution.transformers)
    profile = tmp_path / "profile"
    dom = subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--dump-dom", path.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    drawn = re.search(r'data-bars-drawn="(\d+)"', dom)
    assert drawn is not None, dom[:500]
    assert int(drawn.group(1)) == tasks == 15
    shot = tmp_path / "report.png"
    subprocess.run(
        [
            CHROMIUM,
            *FLAGS,
            f"--user-data-dir={profile}",
            "--window-size=1200,900",
            f"--screenshot={shot}",
            path.as_uri(),
        ],
        capture_output=True,
        timeout=120,
    )
    assert shot.exists() and shot.stat().st_size > 10_000
    shutil.copy(shot, os.environ.get("ETL_TEST_KEEP_SCREENSHOT", tmp_path / "kept.png"))

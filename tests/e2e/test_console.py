"""The web console in a real browser (Debian's chromium, driven by Playwright) during real runs on two
real workers: a run watched from running to success without reloading, a prospect's lineage, a review
resolved, a second run cancelled and replayed, and a name holding markup shown as text. Screenshots are saved when a
step fails (and the execution page's always, for the README: ETL_TEST_SCREENSHOTS=docs keeps it there)."""

from __future__ import annotations

import csv
import dataclasses
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.e2e.test_real_sources import FILES, SHARED, _slice
from tests.helpers import wait_for

CHROMIUM = shutil.which("chromium")
AUTH = ("scout", "s3cret-pass")
MARKUP_NAME = 'Mike <script>window.pwned=1</script> "O\'Hare" Smith'

pytestmark = [
    pytest.mark.skipif(not SHARED.exists() and os.environ.get("CI") != "true", reason="no shared sample data"),
    pytest.mark.skipif(CHROMIUM is None and os.environ.get("CI") != "true", reason="no chromium on this machine"),
]


def _with_markup_name(path: Path) -> None:
    """Add one NFL.com row whose player's name holds markup and quotes (a copy of the first row's facts)."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        fields, first = list(reader.fieldnames or []), next(reader)
    row = {**first, "player": MARKUP_NAME, "first_name": "Mike", "last_name": "Smith", "person_id": "markup-1"}
    with path.open("a", newline="", encoding="utf-8") as handle:
        csv.DictWriter(handle, fieldnames=fields).writerow(row)


def _stage_real(settings, tmp: Path) -> str:  # type: ignore[no-untyped-def]
    from etl_worker.ingest import ingest_file

    tmp.mkdir()
    extraction_id = None
    for source in FILES:
        path = _slice(tmp, source)
        if source == "nfl":
            _with_markup_name(path)
        extraction_id = ingest_file(settings, source, path, extraction_id).extraction_id
    assert extraction_id is not None
    return extraction_id


@pytest.fixture(scope="module")
def console(settings) -> Iterator[tuple[str, object]]:  # type: ignore[no-untyped-def]
    from etl_worker.console.server import ConsoleServer

    served = ConsoleServer(dataclasses.replace(settings, ui_basic_auth=":".join(AUTH)), "127.0.0.1", 0)
    thread = served.start()
    yield served.url, settings
    served.stop()
    thread.join(10)


@pytest.fixture
def page(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        context = browser.new_context(
            http_credentials={"username": AUTH[0], "password": AUTH[1]}, viewport={"width": 1400, "height": 1000}
        )
        page = context.new_page()
        failed_before = request.session.testsfailed
        yield page
        if request.session.testsfailed > failed_before:  # the test's call was reported failed
            shot = tmp_path / "failed.png"
            page.screenshot(path=str(shot), full_page=True)
            print(f"screenshot of the failed step: {shot}")
        browser.close()


def test_pages_need_basic_auth_and_actions_a_form_token(console) -> None:  # type: ignore[no-untyped-def]
    import httpx

    url, _ = console
    assert httpx.get(f"{url}/").status_code == 401
    assert httpx.get(f"{url}/metrics").status_code == 401
    assert httpx.get(f"{url}/", auth=("scout", "wrong")).status_code == 401
    ok = httpx.get(f"{url}/metrics", auth=AUTH)
    assert ok.status_code == 200 and "etl_executions" in ok.text
    forged = httpx.post(f"{url}/executions/00000000-0000-0000-0000-000000000001/cancel", auth=AUTH, data={})
    assert forged.status_code == 403


def test_a_run_watched_live_a_lineage_a_review_resolved_and_a_run_cancelled(console, stack, page, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    from etl_worker.orchestrator import ETLOrchestrator

    url, settings = console
    # Batches of 100 rows: each run lasts many times what opening a page takes, even on a fast machine.
    orchestrator = ETLOrchestrator(max_records_per_batch=100, timeout_seconds=300, settings=settings)

    # 1. A run followed live: the page opened while it runs turns to success by itself.
    execution_id = orchestrator.start_extraction(_stage_real(settings, tmp_path / "first"))
    page.goto(f"{url}/executions/{execution_id}")
    expect(page.locator("#status")).to_have_text("running", timeout=5_000)
    page.evaluate("window.notReloaded = true")
    expect(page.locator("#status")).to_have_text("success", timeout=120_000)
    assert page.evaluate("window.notReloaded") is True
    expect(page.locator("#phases")).to_contain_text("publish")
    expect(page.locator("#sources")).to_contain_text("cfr")
    expect(page.locator("#rules")).to_contain_text("row_accounting")
    expect(page.locator("#quarantine")).to_contain_text("League Average")
    assert page.locator("svg rect").count() > 10  # the Gantt: a bar per task
    shots = Path(os.environ.get("ETL_TEST_SCREENSHOTS") or tmp_path).resolve()  # the driver has a cwd of its own
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / "console-execution.png"), full_page=False)

    # The executions list finds it by status and by extraction.
    page.goto(f"{url}/?status=success")
    expect(page.locator("#executions")).to_contain_text(execution_id[:8])
    page.goto(f"{url}/?status=failed")
    expect(page.locator("#executions")).not_to_contain_text(execution_id[:8])

    # 2. A prospect's lineage back to the files and rows.
    page.goto(f"{url}/prospects?q=Burrow")
    page.get_by_role("link", name="Joe Burrow").click()
    lineage = page.locator("#lineage")
    for source, filename in (("nfl", "nfl.csv"), ("pfr", "pfr.csv"), ("espn", "espn.csv"), ("cfr", "cfr.csv")):
        expect(lineage.locator("tr", has_text=filename)).to_contain_text(source)
    # ... and why each record is him: the fields it shared with him when it joined (issue 26).
    evidence = lineage.locator("tr", has_text="pfr.csv").locator("td.evidence")
    expect(evidence).to_contain_text("name same")
    expect(evidence).to_contain_text("class same")
    expect(lineage.locator("tr", has_text="cfr.csv").locator("td.evidence")).to_contain_text("college same")
    # A record of another name block, joined on weighed evidence: the steps from the prior to its score.
    page.goto(f"{url}/prospects?q=Godchaux")
    page.get_by_role("link", name="Davon Godchaux").click()
    steps = page.locator("#lineage tr", has_text="pfr.csv").locator("ol.waterfall li")
    expect(steps.first).to_have_text("prior -2.9 → -2.9")
    expect(steps.nth(1)).to_contain_text("name slip +6.0")
    assert float(steps.last.inner_text().rpartition("→ ")[2]) >= 9.5

    # Markup in the data is text: shown as written, never run.
    page.goto(f"{url}/prospects?q=O'Hare")
    expect(page.locator("#found")).to_contain_text(MARKUP_NAME)
    page.get_by_role("link", name=MARKUP_NAME).click()
    expect(page.locator("#name")).to_have_text(MARKUP_NAME)
    assert page.evaluate("window.pwned") is None

    # 3. A review resolved from the queue, recorded with who did it.
    page.goto(f"{url}/reviews")
    row = page.locator("tr", has_text="Joey Iosefa")
    row.locator("input[type=radio]").first.check()
    row.locator("input[name=reason]").fill("ESPN lists him twice")
    row.get_by_role("button", name="Resolve").click()
    expect(page.locator("#done")).to_contain_text("resolved")
    expect(page.locator("#reviews")).not_to_contain_text("Joey Iosefa")
    engine = sa.create_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            decided = conn.execute(sa.text("SELECT decided_by, reason FROM review_decisions")).all()
    finally:
        engine.dispose()
    assert ("scout (console)", "ESPN lists him twice") in [tuple(r) for r in decided]

    # 4. A second run cancelled from its page.
    second = orchestrator.start_extraction(_stage_real(settings, tmp_path / "second"))
    page.goto(f"{url}/executions/{second}")
    page.get_by_role("button", name="Cancel this run").click()
    expect(page.locator("#status")).to_have_text("failed", timeout=30_000)
    expect(page.locator("#live")).to_contain_text("cancelled by scout (console)")
    wait_for(lambda: orchestrator.ended(second), 30, "the cancelled run's end")

    # 5. ... and replayed from its page: the new execution says who asked for it.
    page.get_by_role("button", name="Replay").click()
    expect(page.locator("main")).to_contain_text("requested by scout (console)")
    expect(page.locator("main")).to_contain_text(f"a replay of {second[:8]}")
    expect(page.locator("#status")).to_have_text("success", timeout=120_000)

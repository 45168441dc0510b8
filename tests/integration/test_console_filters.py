"""The console's filters take any text a browser sends: a NUL is no 500, and ``%`` or ``_`` in an id
filter match themselves, not every execution."""

from __future__ import annotations

import dataclasses

import httpx

from etl_worker.console.server import ConsoleServer
from tests.helpers import record_execution, stage_fixtures


def test_wildcards_and_nul_in_filters_match_nothing_instead_of_everything_or_a_500(settings):  # type: ignore[no-untyped-def]
    extraction = stage_fixtures(settings, ("yahoo",))
    execution = record_execution(settings, extraction)
    server = ConsoleServer(dataclasses.replace(settings, ui_basic_auth="ops:s3cret"), "127.0.0.1", 0)
    server.start()
    try:
        with httpx.Client(base_url=server.url, auth=("ops", "s3cret"), timeout=30) as client:
            _check(client, extraction, execution)
    finally:
        server.stop()


def _check(client: httpx.Client, extraction: str, execution: str) -> None:
    assert execution[:8] in client.get("/", params={"extraction": extraction[:6]}).text
    for given in ("%", "_", "%%", extraction[:4] + "%"):
        page = client.get("/", params={"extraction": given})
        assert page.status_code == 200, given
        assert execution[:8] not in page.text, given
    for path, name in (("/", "extraction"), ("/", "status"), ("/prospects", "q")):
        page = client.get(f"{path}?{name}=a%00b")
        assert page.status_code < 500, (path, name, page.status_code)
    assert client.get("/?since=%00").status_code == 200  # nothing left of the date: no filter

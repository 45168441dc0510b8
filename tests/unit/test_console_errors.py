"""The console answers in one readable line when its database cannot be reached, never a traceback."""

from __future__ import annotations

import socket

import httpx

from etl_worker.console.server import ConsoleServer
from etl_worker.settings import Settings


def _closed_port() -> int:
    with socket.socket() as probe:  # a port nothing listens on once this closes
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_page_says_the_database_is_unreachable_with_503_and_no_secret():
    url = f"postgresql+psycopg2://scout:s3cret-pw@127.0.0.1:{_closed_port()}/etl"
    settings = Settings.from_env({"ETL_DATABASE_URL": url, "ETL_UI_BASIC_AUTH": "scout:pw"})
    served = ConsoleServer(settings, "127.0.0.1", 0)
    thread = served.start()
    try:
        for path in ("/", "/prospects?q=Burrow", "/reviews"):
            answer = httpx.get(f"{served.url}{path}", auth=("scout", "pw"), timeout=30)
            assert answer.status_code == 503, (path, answer.status_code)
            assert "the database cannot be reached right now" in answer.text
            assert "Traceback" not in answer.text and "s3cret-pw" not in answer.text
    finally:
        served.stop()
        thread.join(10)

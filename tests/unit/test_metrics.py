"""The listener's metrics endpoint: a port it cannot take is one readable line, not a traceback."""

from __future__ import annotations

import socket

import pytest

from etl_worker.errors import ConfigurationError
from etl_worker.ops.metrics import serve
from etl_worker.settings import Settings


def test_a_metrics_port_already_taken_is_one_readable_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = Settings.from_env({"ETL_METRICS_PORT": str(port)})
        with pytest.raises(
            ConfigurationError, match=rf"cannot serve metrics on 127\.0\.0\.1:{port} \(ETL_METRICS_PORT\)"
        ):
            serve(settings, ["celery"], lambda: 0)

"""Flower for etl_worker's app, with its Prometheus ``/metrics`` behind the same basic auth as its pages.

Flower serves ``/metrics`` to anyone; run as ``python -m etl_worker.flower_auth [flower options]``,
the handler requires the credentials first (``/healthcheck`` stays open for probes).
"""

from __future__ import annotations

import sys

from flower.views import monitor
from tornado import web


def main(argv: list[str]) -> None:
    from celery.bin.celery import main as celery_main

    monitor.Metrics.get = web.authenticated(monitor.Metrics.get)  # type: ignore[method-assign]
    sys.argv = ["celery", "-A", "etl_worker.celery_app:app", "flower", *argv]
    celery_main()


if __name__ == "__main__":
    main(sys.argv[1:])

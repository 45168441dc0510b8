"""``python -m bench``: the pipeline on real Celery workers (1, then 2) against a Celery-free ceiling and a
naive per-row ORM baseline, on the same machine, data and run. Prints a table and writes it as JSON.

Needs PostgreSQL and Redis (``--postgres``, ``--redis``); every database it creates is dropped at the end.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]


def _args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="staging rows across the sources")
    parser.add_argument("--batch", type=int, default=5000, help="staging rows per transform task")
    parser.add_argument("--naive-rows", type=int, default=4000, help="rows the naive baseline loads")
    parser.add_argument("--tiny-runs", type=int, default=7, help="runs of the 10-rows-per-source extraction")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("ETL_BENCH_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"),
    )
    parser.add_argument("--redis", default=os.environ.get("ETL_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"))
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/etl-bench"))
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results.json")
    parser.add_argument("--skip", action="append", default=[], choices=["one-worker", "naive", "real", "tiny"])
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    # The Celery app reads the broker from the environment when it is first imported.
    os.environ.update({"ETL_BROKER_URL": args.redis, "ETL_RESULT_BACKEND": args.redis, "ETL_TIMEOUT_SECONDS": "7200"})
    from bench import measure

    return measure.run_all(args)


if __name__ == "__main__":
    sys.exit(main())

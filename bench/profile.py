"""Profile the hot path: ``python -m bench.profile [--rows N]`` runs the ceiling's work in one process
under pyinstrument (transform, merge, load, publish: the code every worker runs) and prints the tree."""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument(
        "--postgres",
        default=os.environ.get("ETL_BENCH_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"),
    )
    parser.add_argument("--redis", default=os.environ.get("ETL_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"))
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/etl-bench"))
    args = parser.parse_args()

    from pyinstrument import Profiler

    from bench.ceiling import run_ceiling
    from bench.generate import generate
    from bench.measure import Server, settings_for, stage

    server = Server(args.postgres)
    try:
        settings = settings_for(server.fresh("etl_bench_profile"), args)
        extraction, _, _ = stage(settings, generate(args.work_dir / "input", args.rows))
        profiler = Profiler()
        profiler.start()
        result = run_ceiling(settings, extraction, processes=1)
        profiler.stop()
    finally:
        server.drop_all()
    print(profiler.output_text(unicode=True, color=False, show_all=False))
    print({k: round(v, 2) for k, v in result["phases"].items()}, f"{result['rows_per_second']:,.0f} rows/s")


if __name__ == "__main__":
    main()

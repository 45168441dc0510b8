"""The measurements of ``python -m bench``, each on a fresh database."""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil
import redis
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from bench.ceiling import run_ceiling
from bench.generate import LAYOUTS, REAL_DATA, generate
from bench.naive import run_naive
from bench.timeline import analyse
from etl_worker.db.migrate import upgrade
from etl_worker.ingest import ingest_file
from etl_worker.orchestrator import ETLOrchestrator
from etl_worker.settings import Settings
from etl_worker.supervisor import ProcessGroup

TINY_FIXTURES = Path(__file__).parents[1] / "tests" / "fixtures"


class Server:
    """Fresh databases on one PostgreSQL server, dropped when the bench ends."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.created: list[str] = []

    def _admin(self, sql: str) -> None:
        engine = sa.create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(sa.text(sql))
        engine.dispose()

    def fresh(self, name: str) -> str:
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._admin(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        url = make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)
        upgrade(url)
        return url

    def drop_all(self) -> None:
        for name in self.created:
            self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def peak_rss_mb(pid: int) -> float:
    """The largest peak resident set (VmHWM) of a process and its descendants, in MB."""
    peaks = []
    try:
        procs = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    for proc in procs:
        try:
            status = Path(f"/proc/{proc.pid}/status").read_text()
        except FileNotFoundError:
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                peaks.append(int(line.split()[1]) / 1024)
    return max(peaks, default=0.0)


def _cpu_seconds(proc: psutil.Process) -> float:
    """CPU seconds of a process, its live descendants and the children it has reaped."""
    try:
        procs = [proc, *proc.children(recursive=True)]
        reaped = proc.cpu_times()
        total = reaped.children_user + reaped.children_system
    except psutil.NoSuchProcess:
        return 0.0
    for each in procs:
        try:
            times = each.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def cpu_seconds(worker_pids: list[int]) -> dict[str, float]:
    """CPU seconds used so far by the workers and by the PostgreSQL and Redis servers on this machine
    (their processes by name: the servers a run shares, whatever reaches them)."""
    servers = {"postgres": 0.0, "redis": 0.0}
    for proc in psutil.process_iter(["name", "ppid"]):
        name = proc.info["name"] or ""
        server = "postgres" if name == "postgres" else "redis" if name.startswith("redis-server") else None
        if server is None:
            continue
        try:
            parent = proc.parent()
            times = proc.cpu_times()
        except psutil.NoSuchProcess:
            continue
        servers[server] += times.user + times.system
        if parent is None or (parent.name() or "") != name:  # the server's first process: its reaped backends
            servers[server] += times.children_user + times.children_system
    return {"workers": sum(_cpu_seconds(psutil.Process(pid)) for pid in worker_pids), **servers}


def settings_for(url: str, args: argparse.Namespace) -> Settings:
    return Settings.from_env().with_overrides(
        database_url=url,
        broker_url=args.redis,
        result_backend=args.redis,
        timeout_seconds=7200,
        max_records_per_batch=args.batch,
    )


def stage(settings: Settings, paths: dict[str, Path]) -> tuple[str, int, float]:
    """Ingest every file into one extraction: (extraction id, rows, seconds)."""
    started = time.perf_counter()
    extraction, total = None, 0
    for source, path in paths.items():
        staged = ingest_file(settings, source, path, extraction)
        extraction, rows = staged.extraction_id, staged.rows
        total += rows
    assert extraction is not None
    return extraction, total, time.perf_counter() - started


@contextmanager
def workers(settings: Settings, count: int, log_dir: Path) -> Iterator[ProcessGroup]:

    log_dir.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "ETL_DATABASE_URL": settings.database_url,
        "ETL_BROKER_URL": settings.broker_url,
        "ETL_RESULT_BACKEND": settings.result_backend,
        "ETL_TIMEOUT_SECONDS": str(settings.timeout_seconds),
        "PYTHONPATH": str(Path(__file__).parents[1]),
    }
    procs = ProcessGroup(env, log_dir)
    names = {procs.start_worker(f"bench{i}") for i in range(count)}
    try:
        procs.wait_for_workers(names, 60)
    except TimeoutError:
        procs.stop_all()
        raise
    try:
        yield procs
    finally:
        procs.stop_all()


def pipeline(
    server: Server, args: argparse.Namespace, paths: dict[str, Path], count: int, label: str
) -> dict[str, Any]:
    settings = settings_for(server.fresh(f"etl_bench_{label}"), args)
    extraction, rows, ingest_seconds = stage(settings, paths)
    with workers(settings, count, args.work_dir / f"logs-{label}") as procs:
        runner = ETLOrchestrator(max_records_per_batch=args.batch, timeout_seconds=7200, settings=settings)
        pids = [proc.pid for proc in procs.procs.values()]
        cpu_before = cpu_seconds(pids)
        started = time.perf_counter()
        execution = runner.execute_extraction_sync(extraction)
        seconds = time.perf_counter() - started
        cpu = {k: round(v - cpu_before[k], 1) for k, v in cpu_seconds(pids).items()}
        rss = {name: round(peak_rss_mb(proc.pid), 1) for name, proc in procs.procs.items()}
    assert execution.overall_status in ("success", "partial_success"), execution.error_summary
    return {
        "workers": count,
        "rows": rows,
        "status": execution.overall_status,
        "ingest_seconds": round(ingest_seconds, 2),
        "ingest_rows_per_second": round(rows / ingest_seconds),
        "seconds": round(seconds, 2),
        "rows_per_second": round(rows / seconds),
        "phases": {p.phase: round(p.duration_seconds or 0.0, 2) for p in execution.phases},
        "batches": len(execution.transformers),
        "prospects_loaded": execution.total_prospects_loaded,
        "peak_rss_mb": rss,
        # What more workers would share: PostgreSQL's CPU per second of worker CPU says at about how
        # many busy workers its cores are full.
        "cpu_seconds": cpu,
        "postgres_per_worker_cpu": ratio(cpu["postgres"], cpu["workers"]),
        "timeline": analyse(settings.database_url, execution.execution_id, seconds),
    }


def tiny(server: Server, args: argparse.Namespace) -> dict[str, Any]:
    """run_extraction to a recorded success for 10 rows per source: the cost of the chain itself."""
    settings = settings_for(server.fresh("etl_bench_tiny"), args)
    files = {s: TINY_FIXTURES / f"{s}.csv" for s in ("pff", "nfl", "yahoo", "cfr")}
    tiny_dir = args.work_dir / "tiny"
    tiny_dir.mkdir(parents=True, exist_ok=True)
    for path in files.values():  # the first 10 rows of each fixture
        lines = path.read_text().splitlines(keepends=True)
        (tiny_dir / path.name).write_text("".join(lines[:11]))
    times, recorded = [], []
    with workers(settings, 2, args.work_dir / "logs-tiny"):
        runner = ETLOrchestrator(max_records_per_batch=args.batch, timeout_seconds=600, settings=settings)
        for _ in range(args.tiny_runs + 1):
            extraction, _, _ = stage(settings, {s: tiny_dir / p.name for s, p in files.items()})
            started = time.perf_counter()
            execution = runner.execute_extraction_sync(extraction)
            assert execution.overall_status == "success"
            times.append(time.perf_counter() - started)
            recorded.append(execution.duration_seconds or 0.0)
    times, recorded = times[1:], recorded[1:]  # the first run warms the workers' connections and imports
    return {
        "runs": len(times),
        "median_seconds": round(statistics.median(times), 3),
        "max_seconds": round(max(times), 3),
        "recorded_median_seconds": round(statistics.median(recorded), 3),
    }


def real_files(server: Server, args: argparse.Namespace) -> dict[str, Any]:
    paths = {source: REAL_DATA / layout.filename for source, layout in LAYOUTS.items()}
    return pipeline(server, args, paths, 2, "real")


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a and b else None


def run_all(args: argparse.Namespace) -> int:
    redis.Redis.from_url(args.redis).flushdb()
    server = Server(args.postgres)
    results: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "rows": args.rows,
            "batch": args.batch,
        },
    }
    try:
        started = time.perf_counter()
        paths = generate(args.work_dir / "input", args.rows)
        results["generate_seconds"] = round(time.perf_counter() - started, 2)
        if "one-worker" not in args.skip:
            results["pipeline_1"] = pipeline(server, args, paths, 1, "one")
        results["pipeline_2"] = pipeline(server, args, paths, 2, "two")
        settings = settings_for(server.fresh("etl_bench_ceiling"), args)
        extraction, _, _ = stage(settings, paths)
        results["ceiling"] = run_ceiling(settings, extraction)
        if "naive" not in args.skip:
            results["naive"] = run_naive(server.fresh("etl_bench_naive"), paths, args.naive_rows)
        if "tiny" not in args.skip:
            results["tiny"] = tiny(server, args)
        if "real" not in args.skip:
            results["real_files"] = real_files(server, args)
    finally:
        server.drop_all()
    results["summary"] = summarise(results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, default=str))
    print_table(results)
    print(f"\nwritten to {args.out}")
    return 0 if all(row["met"] is not False for row in results["summary"]) else 1


def summarise(r: dict[str, Any]) -> list[dict[str, Any]]:
    """Every figure of the run, with the target it has (issue 13's) and whether it is met."""
    two, one = r["pipeline_2"], r.get("pipeline_1")
    ceiling, naive, tiny_run, real = r["ceiling"], r.get("naive"), r.get("tiny"), r.get("real_files")
    rss = max([*two["peak_rss_mb"].values(), *(one["peak_rss_mb"].values() if one else [])])
    timeline = two["timeline"]
    speedup = timeline["projected_speedup"]
    rows: list[tuple[str, Any, str | None, float | None]] = [
        ("pipeline, 2 workers (rows/s)", two["rows_per_second"], ">=", 33_000),
        ("pipeline, 2 workers, end to end (s)", two["seconds"], "<=", 30),
        ("pipeline, 1 worker (rows/s)", one["rows_per_second"] if one else None, None, None),
        ("ceiling, no Celery, 2 processes (rows/s)", round(ceiling["rows_per_second"]), None, None),
        ("naive per-row ORM (rows/s)", round(naive["rows_per_second"]) if naive else None, None, None),
        ("pipeline / naive (x)", ratio(two["rows_per_second"], naive and naive["rows_per_second"]), ">=", 50),
        ("pipeline / ceiling (x)", ratio(two["rows_per_second"], ceiling["rows_per_second"]), None, None),
        ("ingest (rows/s)", two["ingest_rows_per_second"], ">=", 200_000),
        ("serial time, 2 workers (s)", timeline["serial_seconds"], None, None),
        ("PostgreSQL CPU per worker CPU second, 2 workers", two.get("postgres_per_worker_cpu"), None, None),
        ("serial share of the run, 2 workers (%)", round(100 * (timeline["serial_share"] or 0), 1), "<=", 15),
        ("2 workers vs 1, measured end to end (x)", ratio(one and one["seconds"], two["seconds"]), None, None),
        ("2 workers vs 1, projected (x)", speedup.get("2"), None, None),
        ("8 workers vs 1, projected (x)", speedup.get("8"), ">=", 5),
        ("32 workers vs 1, projected (x)", speedup.get("32"), ">=", 12),
        ("peak RSS of any worker process (MB)", rss, "<", 250),
        (
            "tiny run, recorded in the execution (ms)",
            tiny_run and round(1000 * tiny_run["recorded_median_seconds"]),
            "<",
            150,
        ),
        ("tiny run, as the caller waits (ms)", tiny_run and round(1000 * tiny_run["median_seconds"]), None, None),
        ("four real files, end to end (s)", real and real["seconds"], "<", 3),
    ]
    compare = {">=": lambda v, b: v >= b, "<=": lambda v, b: v <= b, "<": lambda v, b: v < b}
    out = []
    for name, value, op, bound in rows:
        met = compare[op](value, bound) if op and bound is not None and value is not None else None
        out.append({"measure": name, "value": value, "target": f"{op} {bound:,}" if op else None, "met": met})
    return out


def print_table(r: dict[str, Any]) -> None:
    print(f"\n{r['machine']['rows']:,} staging rows, batches of {r['machine']['batch']:,}, {r['machine']['cpus']} CPUs")
    for key in ("pipeline_1", "pipeline_2", "real_files"):
        if key in r:
            p = r[key]
            phases = ", ".join(f"{k} {v:.2f}" for k, v in p["phases"].items())
            print(
                f"{key}: {p['seconds']:.2f} s ({p['rows_per_second']:,} rows/s; ingest {p['ingest_rows_per_second']:,} rows/s); {phases}; peak RSS {p['peak_rss_mb']}"
            )
            print(
                f"    CPU seconds {p['cpu_seconds']}; PostgreSQL per worker CPU second {p['postgres_per_worker_cpu']}"
            )
    t = r["pipeline_2"]["timeline"]
    print(
        f"timeline (2 workers): serial {t['serial_seconds']:.2f} s; projected "
        + ", ".join(f"{n} workers {v:.2f} s" for n, v in t["projected_seconds"].items())
    )
    c = r["ceiling"]
    print(f"ceiling: {c['seconds']:.2f} s; " + ", ".join(f"{k} {v:.2f}" for k, v in c["phases"].items()))
    print(f"\n{'measure':<44} {'value':>12}  {'target':<10} met")
    for row in r["summary"]:
        value = "-" if row["value"] is None else f"{row['value']:,}"
        met = {True: "yes", False: "NO", None: ""}[row["met"]]
        print(f"{row['measure']:<44} {value:>12}  {row['target'] or '':<10} {met}")

"""The long-running processes (workers, listener, beat, the drop-folder watcher, Flower) and the demo."""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path

import click

from etl_worker.cli.app import console, friendly, load_settings, main, say, warn
from etl_worker.errors import ConfigurationError
from etl_worker.models import ETLStatus
from etl_worker.redact import redact_url


@main.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.option("--concurrency", "-c", type=int, default=None, help="Worker processes (default: cores).")
@click.option("--hostname", "-n", default=None, help="Node name, e.g. worker1@%h.")
@click.option("--loglevel", "-l", default="INFO", show_default=True)
@click.pass_context
@friendly
def worker(ctx: click.Context, concurrency: int | None, hostname: str | None, loglevel: str) -> None:
    """Run a Celery worker of etl_worker (other celery worker options pass through)."""
    from etl_worker.celery_app import app
    from etl_worker.db.migrate import check_current

    settings = load_settings()
    check_current(settings.database_url)
    # With JSON logs, celery's --quiet: no banner, every line is a JSON object.
    argv = [*(["--quiet"] if settings.log_format == "json" else []), "worker", f"--loglevel={loglevel}"]
    if concurrency:
        argv.append(f"--concurrency={concurrency}")
    if hostname:
        argv.append(f"--hostname={hostname}")
    # Celery's own command, as app.worker_main runs it, but keeping the worker's exit code, which
    # worker_main drops: a worker that stops on an unrecoverable error (the broker refusing its login)
    # must exit non-zero, so that a supervisor restarts it.
    from celery.bin.celery import celery as celery_command

    celery_command.params[0].default = app  # what -A would name
    try:
        code = celery_command.main(args=[*argv, *ctx.args], standalone_mode=False)
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    finally:
        celery_command.params[0].default = None
    sys.exit(code if isinstance(code, int) else 0)


@main.command()
@friendly
def listener() -> None:
    """Follow the result backend and write execution history to PostgreSQL; hand a lost worker's tasks on.

    Besides history, the listener runs the reaper: a worker silent for ETL_WORKER_LOST_SECONDS is lost,
    and the tasks it held go back to the queue at once (see etl_worker.tracking.reaper).
    """
    from etl_worker.celery_app import app
    from etl_worker.db.migrate import check_current
    from etl_worker.ops.metrics import serve
    from etl_worker.pipeline import enqueue_deadline_alerts
    from etl_worker.tracking.listener import Listener
    from etl_worker.tracking.reaper import Reaper

    settings = load_settings()
    check_current(settings.database_url)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    follower = Listener(settings, deadline_alerts=enqueue_deadline_alerts)
    reaper = Reaper(settings, app)
    reaping = threading.Thread(target=reaper.run, args=(stop,), name="reaper", daemon=True)
    reaping.start()
    serve(settings, list(app.amqp.queues), lambda: len(reaper.alive_workers()))
    say(f"listener following {redact_url(settings.result_backend)}")
    follower.run(stop, on_ready=lambda: say("listener ready"))
    reaping.join(10)
    say(f"listener stopped after {follower.recorded} records; {reaper.handed_over} task(s) handed over")


@main.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.option("--schedule-file", type=click.Path(dir_okay=False), help="Default: in the data directory.")
@click.option("--loglevel", "-l", default="INFO", show_default=True)
@click.pass_context
@friendly
def beat(ctx: click.Context, schedule_file: str | None, loglevel: str) -> None:
    """Run the scheduler: start staged extractions nobody ran; prune history past its retention."""
    from etl_worker.celery_app import app
    from etl_worker.db.migrate import check_current
    from etl_worker.embedded import private_dir

    settings = load_settings()
    check_current(settings.database_url)
    path = Path(schedule_file) if schedule_file else private_dir(load_settings().home) / "celerybeat-schedule"
    path.parent.mkdir(parents=True, exist_ok=True)
    s = settings.schedule
    say(
        f"beat: staged extractions every {s.staged_seconds} s (after {s.settle_seconds} s quiet), "
        f"history pruning every {s.prune_seconds} s (keeps {s.retention_days} days)"
    )
    app.start(["beat", f"--schedule={path}", f"--loglevel={loglevel}", *ctx.args])


@main.command()
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--interval", default=2.0, show_default=True, type=click.FloatRange(0.1, 3600), help="Seconds.")
@friendly
def watch(directory: str, interval: float) -> None:
    """Stage and run every export file that appears in DIRECTORY (named after its source: pff_2021.csv)."""
    from etl_worker.ops.dropfolder import DropFolder

    folder = Path(directory)
    if not folder.is_dir():
        raise ConfigurationError(f"cannot watch {folder}: no such directory")
    from etl_worker.db.migrate import check_current

    settings = load_settings()
    check_current(settings.database_url)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    watcher = DropFolder(settings, folder)
    say(f"watching {folder} every {interval:g} s", to_stderr=False)
    while not stop.is_set():
        for outcome in watcher.poll():
            line = f"{outcome.status} {outcome.name}: {outcome.message}"
            if outcome.execution_id:
                line += f" (extraction {outcome.extraction_id}, execution {outcome.execution_id})"
            say(
                line,
                to_stderr=False,
                file=outcome.name,
                extraction_id=outcome.extraction_id,
                execution_id=outcome.execution_id,
            )
        stop.wait(interval)


@main.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.option("--port", default=5555, show_default=True)
@click.option("--address", default="127.0.0.1", show_default=True)
@click.option("--insecure", is_flag=True, help="Start without basic auth.")
@click.pass_context
@friendly
def flower(ctx: click.Context, port: int, address: str, insecure: bool) -> None:
    """Start Flower for etl_worker's app, with basic auth from ETL_FLOWER_BASIC_AUTH (user:password)."""
    auth = load_settings().flower_basic_auth
    if not auth and not insecure:
        raise ConfigurationError("set ETL_FLOWER_BASIC_AUTH=user:password (or pass --insecure)")
    _warn_if_open(insecure and not auth, address, "Flower")
    argv = [sys.executable, "-m", "etl_worker.flower_auth", f"--port={port}", f"--address={address}"]
    env = {k: v for k, v in os.environ.items() if k != "FLOWER_BASIC_AUTH"}
    if auth:
        env["FLOWER_BASIC_AUTH"] = auth  # read by Flower from its environment, not shown in the process list
    os.execve(sys.executable, [*argv, *ctx.args], env)


@main.command()
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535))
@click.option("--address", default="127.0.0.1", show_default=True)
@click.option("--insecure", is_flag=True, help="Start without basic auth.")
@friendly
def ui(port: int, address: str, insecure: bool) -> None:
    """Start the web console, with basic auth from ETL_UI_BASIC_AUTH (user:password)."""
    from etl_worker.console.server import serve

    settings = load_settings()
    if not settings.ui_basic_auth and not insecure:
        raise ConfigurationError("set ETL_UI_BASIC_AUTH=user:password (or pass --insecure)")
    _warn_if_open(insecure and not settings.ui_basic_auth, address, "console")
    serve(settings, address, port, on_ready=lambda url: say(f"console on {url}"))


@main.command()
@click.option("--keep", is_flag=True, help="Keep the servers, workers and web console up until Ctrl-C.")
@friendly
def demo(keep: bool) -> None:
    """Run the whole system on the bundled sample data and print a report (embedded servers by default)."""
    from etl_worker.demo import run_demo

    status = run_demo(console, keep)
    sys.exit(0 if status in (ETLStatus.SUCCESS, ETLStatus.PARTIAL_SUCCESS) else 2)


def _warn_if_open(unauthenticated: bool, address: str, what: str) -> None:
    """One line when a service without a password listens beyond this machine."""
    if unauthenticated and address not in ("127.0.0.1", "::1", "localhost"):
        warn(f"{what} on {address} without a password: anyone who can reach this host can use it")

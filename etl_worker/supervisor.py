"""Start and stop etl-worker processes (workers, listener) for the demo and the tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path


class ProcessGroup:
    """Named ``etl-worker`` subprocesses, each in its own session, logging to ``log_dir``."""

    def __init__(self, env: dict[str, str], log_dir: Path, command: tuple[str, ...] | None = None) -> None:
        self.env = env
        self.log_dir = log_dir
        self.command = command or (sys.executable, "-m", "etl_worker.cli")
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        with (self.log_dir / f"{name}.log").open("ab") as log:
            proc = subprocess.Popen(
                [*self.command, *args],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.procs[name] = proc
        return proc

    def start_worker(self, name: str, concurrency: int = 1) -> str:
        """Start a worker; returns its node name."""
        self.start(name, "worker", "-c", str(concurrency), "-n", f"{name}@%h", "--without-mingle", "--without-gossip")
        return f"{name}@{socket.gethostname()}"

    def wait_for_workers(self, nodes: set[str], timeout: float = 90) -> None:
        """Until every worker of ``nodes`` answers a ping on this process's broker; TimeoutError after ``timeout``."""
        from etl_worker.celery_app import app

        deadline = time.monotonic() + timeout
        while not nodes <= {name for reply in (app.control.ping(timeout=0.5) or []) for name in reply}:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"workers {sorted(nodes)} did not answer within {timeout:g} s; logs in {self.log_dir}"
                )

    def stop(self, name: str, sig: int = signal.SIGTERM, timeout: float = 30) -> None:
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)

    def stop_all(self) -> None:
        for name in list(self.procs):
            self.stop(name)

    def log(self, name: str) -> str:
        path = self.log_dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def wait_for_log(self, name: str, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.log(name):
            proc = self.procs.get(name)
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(f"{name} exited: {self.log(name)[-500:]}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name} did not report {text!r} within {timeout} s")
            time.sleep(0.1)

"""``etl-worker demo`` on the embedded default: no server configured, a report with a success at the end."""

from __future__ import annotations

import json
import os
import shlex
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

from etl_worker.embedded import EmbeddedServers


def test_demo_runs_end_to_end_on_embedded_servers_and_keeps_the_home_private(tmp_path):
    """``demo --keep``: the run, then the export lines another shell needs to reach the kept servers (used
    here by ``etl-worker history``), then the console, all stopped by SIGTERM as by Ctrl-C, the embedded
    PostgreSQL included."""
    home = tmp_path / "user"
    home.mkdir(mode=0o700)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ETL_")}
    env["ETL_HOME"] = str(home / ".local" / "share" / "etl_worker")
    demo = subprocess.Popen(
        [sys.executable, "-m", "etl_worker.cli", "demo", "--keep"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**env, "COLUMNS": "80"},
    )
    assert demo.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 240
    while not (lines and "Ctrl-C" in lines[-1]) and time.monotonic() < deadline and demo.poll() is None:
        lines.append(demo.stdout.readline())
    exports = dict(line.removeprefix("export ").strip().split("=", 1) for line in lines if line.startswith("export "))
    assert set(exports) == {"ETL_DATABASE_URL", "ETL_BROKER_URL", "ETL_RESULT_BACKEND"}, "".join(lines)[-3000:]
    assert any(line.startswith("web console on http://127.0.0.1:") for line in lines), "".join(lines)[-3000:]
    # Piped at 80 columns, the report's path (longer than that here) is one line, never broken.
    report = [line.strip() for line in lines if line.startswith("timeline and full report: ")]
    assert len(report) == 1 and report[0].endswith(".html"), "".join(lines)[-3000:]
    assert os.path.isfile(report[0].removeprefix("timeline and full report: "))
    shown = subprocess.run(
        [sys.executable, "-m", "etl_worker.cli", "history", "--json"],
        capture_output=True,
        text=True,
        env={**env, **{k: shlex.split(v)[0] for k, v in exports.items()}},
        timeout=60,
    )
    assert shown.returncode == 0, shown.stderr
    assert [e["overall_status"] for e in json.loads(shown.stdout)] == ["success"]
    demo.send_signal(signal.SIGTERM)  # as a supervisor stops it; Ctrl-C (SIGINT) ends the same way
    rest, errors = demo.communicate(timeout=120)
    output = "".join(lines) + rest + errors
    assert demo.returncode == 0, output[-3000:]
    assert ": success" in output
    assert "staged   674 nfl" in output
    assert "mv_position_benchmarks" in output and "WR" in output
    # Everything it started has stopped: no server or worker is left behind under its home.

    data = EmbeddedServers(Path(env["ETL_HOME"])).postgres_dir  # outside ETL_HOME when run as root
    for where in (str(tmp_path), str(data)):
        left = subprocess.run(["pgrep", "-f", where], capture_output=True, text=True).stdout.split()
        assert left == [], where
    # Nothing outside ETL_HOME loosened (pgserver would open a 0700 home up to 0755 as root); what it
    # created is private: directories 0700, files 0600.
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    created = [p for p in home.rglob("*")]
    assert created and all(stat.S_IMODE(p.stat().st_mode) & 0o077 == 0 for p in created), [
        f"{stat.S_IMODE(p.stat().st_mode):o} {p}" for p in created if stat.S_IMODE(p.stat().st_mode) & 0o077
    ]
    EmbeddedServers(Path(env["ETL_HOME"])).remove()

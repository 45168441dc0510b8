"""``etl-worker demo`` on the embedded default: no server configured, a report with a success at the end."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from etl_worker.embedded import EmbeddedServers


def test_demo_runs_end_to_end_on_embedded_servers_and_keeps_the_home_private(tmp_path):
    home = tmp_path / "user"
    home.mkdir(mode=0o700)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ETL_")}
    env["ETL_HOME"] = str(home / ".local" / "share" / "etl_worker")
    result = subprocess.run(
        [sys.executable, "-m", "etl_worker.cli", "demo"], capture_output=True, text=True, env=env, timeout=240
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert ": success" in output
    assert "staged   674 nfl" in output
    assert "mv_position_benchmarks" in output and "WR" in output
    # Everything it started has stopped: no server or worker is left behind under its home.
    left = subprocess.run(["pgrep", "-f", str(tmp_path)], capture_output=True, text=True).stdout.split()
    assert left == []
    # Nothing outside ETL_HOME loosened (pgserver would open a 0700 home up to 0755 as root); what it
    # created is private: directories 0700, files 0600.
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    created = [p for p in home.rglob("*")]
    assert created and all(stat.S_IMODE(p.stat().st_mode) & 0o077 == 0 for p in created), [
        f"{stat.S_IMODE(p.stat().st_mode):o} {p}" for p in created if stat.S_IMODE(p.stat().st_mode) & 0o077
    ]
    EmbeddedServers(Path(env["ETL_HOME"])).remove()

"""``etl-worker demo`` on the embedded default: no server configured, a report with a success at the end."""

from __future__ import annotations

import os
import subprocess
import sys


def test_demo_runs_end_to_end_on_embedded_servers(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ETL_")}
    env["ETL_HOME"] = str(tmp_path / "home")
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

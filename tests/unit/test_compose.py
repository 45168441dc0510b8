"""docker-compose.yml is valid for Compose (checked with whichever Compose CLI the machine has)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]


def _compose() -> list[str] | None:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    return None


@pytest.fixture
def compose() -> list[str]:
    found = _compose()
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("no docker compose CLI (.ci/run installs docker-compose)")
        pytest.skip("no docker compose CLI on this machine")
    return found


def test_compose_file_is_valid(compose):  # type: ignore[no-untyped-def]
    env = {**os.environ, "ETL_FLOWER_BASIC_AUTH": "ops:secret"}
    result = subprocess.run(
        [*compose, "-f", str(ROOT / "docker-compose.yml"), "config", "-q"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    services = subprocess.run(
        [*compose, "-f", str(ROOT / "docker-compose.yml"), "config", "--services"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    ).stdout.split()
    assert {"postgres", "redis", "migrate", "worker", "listener", "flower", "beat", "watch"} <= set(services)


def test_compose_publishes_flower_on_loopback_only(compose):  # type: ignore[no-untyped-def]
    env = {k: v for k, v in os.environ.items() if k != "FLOWER_BIND"}
    config = subprocess.run(
        [*compose, "-f", str(ROOT / "docker-compose.yml"), "config"],
        capture_output=True,
        text=True,
        env={**env, "ETL_FLOWER_BASIC_AUTH": "ops:secret"},
        timeout=60,
    ).stdout
    published = [line.strip() for line in config.splitlines() if ":5555" in line]
    assert published and all("127.0.0.1:5555" in line for line in published), published

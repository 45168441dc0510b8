"""docker-compose.yml is valid for Compose (checked with whichever Compose CLI the machine has)."""

from __future__ import annotations

import os
import re
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


def _config(compose, *args, files=("docker-compose.yml",), env=None):  # type: ignore[no-untyped-def]
    """``docker-compose config ARGS`` of ``files`` (under the project), with the secrets compose requires."""
    secrets = {"ETL_FLOWER_BASIC_AUTH": "ops:secret", "ETL_UI_BASIC_AUTH": "ops:secret", "GRAFANA_ADMIN_PASSWORD": "g"}
    named = [arg for f in files for arg in ("-f", str(ROOT / f))]
    return subprocess.run(
        [*compose, *named, "config", *args],
        capture_output=True,
        text=True,
        env={**(os.environ if env is None else env), **secrets},
        timeout=60,
    )


def test_compose_file_is_valid(compose):  # type: ignore[no-untyped-def]
    result = _config(compose, "-q")
    assert result.returncode == 0, result.stderr
    services = _config(compose, "--services").stdout.split()
    assert {"postgres", "redis", "migrate", "worker", "listener", "flower", "beat", "watch", "console"} <= set(services)
    assert {"prometheus", "grafana"} <= set(services)


def test_compose_publishes_flower_prometheus_and_grafana_on_loopback_only(compose):  # type: ignore[no-untyped-def]
    env = {k: v for k, v in os.environ.items() if k != "FLOWER_BIND"}
    config = _config(compose, env=env).stdout
    for port in ("5555", "8080", "9090", "3000"):  # Flower, the console, Prometheus, Grafana
        published = [line.strip() for line in config.splitlines() if f":{port}:{port}" in line]
        assert published and all("127.0.0.1:" in line for line in published), (port, published)


def test_the_rabbitmq_override_makes_rabbitmq_the_broker_of_every_etl_service(compose):  # type: ignore[no-untyped-def]
    config = _config(compose, files=("docker-compose.yml", "deploy/rabbitmq.compose.yml"))
    assert config.returncode == 0, config.stderr
    sections = re.split(r"\n  (?=\S)", config.stdout)  # one per service (and per top-level key)
    by_name = {section.split(":", 1)[0]: section for section in sections if section[:1].isalpha()}
    assert "rabbitmq" in by_name
    for name in ("worker", "listener", "beat", "watch", "flower", "console"):
        assert "ETL_BROKER_URL: amqp://etl:etl@rabbitmq:5672/etl" in by_name[name], name
        assert "ETL_RESULT_BACKEND: redis://redis:6379/0" in by_name[name], name
        assert "rabbitmq:\n        condition: service_healthy" in by_name[name], name

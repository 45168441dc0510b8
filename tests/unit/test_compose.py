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


def test_compose_file_is_valid(compose):  # type: ignore[no-untyped-def]
    env = {**os.environ, "ETL_FLOWER_BASIC_AUTH": "ops:secret", "GRAFANA_ADMIN_PASSWORD": "g"}
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
    assert {"prometheus", "grafana"} <= set(services)


def test_compose_publishes_flower_prometheus_and_grafana_on_loopback_only(compose):  # type: ignore[no-untyped-def]
    env = {k: v for k, v in os.environ.items() if k != "FLOWER_BIND"}
    config = subprocess.run(
        [*compose, "-f", str(ROOT / "docker-compose.yml"), "config"],
        capture_output=True,
        text=True,
        env={**env, "ETL_FLOWER_BASIC_AUTH": "ops:secret", "GRAFANA_ADMIN_PASSWORD": "g"},
        timeout=60,
    ).stdout
    for port in ("5555", "9090", "3000"):  # Flower, Prometheus, Grafana
        published = [line.strip() for line in config.splitlines() if f":{port}:{port}" in line]
        assert published and all("127.0.0.1:" in line for line in published), (port, published)


def test_the_rabbitmq_override_makes_rabbitmq_the_broker_of_every_etl_service(compose):  # type: ignore[no-untyped-def]
    files = ["-f", str(ROOT / "docker-compose.yml"), "-f", str(ROOT / "deploy" / "rabbitmq.compose.yml")]
    config = subprocess.run(
        [*compose, *files, "config"],
        capture_output=True,
        text=True,
        env={**os.environ, "ETL_FLOWER_BASIC_AUTH": "ops:secret", "GRAFANA_ADMIN_PASSWORD": "g"},
        timeout=60,
    )
    assert config.returncode == 0, config.stderr
    sections = re.split(r"\n  (?=\S)", config.stdout)  # one per service (and per top-level key)
    by_name = {section.split(":", 1)[0]: section for section in sections if section[:1].isalpha()}
    assert "rabbitmq" in by_name
    for name in ("worker", "listener", "beat", "watch", "flower"):
        assert "ETL_BROKER_URL: amqp://etl:etl@rabbitmq:5672/etl" in by_name[name], name
        assert "ETL_RESULT_BACKEND: redis://redis:6379/0" in by_name[name], name
        assert "rabbitmq:\n        condition: service_healthy" in by_name[name], name

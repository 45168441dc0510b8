"""The image and the compose file, checked without a container engine: every file the Dockerfile copies
exists, every command compose runs is a real ``etl-worker`` command with valid options (click's own
parser), what runs as the image's user can write where it must, and the image's own steps (``pip install .``
of the build context into a fresh environment, then the entry point and the Celery configuration module)
work."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from etl_worker.cli import main

ROOT = Path(__file__).parents[2]


def _instructions() -> list[tuple[str, list[str]]]:
    lines = (ROOT / "Dockerfile").read_text().splitlines()
    steps = [line.split(None, 1) for line in lines if line.strip() and not line.lstrip().startswith("#")]
    return [(step[0].upper(), _arguments(step[1] if len(step) > 1 else "")) for step in steps]


def _arguments(text: str) -> list[str]:
    """An instruction's arguments: its JSON (exec) form, or its words."""
    return list(json.loads(text)) if text.startswith("[") else shlex.split(text)


def _copied() -> list[str]:
    """Every source path of the Dockerfile's COPY and ADD instructions."""
    return [
        src for op, args in _instructions() if op in ("COPY", "ADD") for src in args[:-1] if not src.startswith("--")
    ]


def _compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())  # type: ignore[no-any-return]


def _image_services() -> dict[str, dict[str, Any]]:
    return {name: spec for name, spec in _compose()["services"].items() if spec.get("build") == "."}


def test_every_file_the_dockerfile_copies_exists() -> None:
    copied = _copied()
    assert "celeryconfig.py" in copied and "etl_worker" in copied
    missing = [src for src in copied if not (ROOT / src).exists()]
    assert not missing, f"the Dockerfile copies what the checkout lacks: {missing}"


def test_the_image_runs_the_cli_as_nobody() -> None:
    steps = dict(_instructions())
    assert steps["USER"] == ["nobody"]
    assert steps["ENTRYPOINT"] == ["etl-worker"]


def _parse(command: list[str]) -> click.Context:
    """``etl-worker COMMAND`` parsed as the CLI would, down to the subcommand's own options."""
    parent = main.make_context("etl-worker", list(command))
    name, sub, args = main.resolve_command(parent, [*parent._protected_args, *parent.args])
    assert sub is not None and name is not None
    return sub.make_context(name, args, parent=parent)


def test_every_command_compose_runs_is_a_real_cli_command_with_valid_options() -> None:
    services = _image_services()
    assert {"migrate", "worker", "listener", "beat", "watch", "flower", "console"} <= set(services)
    for name, spec in services.items():
        command = spec["command"]
        assert isinstance(command, list), f"{name}: give the command as a list"
        ctx = _parse(command)
        assert not ctx.args or ctx.command.context_settings.get("allow_extra_args"), (name, ctx.args)


def test_the_command_check_refuses_what_the_cli_refuses() -> None:
    with pytest.raises(click.UsageError):
        _parse(["worker", "--concurrency", "two"])
    with pytest.raises(click.UsageError):
        _parse(["listen"])
    with pytest.raises(click.UsageError):
        _parse(["ui", "--adress", "0.0.0.0"])


def _nobodys_dirs() -> set[str]:
    """The directories the Dockerfile makes the image user's own (``chown nobody...``)."""
    owned: set[str] = set()
    for op, args in _instructions():
        if op == "RUN":
            for part in " ".join(args).split("&&"):
                words = part.split()
                if words[:1] == ["chown"] and words[1].startswith("nobody"):
                    owned.update(words[2:])
    return owned


def test_what_the_services_write_is_writable_by_the_image_user() -> None:
    owned = _nobodys_dirs()
    services = _image_services()
    for name, spec in services.items():
        for volume in spec.get("volumes", []):
            _, target, *mode = volume.split(":")
            assert target in owned, f"{name}: {target} is not the image user's own"
            assert mode != ["ro"] or name not in ("beat", "watch"), f"{name} writes to {target}"
    beat = services["beat"]["command"]
    schedule = beat[beat.index("--schedule-file") + 1]
    assert str(Path(schedule).parent) in owned
    assert services["watch"]["command"][1] in owned  # the watcher moves what it refuses into DIR/rejected
    env = dict(step for step in _instructions() if step[0] == "ENV")
    assert env["ENV"][0].startswith("ETL_HOME=") and env["ENV"][0].split("=", 1)[1] in owned


def test_the_image_steps_install_the_build_context_and_its_entry_point_runs(tmp_path: Path) -> None:
    """``pip install .`` of exactly what the Dockerfile copies, into a fresh environment (the test's own
    packages stand in for the dependencies the image would download), then the entry point and the
    Celery configuration module, from a directory with no checkout in it."""
    context = tmp_path / "context"
    context.mkdir()
    for src in _copied():
        subprocess.run(["cp", "-r", str(ROOT / src), str(context / src)], check=True)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", str(context)],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert installed.returncode == 0, installed.stderr
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (Path(site) / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "ETL_BROKER_URL": "redis://127.0.0.1:6379/9"}

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(argv, capture_output=True, text=True, cwd=elsewhere, env=env, timeout=120)

    helped = run(str(venv / "bin" / "etl-worker"), "--help")
    assert helped.returncode == 0, helped.stderr
    assert "worker" in helped.stdout and "listener" in helped.stdout
    where = run(str(python), "-c", "import celeryconfig, etl_worker; print(celeryconfig.__file__, etl_worker.__file__)")
    assert where.returncode == 0, where.stderr
    assert all(path.startswith(site) for path in where.stdout.split()), where.stdout
    report = run(str(python), "-m", "celery", "-A", "etl_worker", "--config", "celeryconfig", "report")
    assert report.returncode == 0, report.stderr
    assert "broker_url: 'redis://:********@127.0.0.1:6379/9'" in report.stdout
    assert "task_acks_late: True" in report.stdout

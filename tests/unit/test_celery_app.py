"""``celery -A etl_worker`` (Celery's own CLI, as Flower and other tools call it) finds every task."""

from __future__ import annotations

import subprocess
import sys


def test_celery_dash_a_etl_worker_finds_the_app_and_every_pipeline_task() -> None:
    listed = subprocess.run(
        [
            sys.executable,
            "-c",
            "from celery.app.utils import find_app\n"
            "app = find_app('etl_worker')\n"  # what `celery -A etl_worker` does
            "app.loader.import_default_modules()\n"
            "print(app.main, ' '.join(sorted(t for t in app.tasks if t.startswith('etl.'))))",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    main, tasks = listed.stdout.strip().split(" ", 1)
    assert main == "etl_worker"
    assert {"etl.run_extraction", "etl.extract", "etl.transform", "etl.validate", "etl.merge", "etl.load"} <= set(
        tasks.split()
    )
    assert {"etl.publish", "etl.refresh_view", "etl.alert"} <= set(tasks.split())


def test_importing_the_package_does_not_load_celery() -> None:
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, etl_worker; print('celery' in sys.modules)"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert loaded.stdout.strip() == "False"

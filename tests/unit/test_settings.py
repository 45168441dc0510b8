from __future__ import annotations

import re

import pytest

from celeryconfig import celery_config
from etl_worker.errors import ConfigurationError
from etl_worker.settings import Settings


def test_shipped_visibility_timeout_exceeds_every_task_hard_time_limit():
    from etl_worker import tasks  # noqa: F401 - registers the tasks
    from etl_worker.celery_app import app

    config = celery_config(Settings.from_env({}))
    limits = [task.time_limit for name, task in app.tasks.items() if name.startswith("etl.")]
    assert len(limits) >= 7 and all(limits)  # every etl task has a hard time limit
    for key in ("broker_transport_options", "result_backend_transport_options"):
        assert config[key]["visibility_timeout"] > max(limits)


def test_celery_config_is_json_only_with_late_acks_and_tracking():
    config = celery_config(Settings.from_env({}))
    assert config["accept_content"] == ["json"] and config["task_serializer"] == "json"
    assert config["task_acks_late"] and config["task_reject_on_worker_lost"]
    assert config["worker_prefetch_multiplier"] == 1
    assert config["task_track_started"] and config["result_extended"]


def test_result_backend_defaults_to_the_broker():
    settings = Settings.from_env({"ETL_BROKER_URL": "redis://example:6379/3"})
    assert settings.result_backend == "redis://example:6379/3"


def test_a_visibility_timeout_shorter_than_a_task_limit_is_refused():
    with pytest.raises(ConfigurationError, match="ETL_VISIBILITY_TIMEOUT"):
        Settings.from_env({"ETL_VISIBILITY_TIMEOUT": "60"})


def test_a_bad_number_is_one_readable_error():
    with pytest.raises(ConfigurationError, match="ETL_MAX_RECORDS_PER_BATCH must be a whole number"):
        Settings.from_env({"ETL_MAX_RECORDS_PER_BATCH": "lots"})


def test_task_time_limits_can_be_capped_so_redelivery_comes_sooner():
    settings = Settings.from_env({"ETL_TASK_TIME_LIMIT": "5", "ETL_VISIBILITY_TIMEOUT": "10"})
    assert settings.task_limits.longest() == 5 and settings.visibility_timeout == 10


def test_alert_settings_are_checked_with_one_readable_error():
    settings = Settings.from_env({"ETL_ALERT_WEBHOOK_URL": "https://hooks.example/etl", "ETL_ALERT_MIN_QUALITY": "75"})
    assert settings.alerting.webhook_url == "https://hooks.example/etl" and settings.alerting.min_quality == 75
    with pytest.raises(
        ConfigurationError, match="ETL_ALERT_WEBHOOK_URL must be a URL starting with http://"
    ) as refused:
        Settings.from_env({"ETL_ALERT_WEBHOOK_URL": "hooks.example/etl?token=s3cret"})
    assert "s3cret" not in str(refused.value)  # a token in the URL is never printed
    with pytest.raises(ConfigurationError, match="ETL_ALERT_VOLUME_DROP must be between 0 and 1"):
        Settings.from_env({"ETL_ALERT_VOLUME_DROP": "50"})


def test_home_and_flower_auth_are_read_with_the_other_settings_and_the_auth_never_shown():
    from pathlib import Path

    settings = Settings.from_env({"ETL_HOME": "/srv/etl", "ETL_FLOWER_BASIC_AUTH": "ops:s3cret"})
    assert settings.home == Path("/srv/etl") and settings.flower_basic_auth == "ops:s3cret"
    assert "s3cret" not in repr(settings)
    assert Settings.from_env({}).home == Path.home() / ".local" / "share" / "etl_worker"
    with pytest.raises(ConfigurationError, match="ETL_FLOWER_BASIC_AUTH must look like user:password"):
        Settings.from_env({"ETL_FLOWER_BASIC_AUTH": "ops"})


@pytest.mark.parametrize(
    ("env", "said"),
    [
        ({"ETL_MAX_RECORDS_PER_BATCH": "2147483648"}, "ETL_MAX_RECORDS_PER_BATCH must be between 1 and 1,000,000"),
        ({"ETL_TIMEOUT_SECONDS": "2147483648"}, "ETL_TIMEOUT_SECONDS must be between 1 and 2,147,483,647"),
        ({"ETL_METRICS_PORT": "70000"}, "ETL_METRICS_PORT must be between 1 and 65,535"),
        ({"ETL_UI_BASIC_AUTH": ":"}, "ETL_UI_BASIC_AUTH must look like user:password, both of them not empty"),
        ({"ETL_UI_BASIC_AUTH": "ops:"}, "ETL_UI_BASIC_AUTH must look like user:password"),
        ({"ETL_FLOWER_BASIC_AUTH": ":s3cret"}, "ETL_FLOWER_BASIC_AUTH must look like user:password"),
        ({"ETL_BROKER_URL": "redis://127.0.0.1:6379/abc"}, "ETL_BROKER_URL must end with a Redis database number"),
    ],
)
def test_settings_that_would_crash_later_are_refused_in_one_line_now(env, said):  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigurationError, match=re.escape(said)) as refused:
        Settings.from_env(env)
    assert "\n" not in str(refused.value) and "s3cret" not in str(refused.value)


def test_the_bounds_admit_what_is_valid():
    settings = Settings.from_env(
        {"ETL_METRICS_PORT": "65535", "ETL_MAX_RECORDS_PER_BATCH": "1000000", "ETL_BROKER_URL": "redis://h:6379/15"}
    )
    assert (settings.metrics_port, settings.max_records_per_batch) == (65535, 1_000_000)

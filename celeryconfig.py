"""The Celery configuration module (``celery -A etl_worker --config celeryconfig``), built from the same
``ETL_*`` settings as everything else: importing it reads the environment and sets one module attribute
per Celery setting. The app loads it by this name (or the one ``CELERY_CONFIG_MODULE`` or ``--config``
gives), so an operator may ship a module of their own that imports this one and changes what it must.

JSON only; late acks with redelivery of tasks whose worker died; one message prefetched per process;
STARTED states and extended results in the backend, which the listener turns into history. The Redis
visibility timeout is larger than every task's hard time limit, so a task that still runs is never
handed to a second worker, and the unacked messages of a dead worker are swept back soon after it.
"""

# Celery reads every attribute of this module as a setting: the names it needs besides the settings are private.
from typing import Any as _Any

from kombu import Exchange as _Exchange
from kombu import Queue as _Queue

from etl_worker.broker import is_amqp as _is_amqp
from etl_worker.settings import Settings as _Settings


def _rabbitmq(settings: _Settings) -> dict[str, _Any]:
    """RabbitMQ: a quorum queue (durable, replicated, with a delivery limit above ETL_MAX_DELIVERIES so
    that the ledger, not the broker, gives up on a task whose worker dies every time); publisher
    confirms; a 10 s heartbeat, so that a worker's connection, and with it every message it holds, is
    given back within about 20 s of its host going silent. RabbitMQ's own ``consumer_timeout``
    (30 minutes by default) must exceed the longest task time limit: see the README."""
    queue = _Queue(
        "celery",
        _Exchange("celery", type="topic"),  # Celery's native delayed delivery (retries) needs a topic exchange
        routing_key="celery",
        durable=True,
        queue_arguments={"x-queue-type": "quorum", "x-delivery-limit": settings.max_deliveries + 2},
    )
    return {
        "task_queues": [queue],
        "task_default_queue": "celery",
        "broker_transport_options": {"confirm_publish": True},
        "broker_heartbeat": 10,
    }


def celery_config(settings: _Settings) -> dict[str, _Any]:
    transport = {"visibility_timeout": settings.visibility_timeout}
    # Kombu sweeps for unacked messages of dead workers every interval x throttle seconds (100 s by
    # default); sweeping every few seconds makes redelivery follow the visibility timeout closely.
    broker_transport = {
        **transport,
        "unacked_restore_interval": max(1, min(10, settings.visibility_timeout // 4)),
        "unacked_restore_throttle": 1,
    }
    return {
        "broker_url": settings.broker_url,
        "result_backend": settings.result_backend,
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "result_accept_content": ["json"],
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_track_started": True,
        "result_extended": True,
        "result_expires": settings.result_expires,
        **({"broker_transport_options": broker_transport} if not _is_amqp(settings.broker_url) else {}),
        "result_backend_transport_options": transport,
        "broker_connection_retry_on_startup": True,
        # A Redis restart must not turn a finished task into a failed one because its result could
        # not be stored for a moment: retry result writes (up to ~30 s) instead.
        "result_backend_always_retry": True,
        "result_backend_max_retries": 20,
        "result_backend_base_sleep_between_retries_ms": 100,
        "result_backend_max_sleep_between_retries_ms": 5000,
        # The same for sending: a task that hands on to the next step while the broker restarts waits for
        # it (about 30 s: 0, 0.5, 1, 1.5 then every 2 s) instead of failing the run (Celery's default
        # gives up after 0.6 s).
        "task_publish_retry_policy": {"max_retries": 18, "interval_start": 0, "interval_step": 0.5, "interval_max": 2},
        "worker_send_task_events": True,
        "task_send_sent_event": True,
        "worker_hijack_root_logger": False,
        "timezone": "UTC",
        "enable_utc": True,
        # What ``etl-worker beat`` runs, every so many seconds (etl_worker.ops.schedule).
        "beat_schedule": {
            "run-staged-extractions": {"task": "etl.run_staged", "schedule": float(settings.schedule.staged_seconds)},
            "prune-history": {"task": "etl.prune_history", "schedule": float(settings.schedule.prune_seconds)},
        },
        **(_rabbitmq(settings) if _is_amqp(settings.broker_url) else {}),
    }


# What Celery reads: every setting as an attribute of this module, for the environment it runs in.
globals().update(celery_config(_Settings.from_env()))

"""One frozen settings object, built from ``ETL_*`` environment variables."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from etl_worker.broker import AMQP_SCHEMES, REDIS_SCHEMES, is_amqp
from etl_worker.errors import ConfigurationError

DEFAULT_HOME = Path.home() / ".local" / "share" / "etl_worker"
DEFAULT_DATABASE_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/etl_worker"
DEFAULT_BROKER_URL = "redis://127.0.0.1:6379/0"


N = TypeVar("N", int, float)


def _number(
    env: Mapping[str, str],
    name: str,
    default: N,
    parse: Callable[[str], N],
    what: str,
    wrong: Callable[[N], str | None],
) -> N:
    """The setting ``name`` parsed, else ``default``; refused in one line when ``wrong(value)`` says what
    it must be."""
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = parse(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be {what}, got {raw!r}") from None
    if (problem := wrong(value)) is not None:
        raise ConfigurationError(f"{name} must be {problem}")
    return value


INT_MAX = 2**31 - 1  # what PostgreSQL's integer columns hold: batch sizes, row numbers, seconds


def _int(env: Mapping[str, str], name: str, default: int, high: int = INT_MAX) -> int:
    def outside(value: int) -> str | None:
        return None if 0 < value <= high else f"between 1 and {high:,}, got {value:,}"

    return _number(env, name, default, int, "a whole number", outside)


def _float(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    def outside(value: float) -> str | None:
        return None if low <= value <= high else f"between {low:g} and {high:g}, got {value:g}"

    return _number(env, name, default, float, "a number", outside)


# Each URL setting is checked here, so that a malformed one is refused in one line that says what is
# wrong with it, never what it is (it may carry a password or a token).
_DATABASE_DRIVERS = {"postgresql": "postgresql+psycopg2", "postgres": "postgresql+psycopg2"}


def _checked_url(name: str, url: str, schemes: tuple[str, ...]) -> str:
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() not in schemes:
        raise ConfigurationError(
            f"{name} must be a URL starting with {', '.join(s + '://' for s in schemes)}; got "
            + (f"scheme {scheme.lower()!r}" if sep else "no scheme")
        )
    netloc = rest.split("/", 1)[0]
    if netloc.count("@") > 1:
        raise ConfigurationError(f"{name} has an '@' in its password: write it as %40")
    try:
        urlsplit(url).port  # noqa: B018 - parsing the port is the check
    except ValueError:
        raise ConfigurationError(f"{name} has a port that is not a number") from None
    if scheme.lower() in ("redis", "rediss"):
        database = urlsplit(url).path.strip("/")
        if database and not database.isdigit():
            raise ConfigurationError(f"{name} must end with a Redis database number (/0 to /15), got /{database}")
    return url


def _database_url(env: Mapping[str, str]) -> str:
    """``postgresql://`` and ``postgres://`` are given the installed driver (psycopg2)."""
    url = env.get("ETL_DATABASE_URL") or DEFAULT_DATABASE_URL
    schemes = (*_DATABASE_DRIVERS, "postgresql+psycopg2")
    url = _checked_url("ETL_DATABASE_URL", url, schemes)
    scheme, _, rest = url.partition("://")
    return f"{_DATABASE_DRIVERS.get(scheme.lower(), scheme)}://{rest}"


def _modules(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """Comma-separated dotted module names (``myteam.etl, scouting``)."""
    modules = tuple(m.strip() for m in (env.get(name) or "").split(",") if m.strip())
    for module in modules:
        if not all(part.isidentifier() for part in module.split(".")):
            raise ConfigurationError(f"{name}: {module!r} is not a module name (a.b.c, comma-separated)")
    return modules


def _webhook(env: Mapping[str, str]) -> str | None:
    url = env.get("ETL_ALERT_WEBHOOK_URL") or None
    if url is not None:
        _checked_url("ETL_ALERT_WEBHOOK_URL", url, ("http", "https"))
        if not urlsplit(url).hostname:
            raise ConfigurationError("ETL_ALERT_WEBHOOK_URL has no host")
    return url


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    value = (env.get(name) or default).strip().lower()
    if value not in choices:
        raise ConfigurationError(f"{name} must be one of {', '.join(choices)}, not {value!r}")
    return value


def _basic_auth(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name) or None
    if value is not None:
        user, sep, password = value.partition(":")
        if not sep or not user or not password:
            raise ConfigurationError(f"{name} must look like user:password, both of them not empty")
    return value


@dataclass(frozen=True)
class Alerting:
    """Where alerts go and when they fire (see ``etl_worker.ops.alerts``)."""

    webhook_url: str | None = field(default=None, repr=False)  # its path may be its secret
    min_quality: float = 80.0  # quality score (0-100) under which a run alerts
    volume_drop: float = 0.5  # a source's staged rows falling by more than this share (0-1)
    slow_window: int = 20  # a run slower than the p95 of this many recent runs alerts
    slow_min_runs: int = 5  # ... once there are at least this many to compare with


@dataclass(frozen=True)
class Schedule:
    """What ``etl-worker beat`` runs, every so many seconds."""

    staged_seconds: int = 60  # start extractions that are staged and were never run
    settle_seconds: int = 30  # ... once no file was added to them for this long
    prune_seconds: int = 24 * 3600  # prune history past its retention (after rolling it up)
    retention_days: int = 90


@dataclass(frozen=True)
class Linkage:
    """Where the weighed evidence of two people (log2 odds, ``etl_worker.phases.weigh``) makes them one
    person, and where a pair is shown to an operator instead."""

    link_above: float = 9.5  # a slip of the name with school, position, height and weight agreeing scores 10
    review_above: float = 3.0


@dataclass(frozen=True)
class TaskLimits:
    """Hard time limits (seconds) per kind of task; the broker's visibility timeout must exceed them all."""

    run: int = 60
    extract: int = 120
    transform: int = 600
    validate: int = 600
    merge: int = 900
    load: int = 900
    publish: int = 600

    def capped(self, cap: int) -> TaskLimits:
        """The same limits, none above ``cap`` seconds."""
        return TaskLimits(**{k: min(v, cap) for k, v in vars(self).items()})

    def longest(self) -> int:
        return max(self.run, self.extract, self.transform, self.validate, self.merge, self.load, self.publish)


@dataclass(frozen=True)
class Settings:
    """Everything a process of etl_worker needs to know about its environment."""

    database_url: str = DEFAULT_DATABASE_URL
    broker_url: str = DEFAULT_BROKER_URL
    result_backend: str = DEFAULT_BROKER_URL
    max_records_per_batch: int = 1000
    timeout_seconds: int = 1800
    result_expires: int = 7 * 24 * 3600
    task_limits: TaskLimits = field(default_factory=TaskLimits)
    # A dead worker's tasks come back after this long; it stays above every task limit (a running task
    # is never handed out twice) and well inside the default run deadline (the run can still finish).
    visibility_timeout: int = 1125
    max_retries: int = 5
    max_deliveries: int = 3
    # A worker whose events (heartbeats every 2 s) stop for this long is lost: its tasks go to the others.
    worker_lost_seconds: int = 30
    # A running execution that recorded nothing for this long while none of its tasks is queued or
    # running anywhere (the broker lost them) is resumed from PostgreSQL (etl_worker.ops.resume).
    stall_seconds: int = 60
    alerting: Alerting = field(default_factory=Alerting)
    linkage: Linkage = field(default_factory=Linkage)
    schedule: Schedule = field(default_factory=Schedule)
    # Where the embedded servers, the demo's logs and reports and beat's schedule live (ETL_HOME).
    home: Path = field(default_factory=lambda: DEFAULT_HOME)
    # Flower's basic auth, user:password (ETL_FLOWER_BASIC_AUTH); never shown.
    flower_basic_auth: str | None = field(default=None, repr=False)
    # Log lines as text or as one JSON object each (ETL_LOG_FORMAT).
    log_format: str = "text"
    # The web console's basic auth, user:password (ETL_UI_BASIC_AUTH); never shown.
    ui_basic_auth: str | None = field(default=None, repr=False)
    # Where the listener serves the pipeline's metrics for Prometheus (ETL_METRICS_PORT: off if unset).
    metrics_port: int | None = None
    metrics_address: str = "127.0.0.1"
    # Packages whose modules a run may name as plug-ins besides the registered ones (ETL_PLUGIN_MODULES,
    # comma-separated): nothing else a task message names is imported (etl_worker.plugins).
    plugin_modules: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read ``ETL_*`` variables; unset ones take the defaults above."""
        env = os.environ if env is None else env
        broker = _checked_url(
            "ETL_BROKER_URL", env.get("ETL_BROKER_URL") or DEFAULT_BROKER_URL, REDIS_SCHEMES + AMQP_SCHEMES
        )
        if is_amqp(broker) and not env.get("ETL_RESULT_BACKEND"):
            raise ConfigurationError("ETL_RESULT_BACKEND must name a Redis server when the broker is RabbitMQ")
        backend = _checked_url("ETL_RESULT_BACKEND", env.get("ETL_RESULT_BACKEND") or broker, REDIS_SCHEMES)
        limits = TaskLimits(transform=_int(env, "ETL_TRANSFORM_TIME_LIMIT", TaskLimits.transform))
        if env.get("ETL_TASK_TIME_LIMIT"):
            limits = limits.capped(_int(env, "ETL_TASK_TIME_LIMIT", limits.longest()))
        settings = cls(
            database_url=_database_url(env),
            broker_url=broker,
            result_backend=backend,
            max_records_per_batch=_int(env, "ETL_MAX_RECORDS_PER_BATCH", cls.max_records_per_batch, 1_000_000),
            timeout_seconds=_int(env, "ETL_TIMEOUT_SECONDS", cls.timeout_seconds),
            result_expires=_int(env, "ETL_RESULT_EXPIRES", cls.result_expires),
            task_limits=limits,
            visibility_timeout=_int(env, "ETL_VISIBILITY_TIMEOUT", limits.longest() + max(60, limits.longest() // 4)),
            max_retries=_int(env, "ETL_MAX_RETRIES", cls.max_retries),
            max_deliveries=_int(env, "ETL_MAX_DELIVERIES", cls.max_deliveries),
            worker_lost_seconds=_int(env, "ETL_WORKER_LOST_SECONDS", cls.worker_lost_seconds),
            stall_seconds=_int(env, "ETL_STALL_SECONDS", cls.stall_seconds),
            alerting=Alerting(
                webhook_url=_webhook(env),
                min_quality=_float(env, "ETL_ALERT_MIN_QUALITY", Alerting.min_quality, 0, 100),
                volume_drop=_float(env, "ETL_ALERT_VOLUME_DROP", Alerting.volume_drop, 0, 1),
                slow_window=_int(env, "ETL_ALERT_SLOW_WINDOW", Alerting.slow_window),
                slow_min_runs=_int(env, "ETL_ALERT_SLOW_MIN_RUNS", Alerting.slow_min_runs),
            ),
            linkage=Linkage(
                link_above=_float(env, "ETL_LINK_ABOVE", Linkage.link_above, -100, 100),
                review_above=_float(env, "ETL_REVIEW_ABOVE", Linkage.review_above, -100, 100),
            ),
            schedule=Schedule(
                staged_seconds=_int(env, "ETL_SCHEDULE_STAGED_SECONDS", Schedule.staged_seconds),
                settle_seconds=_int(env, "ETL_SCHEDULE_SETTLE_SECONDS", Schedule.settle_seconds),
                prune_seconds=_int(env, "ETL_SCHEDULE_PRUNE_SECONDS", Schedule.prune_seconds),
                retention_days=_int(env, "ETL_HISTORY_RETENTION_DAYS", Schedule.retention_days),
            ),
            home=Path(env["ETL_HOME"]) if env.get("ETL_HOME") else DEFAULT_HOME,
            flower_basic_auth=_basic_auth(env, "ETL_FLOWER_BASIC_AUTH"),
            ui_basic_auth=_basic_auth(env, "ETL_UI_BASIC_AUTH"),
            log_format=_choice(env, "ETL_LOG_FORMAT", ("text", "json"), "text"),
            metrics_port=_int(env, "ETL_METRICS_PORT", 0, 65535) or None,
            metrics_address=env.get("ETL_METRICS_ADDRESS") or cls.metrics_address,
            plugin_modules=_modules(env, "ETL_PLUGIN_MODULES"),
        )
        settings.check()
        return settings

    def check(self) -> None:
        """Refuse combinations that would make Celery redeliver running tasks."""
        if self.visibility_timeout <= self.task_limits.longest():
            raise ConfigurationError(
                f"ETL_VISIBILITY_TIMEOUT ({self.visibility_timeout}s) must be larger than the longest task "
                f"time limit ({self.task_limits.longest()}s), or the broker redelivers tasks that still run"
            )
        if self.linkage.review_above > self.linkage.link_above:
            raise ConfigurationError(
                f"ETL_REVIEW_ABOVE ({self.linkage.review_above}) must not be above ETL_LINK_ABOVE "
                f"({self.linkage.link_above}): a pair between them goes to review"
            )

    def with_overrides(self, **changes: object) -> Settings:
        """A copy with some fields changed (tests, CLI flags)."""
        settings = replace(self, **changes)  # type: ignore[arg-type]
        settings.check()
        return settings

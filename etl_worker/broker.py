"""Which broker a URL names, and whether it answers: Redis (the embedded default) or RabbitMQ (AMQP).

RabbitMQ is reached through kombu's py-amqp transport, as Celery does; the result backend stays Redis.
"""

from __future__ import annotations

import redis
from kombu import Connection

from etl_worker.errors import ConfigurationError
from etl_worker.redact import redact_url

REDIS_SCHEMES = ("redis", "rediss", "redis+socket", "unix")
AMQP_SCHEMES = ("amqp", "amqps", "pyamqp")


def is_amqp(url: str) -> bool:
    return url.partition("://")[0].lower() in AMQP_SCHEMES


def redis_client(url: str) -> redis.Redis:
    """A redis-py client for a Redis broker or backend URL. kombu and Celery read ``redis+socket://PATH``;
    redis-py calls the same socket ``unix://PATH``."""
    if url.startswith("redis+socket://"):
        url = "unix://" + url.removeprefix("redis+socket://")
    return redis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=5, health_check_interval=15)


def check_reachable(url: str) -> None:
    """Raise one readable line (password hidden) when the broker or result backend does not answer."""
    if not is_amqp(url):
        try:
            redis_client(url).ping()
        except (redis.RedisError, OSError) as exc:
            raise ConfigurationError(f"cannot reach Redis at {redact_url(url)}: {exc}") from None
        return
    try:
        with Connection(url, connect_timeout=5) as conn:
            conn.ensure_connection(max_retries=1)
    except Exception as exc:
        raise ConfigurationError(f"cannot reach RabbitMQ at {redact_url(url)}: {exc}") from None


def queue_depths(url: str, queues: list[str]) -> dict[str, int]:
    """Messages waiting in each queue (not those a worker holds unacknowledged), on either broker."""
    from kombu.exceptions import ChannelError

    depths = {}
    with Connection(url, connect_timeout=5) as conn:
        channel = conn.default_channel
        for queue in queues:
            try:
                depths[queue] = int(channel.queue_declare(queue=queue, passive=True).message_count)
            except ChannelError:  # not declared yet (Redis: an empty queue has no key)
                depths[queue] = 0
    return depths

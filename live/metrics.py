"""`daymark_live_sockets` in /metrics: the sockets open now. In prometheus_client's multiprocess mode (the
ASGI process sharing PROMETHEUS_MULTIPROC_DIR with gunicorn) every process's count is summed over the
processes alive."""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from prometheus_client import Gauge
from prometheus_client.core import GaugeMetricFamily

live_sockets = Gauge("daymark_live_sockets", "Live-update WebSockets open now.", multiprocess_mode="livesum")

# Each ASGI process writes its count here every LIVE_SOCKETS_REPORT_SECONDS (live/hub.py); a count older
# than STALE_AFTER reports is a process that is gone.
STALE_AFTER = 3


def sockets_key() -> str:
    return f"{settings.LIVE_KEY_PREFIX}:sockets"


def process_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


async def report(client: Any, count: int) -> None:
    """This process's count, in the hash every process shares (from the ASGI process's loop)."""
    value = json.dumps({"sockets": count, "at": time.time()})
    async with client.pipeline(transaction=False) as pipe:
        pipe.hset(sockets_key(), process_name(), value)
        pipe.expire(sockets_key(), int(settings.LIVE_SOCKETS_REPORT_SECONDS * STALE_AFTER) + 60)
        await pipe.execute()


def open_sockets() -> int | None:
    """The sockets open over every ASGI process sharing this Redis, as they last reported; None without
    Redis (one process: its own gauge is the count) or while Redis fails."""
    if not settings.REDIS_URL:
        return None
    import redis

    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=0.5, socket_timeout=0.5)
        reports = client.hgetall(sockets_key())
    except redis.RedisError:
        return None
    oldest = time.time() - settings.LIVE_SOCKETS_REPORT_SECONDS * STALE_AFTER
    total = 0
    for value in reports.values():
        found = json.loads(value)
        if found["at"] >= oldest:
            total += int(found["sockets"])
    return total


class AllSocketsCollector:
    """`daymark_live_sockets_all` in every process's /metrics and in the back office: the same number
    everywhere (take one scrape's, do not sum it over targets)."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        count = open_sockets()
        if count is not None:
            yield GaugeMetricFamily(
                "daymark_live_sockets_all",
                "Live-update WebSockets open over every ASGI process sharing Redis, as each last reported.",
                value=count,
            )

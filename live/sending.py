"""Publishing live-update events (live/hub.py) from synchronous code (after a commit in a request, a signal
receiver) and from the sockets' own event loop (presence, typing).

With Redis, an event is one PUBLISH. From synchronous code it goes through one event loop of the process's
own, in a thread, and is not waited for: the request that committed the write does not wait on Redis, and
the connection stays open between writes. While Redis fails, publishing is skipped for CACHE_RETRY_SECONDS
after each failure (a poke is a hint: clients sync on connect anyway). Without Redis (one process, the
embedded default) the event goes straight to the process's own sockets.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from typing import Any

from django.conf import settings

from live.hub import Event, channel_name, encode, hub

logger = logging.getLogger("daymark.live")

# A publish that takes longer is abandoned (Redis unreachable): the next one after the pause tries again.
SEND_TIMEOUT_SECONDS = 1.0


class _Loop:
    """An event loop in a daemon thread, one per process (made again in a forked child)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pid = 0
        self._loop: asyncio.AbstractEventLoop | None = None

    def get(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._pid != os.getpid():
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="live-sender", daemon=True).start()
                self._loop, self._pid = loop, os.getpid()
            return self._loop


_loop = _Loop()
# redis.asyncio clients belong to the event loop that made them: one per loop (the sender's, the server's).
_clients: dict[int, tuple[str, Any]] = {}
_paused_until = 0.0
_last_logged = 0.0


def _failed(error: BaseException) -> None:
    global _paused_until, _last_logged
    now = time.monotonic()
    _paused_until = now + settings.CACHE_RETRY_SECONDS
    if now - _last_logged >= settings.DEPENDENCY_LOG_INTERVAL_SECONDS:
        _last_logged = now
        logger.warning("live updates: publishing to Redis failed (%s); pokes paused", type(error).__name__)


def _client(url: str) -> Any:
    import redis.asyncio

    loop = id(asyncio.get_running_loop())
    found = _clients.get(loop)
    if found is None or found[0] != url:
        client = redis.asyncio.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=1)
        found = _clients[loop] = (url, client)
    return found[1]


async def _publish(url: str, channel: str, payload: str) -> None:
    await asyncio.wait_for(_client(url).publish(channel, payload), timeout=SEND_TIMEOUT_SECONDS)


_order: dict[int, asyncio.Lock] = {}


async def _publish_in_order(url: str, channel: str, payload: str) -> None:
    """One at a time, in the order they were sent (the lock is fair, and tasks start in the order the
    sender thread's loop received them): a process's events reach every subscriber in commit order."""
    lock = _order.setdefault(id(asyncio.get_running_loop()), asyncio.Lock())
    async with lock:
        await _publish(url, channel, payload)


def _done(future: Any) -> None:
    error = future.exception()
    if error is not None:
        _failed(error)


def send(event: Event) -> None:
    """Publishes the event from synchronous code; never raises."""
    if not event or time.monotonic() < _paused_until:
        return
    try:
        if settings.REDIS_URL:
            coroutine = _publish_in_order(settings.REDIS_URL, channel_name(), encode(event))
            asyncio.run_coroutine_threadsafe(coroutine, _loop.get()).add_done_callback(_done)
        else:
            hub.deliver_here(event)
    except Exception as error:  # a poke is a hint: nothing that committed may fail for it
        _failed(error)


async def publish(event: Event) -> None:
    """Publishes the event from the sockets' event loop; never raises."""
    if time.monotonic() < _paused_until:
        return
    try:
        if settings.REDIS_URL:
            await _publish(settings.REDIS_URL, channel_name(), encode(event))
        else:
            hub.deliver(event)
    except Exception as error:  # presence and typing are best effort
        _failed(error)

"""Channel-layer sends from synchronous code (after a commit in a request, a signal receiver).

With Redis, sends go through one event loop of the process's own, in a thread, and are not waited for: the
request that committed the write does not wait on Redis, and connections stay open between writes. While
Redis fails, sends are skipped for CACHE_RETRY_SECONDS after each failure (a poke is a hint: clients sync
on connect anyway). The in-memory layer (one process, the embedded default) is only reachable from the
server's own event loop, so there `async_to_sync` runs the send there.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Iterable
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings

logger = logging.getLogger("daymark.live")

Message = tuple[str, dict[str, Any]]
# A send that takes longer is abandoned (Redis unreachable): the next one after the pause tries again.
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
_paused_until = 0.0
_last_logged = 0.0


def _failed(error: BaseException) -> None:
    global _paused_until, _last_logged
    now = time.monotonic()
    _paused_until = now + settings.CACHE_RETRY_SECONDS
    if now - _last_logged >= settings.DEPENDENCY_LOG_INTERVAL_SECONDS:
        _last_logged = now
        logger.warning("live updates: the channel layer failed (%s); pokes paused", type(error).__name__)


async def _send_all(messages: list[Message]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    await asyncio.wait_for(
        asyncio.gather(*(layer.group_send(group, message) for group, message in messages)),
        timeout=SEND_TIMEOUT_SECONDS,
    )


def _done(future: Any) -> None:
    error = future.exception()
    if error is not None:
        _failed(error)


def send(messages: Iterable[Message]) -> None:
    """Sends each (group, message); never raises."""
    batch = list(messages)
    if not batch or time.monotonic() < _paused_until:
        return
    try:
        if settings.REDIS_URL:
            asyncio.run_coroutine_threadsafe(_send_all(batch), _loop.get()).add_done_callback(_done)
        else:
            async_to_sync(_send_all)(batch)
    except Exception as error:  # a poke is a hint: nothing that committed may fail for it
        _failed(error)

"""The one clock of an ASGI process's sockets (docs/api/live.md, docs/performance.md).

A socket needs three things on a schedule: a `ping` every heartbeat, closing (4408) once its client has been
silent for three heartbeats, and its presence entries written again before they expire. One task per
process does all three for every socket, instead of a timer task per socket (1,000 sockets were 1,000 tasks
waking every second):

- every second (or the heartbeat, if shorter) it asks each socket whether a ping or the silence close is
  due (`Ticking.tick`: a few comparisons; a socket whose ping is due gets it through its own inbox, so a
  slow client holds up only itself). Each socket's pings keep the phase of its connect, so they are spread
  over the heartbeat rather than sent all at once;
- every LIVE_PRESENCE_REFRESH_SECONDS it writes every socket's presence entries again with a new expiry,
  a few commands per workspace space in one pipeline (live/presence.py), then looks in the spaces its
  sockets are in for expired entries (the sockets of a process that died) and prunes and broadcasts those.
  The refresh runs beside the heartbeats, so a slow or failing Redis delays no ping.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Protocol

from django.conf import settings

from live import presence
from live.presence import Entry

logger = logging.getLogger("daymark.live")


class Ticking(Protocol):
    """What the ticker holds: a consumer (live/consumers.py)."""

    channel_name: str
    closing: bool
    spaces: dict[int, str]  # the workspaces it is in: space id -> workspace id

    def tick(self, now: float) -> None:
        """Hands the socket a ping or the silence close when one is due (`now`: time.monotonic())."""
        ...

    def entry(self, space_id: int) -> Entry:
        """Its presence entry in that workspace."""
        ...


def heartbeat() -> float:
    return float(settings.LIVE_HEARTBEAT_SECONDS)


class Ticker:
    def __init__(self) -> None:
        self.sockets: set[Ticking] = set()
        self.loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._refreshing: asyncio.Task[None] | None = None

    def add(self, socket: Ticking) -> None:
        self.sockets.add(socket)
        self._start()

    def remove(self, socket: Ticking) -> None:
        self.sockets.discard(socket)

    def _start(self) -> None:
        loop = asyncio.get_running_loop()
        if self.loop is not loop or self._task is None or self._task.done():
            self.loop = loop
            self._task = loop.create_task(self._run())

    async def _run(self) -> None:
        refresh = float(settings.LIVE_PRESENCE_REFRESH_SECONDS)
        step = min(heartbeat(), refresh, 1.0)
        last_refresh = time.monotonic()
        while True:
            await asyncio.sleep(step)
            now = time.monotonic()
            for socket in list(self.sockets):
                try:
                    socket.tick(now)
                except Exception:  # one socket's failure stops no other socket's heartbeat
                    logger.exception("live ticker: a socket's tick failed")
            if now - last_refresh >= refresh and (self._refreshing is None or self._refreshing.done()):
                last_refresh = now
                self._refreshing = asyncio.get_running_loop().create_task(self.refresh())

    async def refresh(self) -> None:
        """Every socket's presence entries written again; then the spaces with expired entries pruned and
        broadcast (their members learn that a dead process's sockets left)."""
        written: list[tuple[Ticking, int]] = []
        spaces: dict[int, dict[str, Entry]] = {}
        workspaces: dict[int, str] = {}
        for socket in list(self.sockets):
            if socket.closing:
                continue
            for space_id, workspace_id in socket.spaces.items():
                spaces.setdefault(space_id, {})[socket.channel_name] = socket.entry(space_id)
                workspaces[space_id] = workspace_id
                written.append((socket, space_id))
        if not spaces:
            return
        store = presence.store()
        try:
            await store.refresh(spaces)
            # A socket that closed or left a workspace while the pipeline ran: its entry came back; remove
            # it again (the socket's own leave may have run first).
            for socket, space_id in written:
                if socket.closing or socket not in self.sockets or space_id not in socket.spaces:
                    await store.leave(space_id, socket.channel_name)
            expired = await store.expired(list(spaces))
        except Exception as error:  # presence is best effort: the next refresh tries again
            logger.warning("live presence refresh failed: %s", type(error).__name__)
            return
        for space_id in expired:
            await presence.broadcast(space_id, workspaces[space_id], only_if_pruned=True)

    async def stop(self) -> None:
        """Tests: the ticker of a loop that ends."""
        for task in (self._task, self._refreshing):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self._task = self._refreshing = None


ticker = Ticker()

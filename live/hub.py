"""How a change reaches the sockets: one broadcast per event for every ASGI process, and an index of this
process's own sockets (docs/api/live.md, docs/performance.md).

An event is one JSON object, published once whatever the number of sockets it concerns:

    {"poke": [user ids], "membership": {"users": [...], "spaces": [...]}, "revoke": [user ids],
     "presence": {"space": id, "message": {...}},
     "typing": {"space": id, "workspace": id, "item": id, "user": id}}

(every key optional). With Redis (REDIS_URL) it is PUBLISHed on one pub/sub channel,
`<LIVE_KEY_PREFIX>:live`; every process that holds sockets subscribes to it once (the first socket starts
the subscription) and looks the user and space ids up in its own index, user id -> sockets and workspace
space id -> sockets, then hands each socket it finds one message in its inbox. A commit that pokes 100
sockets costs one PUBLISH and, in each ASGI process, one dict lookup per id: nothing per socket in Redis.
Without Redis (the embedded default: one process serves HTTP and WebSocket) the event is handed to the
index directly, on the server's event loop.

Pub/sub keeps nothing for a subscriber that is not connected: when the subscription is made again after
Redis failed, every socket of the process is told to re-read its workspaces and to sync (a poke is a hint,
and a missed one is made good that way).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from typing import Any, Protocol

from django.conf import settings

logger = logging.getLogger("daymark.live")

Event = dict[str, Any]

# The same message object for every socket (nothing is built per socket).
POKE: dict[str, Any] = {"type": "live.poke"}
REVOKE: dict[str, Any] = {"type": "live.revoke"}
MEMBERSHIP: dict[str, Any] = {"type": "live.membership"}
PING: dict[str, Any] = {"type": "live.ping"}
SILENT: dict[str, Any] = {"type": "live.silent"}

# Waiting for the subscription before a socket reads its workspaces: longer only while Redis fails.
READY_TIMEOUT_SECONDS = 2.0
RETRY_SECONDS = (0.1, 0.5, 1.0, 2.0, 5.0)


class Socket(Protocol):
    """What the index holds: a consumer (live/consumers.py), or anything that takes messages."""

    def hub_put(self, message: dict[str, Any]) -> None: ...


def channel_name() -> str:
    return f"{settings.LIVE_KEY_PREFIX}:live"


class Hub:
    def __init__(self) -> None:
        self.users: dict[str, set[Socket]] = {}
        self.spaces: dict[int, set[Socket]] = {}
        self.loop: asyncio.AbstractEventLoop | None = None
        self._listener: asyncio.Task[None] | None = None
        self._reporter: asyncio.Task[None] | None = None
        self._ready: asyncio.Event | None = None
        self._lock = threading.Lock()

    # --- the index (only on the event loop that holds the sockets) ----------------------------------------

    def add_user(self, user_id: Any, socket: Socket) -> None:
        self.users.setdefault(str(user_id), set()).add(socket)

    def remove_user(self, user_id: Any, socket: Socket) -> None:
        _discard(self.users, str(user_id), socket)

    def add_space(self, space_id: int, socket: Socket) -> None:
        self.spaces.setdefault(int(space_id), set()).add(socket)

    def remove_space(self, space_id: int, socket: Socket) -> None:
        _discard(self.spaces, int(space_id), socket)

    def sockets(self) -> int:
        return len({socket for sockets in self.users.values() for socket in sockets})

    def deliver(self, event: Event) -> None:
        """Hands the event's messages to this process's sockets: at most one of each kind per socket."""
        # Membership first: a socket re-reads its workspaces before the poke of the same commit, so the sync
        # the client answers with sees its access as it now is.
        membership = event.get("membership")
        if membership:
            told: set[Socket] = set()
            for space_id in membership.get("spaces", ()):
                told.update(self.spaces.get(int(space_id), ()))
            for user_id in membership.get("users", ()):
                told.update(self.users.get(str(user_id), ()))
            for socket in told:
                socket.hub_put(MEMBERSHIP)
        for user_id in event.get("poke", ()):
            for socket in self.users.get(str(user_id), ()):
                socket.hub_put(POKE)
        for user_id in event.get("revoke", ()):
            for socket in self.users.get(str(user_id), ()):
                socket.hub_put(REVOKE)
        # Presence and typing are encoded once here, not once per socket: every member gets the same text.
        presence = event.get("presence")
        if presence:
            text = encode(presence["message"])
            message = {"type": "live.presence", "space": presence["space"], "text": text}
            for socket in self.spaces.get(int(presence["space"]), ()):
                socket.hub_put(message)
        typing = event.get("typing")
        if typing:
            message = {"type": "live.typing"} | typing
            if "workspace" in typing:
                shown = {"type": "typing", "workspace": typing["workspace"], "item": typing["item"]}
                message["text"] = encode(shown | {"user": typing["user"]})
            for socket in self.spaces.get(int(typing["space"]), ()):
                socket.hub_put(message)

    def _everyone(self) -> None:
        """After the subscription was lost: every socket re-reads its workspaces and syncs."""
        for socket in {socket for sockets in self.users.values() for socket in sockets}:
            socket.hub_put(MEMBERSHIP)
            socket.hub_put(POKE)

    # --- this process's subscription (ASGI processes, from their first socket) ------------------------------

    async def start(self) -> None:
        """Called by each socket before it reads what it may see: from then on, events reach it. Waits
        for the subscription (at most READY_TIMEOUT_SECONDS: while Redis fails the socket goes on)."""
        loop = asyncio.get_running_loop()
        if self.loop is not loop:
            self.loop = loop
            self._listener = None
        if not settings.REDIS_URL:
            return
        if self._listener is None or self._listener.done():
            self._ready = asyncio.Event()
            self._listener = loop.create_task(self._listen(settings.REDIS_URL, channel_name()))
            self._reporter = loop.create_task(self._report(settings.REDIS_URL))
        assert self._ready is not None
        if not self._ready.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._ready.wait(), READY_TIMEOUT_SECONDS)

    async def _listen(self, url: str, channel: str) -> None:
        import redis.asyncio
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        failures = 0
        lost = False
        while True:
            # No silent reconnection inside redis-py: a lost connection comes here, so the sockets resync.
            client = redis.asyncio.Redis.from_url(
                url,
                socket_connect_timeout=0.5,
                health_check_interval=30,
                retry=Retry(NoBackoff(), 0),
                client_name=channel,
            )
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(channel)
                failures = 0
                assert self._ready is not None
                self._ready.set()
                if lost:
                    lost = False
                    self._everyone()
                async for message in pubsub.listen():
                    if message.get("type") != "message":
                        continue
                    try:
                        event = json.loads(message["data"])
                    except ValueError:
                        continue
                    self.deliver(event)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # Redis went away: subscribe again, and tell every socket to resync
                lost = True
                if failures == 0:
                    logger.warning("live updates: the pub/sub subscription failed (%s)", type(error).__name__)
                await asyncio.sleep(RETRY_SECONDS[min(failures, len(RETRY_SECONDS) - 1)])
                failures += 1
            finally:
                try:
                    await pubsub.aclose()
                    await client.aclose()
                except Exception:  # noqa: S110 - closing a broken connection may fail too
                    pass

    async def _report(self, url: str) -> None:
        """How many sockets this process holds, into Redis every LIVE_SOCKETS_REPORT_SECONDS (the back
        office's count: live.metrics.open_sockets)."""
        import redis.asyncio

        from live.metrics import report

        client = redis.asyncio.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=1)
        while True:
            try:
                await report(client, self.sockets())
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: S110 - a count is best effort; the next report tries again
                pass
            await asyncio.sleep(float(settings.LIVE_SOCKETS_REPORT_SECONDS))

    # --- publishing ---------------------------------------------------------------------------------------

    def deliver_here(self, event: Event) -> None:
        """Without Redis: the event reaches this process's sockets on their own loop (from any thread)."""
        loop = self.loop
        if loop is None or loop.is_closed():
            self.deliver(event)
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self.deliver(event)
        else:
            loop.call_soon_threadsafe(self.deliver, event)


def _discard(index: dict[Any, set[Socket]], key: Any, socket: Socket) -> None:
    sockets = index.get(key)
    if sockets is not None:
        sockets.discard(socket)
        if not sockets:
            del index[key]


def encode(event: Event) -> str:
    return json.dumps(event, separators=(",", ":"))


hub = Hub()

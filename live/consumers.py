"""The live-updates socket, `/api/v1/stream` (docs/api/live.md).

One consumer per socket. It registers in its process's index (live/hub.py) under its user (pokes,
membership changes, revoked credentials) and under each workspace the user is a member of (presence,
typing, membership changes there), and answers the client's frames under the contract's limits; the
process's ticker (live/ticker.py) pings it every heartbeat, closes it after three heartbeats of silence
and keeps its presence entries fresh in the shared store. Memberships are read again whenever a member
record of one of those workspaces, or of the user, commits, so access follows membership without
reconnecting. The hub and the ticker hand it messages through an inbox that the consumer reads in turn
with the client's frames, so one socket handles one thing at a time; the channel layer is not used. The
frames that every socket gets alike (sync, ping, presence, typing) are encoded once, not per socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from typing import Any
from uuid import UUID, uuid4

from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from live import hub as hub_messages
from live import presence, sending
from live.auth import Refused, socket_user
from live.hub import hub
from live.metrics import live_sockets
from live.selectors import in_thread, item_space, list_in_space, socket_spaces, workspace_of
from live.ticker import heartbeat, ticker

logger = logging.getLogger("daymark.live")

UNAUTHORIZED = 4401
TOO_MANY_FRAMES = 4429
# A refused credential from an address that has used up its failed authentications (REST answers 429).
TOO_MANY_FAILURES = 4429
SILENT = 4408
# Messages waiting for a socket beyond which pokes are dropped (they are hints, and those waiting suffice).
INBOX_LIMIT = 256
# Client frames handed to the inbox and not yet handled beyond which the socket stops reading (the server
# then reads no more from the connection until they are handled).
FRAMES_WAITING = 8

# What every socket sends alike, as uvicorn takes it: built once.
_SYNC = {"type": "websocket.send", "text": '{"type":"sync"}'}
_PING = {"type": "websocket.send", "text": '{"type":"ping"}'}
_PONG = {"type": "websocket.send", "text": '{"type":"pong"}'}


class StreamConsumer(AsyncWebsocketConsumer):
    user_id: str = ""
    closing = False
    cleaned_up = False  # disconnect() ran: out of the ticker, the hub and presence
    # Set by connect() for an accepted socket, which is then in the ticker (tick).
    silenced = False
    next_ping = 0.0
    last_received = 0.0
    silent_after = 0.0
    heartbeat_seconds = 0.0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """AsyncConsumer's, with the hub's inbox in place of a channel-layer channel: one task reads the
        server's messages into the inbox, this one handles the inbox in turn (a poke wakes only this task;
        channels' await_many_dispatch made a task and an asyncio.wait for every message)."""
        self.scope = scope
        self.channel_layer = None
        # This socket's key in the presence store, unique across processes.
        self.channel_name = uuid4().hex
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.base_send = send
        self.frames_waiting = 0
        self.handled = asyncio.Event()
        reader = asyncio.get_running_loop().create_task(self._read(receive))
        try:
            with contextlib.suppress(StopConsumer):
                while True:
                    message = await self.inbox.get()
                    if message["type"].startswith("websocket."):
                        self.frames_waiting -= 1
                        if self.frames_waiting < FRAMES_WAITING:
                            self.handled.set()
                    await self._route(message)
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
            # However the socket ended (a handler's failure, a database error in one of its reads, the
            # task cancelled), it leaves the ticker, the hub and presence: otherwise the ticker would keep
            # writing its presence entry, and its user would show as present, for as long as the process
            # lives. After a clean disconnect this finds nothing left to do.
            if not self.cleaned_up:
                with contextlib.suppress(Exception):
                    await self.disconnect(1011)

    async def _read(self, receive: Any) -> None:
        while True:
            message = await receive()
            self.frames_waiting += 1
            self.inbox.put_nowait(message)
            if message["type"] == "websocket.disconnect":
                return
            if self.frames_waiting >= FRAMES_WAITING:
                self.handled.clear()
                await self.handled.wait()

    async def _route(self, message: dict[str, Any]) -> None:
        """Each message to its handler. AsyncConsumer.dispatch is not used: it sends every message through
        Django's connection check in the one thread all sockets share for the database, and a client's
        frames (pings every 20 s from 1,000 sockets) queued there held up the pokes behind them. The
        handlers that read the database do it through `in_thread`, which makes that check."""
        handler = _INBOX.get(message["type"]) or _CLIENT.get(message["type"])
        if handler is None:
            raise ValueError(f"no handler for {message['type']}")
        await handler(self, message)

    def hub_put(self, message: dict[str, Any]) -> None:
        """From the hub and the ticker (on this loop): one poke per commit. Only a socket whose inbox is
        full (its client stopped reading) has pokes dropped, which loses nothing: the ones waiting cause a
        sync after them."""
        if message["type"] == "live.poke" and self.inbox.qsize() >= INBOX_LIMIT:
            return
        self.inbox.put_nowait(message)

    def tick(self, now: float) -> None:
        """From the process's ticker, about every second: a ping when one is due, or the close when the
        client has been silent for three heartbeats."""
        if self.closing or self.silenced:
            return
        if now - self.last_received > self.silent_after:
            self.silenced = True
            self.hub_put(hub_messages.SILENT)
        elif now >= self.next_ping:
            self.next_ping = now + self.heartbeat_seconds
            self.hub_put(hub_messages.PING)

    async def connect(self) -> None:
        user = await in_thread(socket_user)(self.scope)
        await self.accept()
        if isinstance(user, Refused):
            self.closing = True
            await self.close(code=UNAUTHORIZED if user.retry_after is None else TOO_MANY_FAILURES)
            return
        self.user_id = str(user.pk)
        self.display_name = user.display_name or user.email.split("@")[0]
        self.spaces: dict[int, str] = {}  # workspace space id -> workspace id
        self.viewing: dict[int, tuple[str | None, float]] = {}
        self.sent_presence: dict[int, Any] = {}
        self.frames: deque[float] = deque()
        self.last_typing = -1e9
        self.last_received = time.monotonic()
        self.heartbeat_seconds = heartbeat()
        self.silent_after = 3 * self.heartbeat_seconds
        self.next_ping = self.last_received + self.heartbeat_seconds
        self.silenced = False
        self.personal_space: int | None = None
        await hub.start()
        hub.add_user(self.user_id, self)
        # Read after registering under the user: a membership change or a revocation that commits from
        # here on reaches this socket; one that committed before is in what this reads.
        found = await in_thread(socket_spaces)(self.user_id)
        if found is None:
            await self._refuse()
            return
        self.personal_space, workspaces = found
        live_sockets.inc()
        self.counted = True
        await self.send_json({"type": "hello", "user": self.user_id, "heartbeat": _heartbeat()})
        for space_id, workspace_id in workspaces.items():
            await self._enter(space_id, workspace_id)
        ticker.add(self)

    async def disconnect(self, code: int) -> None:
        self.closing = True
        self.cleaned_up = True
        ticker.remove(self)
        if not self.user_id:
            return
        if getattr(self, "counted", False):
            live_sockets.dec()
            self.counted = False
        hub.remove_user(self.user_id, self)
        for space_id in list(getattr(self, "spaces", {})):
            await self._leave(space_id)

    # --- frames from the client ---------------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.closing or not self.user_id:
            return
        now = time.monotonic()
        self.last_received = now
        self.frames.append(now)
        while self.frames and self.frames[0] <= now - 1.0:
            self.frames.popleft()
        if len(self.frames) > settings.LIVE_MAX_FRAMES_PER_SECOND:
            self.closing = True
            await self.close(code=TOO_MANY_FRAMES)
            return
        if text_data is None:
            await self._error("not_json", "Frames are JSON text.")
            return
        if len(text_data) > settings.LIVE_MAX_FRAME_BYTES or (
            len(text_data.encode()) > settings.LIVE_MAX_FRAME_BYTES
        ):
            await self._error("too_large", f"A frame holds at most {settings.LIVE_MAX_FRAME_BYTES} bytes.")
            return
        try:
            frame = json.loads(text_data)
        except ValueError:
            await self._error("not_json", "Frames are JSON text.")
            return
        kind = frame.get("type") if isinstance(frame, dict) else None
        handler = _HANDLERS.get(kind) if isinstance(kind, str) else None
        if handler is None:
            await self._error("unknown_type", "type is one of viewing, typing, ping.")
            return
        await handler(self, frame)

    async def _ping(self, frame: dict[str, Any]) -> None:
        await self._send(_PONG)

    async def _viewing(self, frame: dict[str, Any]) -> None:
        workspace, list_id = _uuid(frame.get("workspace")), frame.get("list")
        if workspace is None or (list_id is not None and _uuid(list_id) is None) or set(frame) - _VIEWING:
            await self._error("invalid", "viewing needs workspace (an id) and list (an id or null).")
            return
        space_id = next((s for s, w in self.spaces.items() if w == workspace), None)
        if space_id is None or (
            list_id is not None and not await in_thread(list_in_space)(list_id, space_id)
        ):
            await self._error("not_found", "No such workspace or list among yours.")
            return
        self.viewing[space_id] = (list_id, time.time())
        await self._store_call(presence.store().put(space_id, self.channel_name, self._entry(space_id)))
        await self._broadcast_presence(space_id)

    async def _typing(self, frame: dict[str, Any]) -> None:
        item = _uuid(frame.get("item"))
        if item is None or set(frame) - _TYPING:
            await self._error("invalid", "typing needs item (an id).")
            return
        now = time.monotonic()
        if now - self.last_typing < settings.LIVE_TYPING_INTERVAL_SECONDS:
            return  # throttled: at most one forwarded per interval, the others dropped quietly
        space_id = await in_thread(item_space)(item)
        if space_id is not None and space_id == self.personal_space:
            return  # nobody else sees a personal item
        if space_id is None or space_id not in self.spaces:
            await self._error("not_found", "No such item among yours.")
            return
        self.last_typing = now
        typing = {"space": space_id, "workspace": self.spaces[space_id], "item": item, "user": self.user_id}
        await sending.publish({"typing": typing})

    async def _error(self, code: str, detail: str) -> None:
        await self.send_json({"type": "error", "code": code, "detail": detail})

    # --- messages from the channel layer ------------------------------------------------------------------

    async def live_poke(self, event: dict[str, Any]) -> None:
        await self._send(_SYNC)

    async def live_ping(self, event: dict[str, Any]) -> None:
        await self._send(_PING)

    async def live_silent(self, event: dict[str, Any]) -> None:
        if not self.closing:
            self.closing = True
            await self.close(code=SILENT)

    async def live_revoke(self, event: dict[str, Any]) -> None:
        await self._refuse()

    async def live_membership(self, event: dict[str, Any]) -> None:
        found = await in_thread(socket_spaces)(self.user_id)
        if found is None:
            await self._refuse()
            return
        _, workspaces = found
        lost = [space_id for space_id in self.spaces if space_id not in workspaces]
        gained = {s: w for s, w in workspaces.items() if s not in self.spaces}
        for space_id in lost:
            await self._leave(space_id)
        for space_id, workspace_id in gained.items():
            await self._enter(space_id, workspace_id)
        if lost or gained:
            # The feed now holds the workspace's tombstone, or the whole workspace.
            await self.send_json({"type": "sync"})

    async def live_presence(self, event: dict[str, Any]) -> None:
        space_id = event["space"]
        if space_id in self.spaces and self.sent_presence.get(space_id) != event["text"]:
            self.sent_presence[space_id] = event["text"]
            await self._send({"type": "websocket.send", "text": event["text"]})

    async def live_typing(self, event: dict[str, Any]) -> None:
        space_id = event["space"]
        if space_id in self.spaces and event["user"] != self.user_id:
            text = event.get("text")
            if text is None:  # from a process that publishes typing without its workspace
                message = {"type": "typing", "workspace": self.spaces[space_id], "item": event["item"]}
                text = json.dumps(message | {"user": event["user"]}, separators=(",", ":"))
            await self._send({"type": "websocket.send", "text": text})

    # --- workspaces, presence, heartbeats -----------------------------------------------------------------

    def _entry(self, space_id: int) -> dict[str, Any]:
        viewing, at = self.viewing.get(space_id, (None, 0.0))
        return {"user": self.user_id, "display_name": self.display_name, "viewing": viewing, "at": at}

    def entry(self, space_id: int) -> dict[str, Any]:
        """Its presence entry in that workspace (live/ticker.py refreshes it)."""
        return self._entry(space_id)

    async def _enter(self, space_id: int, workspace_id: str) -> None:
        self.spaces[space_id] = workspace_id
        hub.add_space(space_id, self)
        await self._store_call(presence.store().put(space_id, self.channel_name, self._entry(space_id)))
        await self._broadcast_presence(space_id)

    async def _leave(self, space_id: int) -> None:
        workspace_id = self.spaces.pop(space_id, None)
        self.viewing.pop(space_id, None)
        self.sent_presence.pop(space_id, None)
        hub.remove_space(space_id, self)
        await self._store_call(presence.store().leave(space_id, self.channel_name))
        await self._broadcast_presence(space_id, workspace_id)

    async def _broadcast_presence(self, space_id: int, workspace_id: str | None = None) -> None:
        workspace = workspace_id or self.spaces.get(space_id) or await in_thread(workspace_of)(space_id)
        if workspace is not None:
            await presence.broadcast(space_id, workspace)

    async def _store_call(self, call: Any) -> Any:
        try:
            return await call
        except Exception as error:  # presence is best effort: the socket and its pokes go on
            logger.warning("live presence store failed: %s", type(error).__name__)
            return None

    async def _refuse(self) -> None:
        if not self.closing:
            self.closing = True
            await self.close(code=UNAUTHORIZED)

    async def send_json(self, content: dict[str, Any]) -> None:
        await self._send({"type": "websocket.send", "text": json.dumps(content, separators=(",", ":"))})

    async def _send(self, message: dict[str, Any]) -> None:
        """Straight to the server (no wrapper of channels'). Once the socket is closing (by us, or gone), a
        poke or presence that was on its way is dropped: the server may not send after its close, and the
        client syncs when it connects again."""
        if self.closing:
            return
        try:
            await self.base_send(message)
        except OSError:  # the client went away (uvicorn's ClientDisconnected); its disconnect is on its way
            self.closing = True


def _heartbeat() -> int | float:
    seconds = float(settings.LIVE_HEARTBEAT_SECONDS)
    return int(seconds) if seconds.is_integer() else seconds


def _uuid(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return str(UUID(value))
    except ValueError:
        return None


_VIEWING = frozenset({"type", "workspace", "list"})
_TYPING = frozenset({"type", "item"})
# The hub's messages (live/hub.py).
_INBOX = {
    "live.poke": StreamConsumer.live_poke,
    "live.ping": StreamConsumer.live_ping,
    "live.silent": StreamConsumer.live_silent,
    "live.revoke": StreamConsumer.live_revoke,
    "live.membership": StreamConsumer.live_membership,
    "live.presence": StreamConsumer.live_presence,
    "live.typing": StreamConsumer.live_typing,
}
# The server's messages about the client's socket (AsyncWebsocketConsumer's handlers).
_CLIENT = {
    "websocket.connect": StreamConsumer.websocket_connect,
    "websocket.receive": StreamConsumer.websocket_receive,
    "websocket.disconnect": StreamConsumer.websocket_disconnect,
}
_HANDLERS = {
    "ping": StreamConsumer._ping,
    "viewing": StreamConsumer._viewing,
    "typing": StreamConsumer._typing,
}

"""Who has a socket open in which workspace, and which list it views: shared by every ASGI process.

Redis (when REDIS_URL is set) holds, per workspace space, a sorted set of socket channel names scored by
the time their entry expires and a hash of their entries. Each process's ticker (live/ticker.py) refreshes
all its sockets' entries every LIVE_PRESENCE_REFRESH_SECONDS, a few commands per workspace space in one
pipeline; a process that dies stops refreshing, and its sockets' entries are pruned by the next read after
they expire (at each refresh every process looks for expired entries in the spaces it holds sockets in, and
prunes and broadcasts those spaces), so they leave within TTL + refresh. Without Redis (the embedded
default, one process) a dict does the same.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any, Protocol

from django.conf import settings

logger = logging.getLogger("daymark.live")

Entry = dict[str, Any]
# Spaces per pipeline when a process refreshes or checks all its sockets' entries at once.
CHUNK = 200


class PresenceStore(Protocol):
    async def put(self, space_id: int, channel: str, entry: Entry) -> None: ...

    async def leave(self, space_id: int, channel: str) -> None: ...

    async def refresh(self, spaces: dict[int, dict[str, Entry]]) -> None:
        """Writes these entries ({space id: {channel: entry}}) again with a new expiry."""
        ...

    async def expired(self, space_ids: list[int]) -> list[int]:
        """Those of the spaces that hold an expired entry."""
        ...

    async def entries(self, space_id: int) -> tuple[list[Entry], int]:
        """The live entries, and how many expired ones this read removed."""
        ...


def members(entries: list[Entry]) -> list[dict[str, Any]]:
    """The `members` of a presence message: one per user (a user with several sockets views what they
    chose last), in a stable order."""
    latest: dict[str, Entry] = {}
    for entry in entries:
        seen = latest.get(entry["user"])
        if seen is None or entry["at"] > seen["at"]:
            latest[entry["user"]] = entry
    return [
        {"user": e["user"], "display_name": e["display_name"], "viewing": e["viewing"]}
        for e in sorted(latest.values(), key=lambda e: (e["display_name"].lower(), e["user"]))
    ]


def _ttl() -> float:
    return float(settings.LIVE_PRESENCE_TTL_SECONDS)


class MemoryPresence:
    def __init__(self) -> None:
        self._spaces: dict[int, dict[str, tuple[float, Entry]]] = {}

    async def put(self, space_id: int, channel: str, entry: Entry) -> None:
        self._spaces.setdefault(space_id, {})[channel] = (time.time() + _ttl(), entry)

    async def leave(self, space_id: int, channel: str) -> None:
        sockets = self._spaces.get(space_id, {})
        sockets.pop(channel, None)
        if not sockets:
            self._spaces.pop(space_id, None)

    async def refresh(self, spaces: dict[int, dict[str, Entry]]) -> None:
        for space_id, entries in spaces.items():
            for channel, entry in entries.items():
                await self.put(space_id, channel, entry)

    async def expired(self, space_ids: list[int]) -> list[int]:
        now = time.time()
        return [
            space_id
            for space_id in space_ids
            if any(expires <= now for expires, _ in self._spaces.get(space_id, {}).values())
        ]

    async def entries(self, space_id: int) -> tuple[list[Entry], int]:
        now = time.time()
        sockets = self._spaces.get(space_id, {})
        expired = [channel for channel, (expires, _) in sockets.items() if expires <= now]
        for channel in expired:
            del sockets[channel]
        return [entry for _, entry in sockets.values()], len(expired)


class RedisPresence:
    def __init__(self, url: str, prefix: str) -> None:
        self._url = url
        self._prefix = prefix
        # redis.asyncio clients belong to the event loop that made them.
        self._clients: dict[int, Any] = {}

    def _client(self) -> Any:
        import redis.asyncio

        loop = id(asyncio.get_running_loop())
        client = self._clients.get(loop)
        if client is None:
            client = redis.asyncio.Redis.from_url(self._url, socket_connect_timeout=0.5, socket_timeout=1)
            self._clients[loop] = client
        return client

    def _keys(self, space_id: int) -> tuple[str, str]:
        base = f"{self._prefix}:presence:{space_id}"
        return base, f"{base}:entries"

    async def put(self, space_id: int, channel: str, entry: Entry) -> None:
        scores, entries = self._keys(space_id)
        async with self._client().pipeline(transaction=True) as pipe:
            pipe.zadd(scores, {channel: time.time() + _ttl()})
            pipe.hset(entries, channel, json.dumps(entry))
            # A workspace nobody is in leaves nothing behind.
            pipe.expire(scores, int(_ttl() * 2) + 1)
            pipe.expire(entries, int(_ttl() * 2) + 1)
            await pipe.execute()

    async def leave(self, space_id: int, channel: str) -> None:
        scores, entries = self._keys(space_id)
        async with self._client().pipeline(transaction=True) as pipe:
            pipe.zrem(scores, channel)
            pipe.hdel(entries, channel)
            await pipe.execute()

    async def refresh(self, spaces: dict[int, dict[str, Entry]]) -> None:
        """Writes the entries again with a new expiry, four commands per space whatever the number of its
        sockets: an entry a reader pruned in between (it read the old score just as this ran) comes back."""
        expires = time.time() + _ttl()
        keep = int(_ttl() * 2) + 1
        items = list(spaces.items())
        for start in range(0, len(items), CHUNK):
            async with self._client().pipeline(transaction=False) as pipe:
                for space_id, entries in items[start : start + CHUNK]:
                    if not entries:
                        continue
                    scores, hash_key = self._keys(space_id)
                    pipe.zadd(scores, dict.fromkeys(entries, expires))
                    pipe.hset(hash_key, mapping={channel: json.dumps(e) for channel, e in entries.items()})
                    pipe.expire(scores, keep)
                    pipe.expire(hash_key, keep)
                await pipe.execute()

    async def expired(self, space_ids: list[int]) -> list[int]:
        now = time.time()
        found: list[int] = []
        for start in range(0, len(space_ids), CHUNK):
            chunk = space_ids[start : start + CHUNK]
            async with self._client().pipeline(transaction=False) as pipe:
                for space_id in chunk:
                    pipe.zcount(self._keys(space_id)[0], "-inf", now)
                counts = await pipe.execute()
            found += [space_id for space_id, count in zip(chunk, counts, strict=True) if count]
        return found

    async def entries(self, space_id: int) -> tuple[list[Entry], int]:
        scores, entries = self._keys(space_id)
        client = self._client()
        now = time.time()
        expired = await client.zrangebyscore(scores, "-inf", now)
        if expired:
            async with client.pipeline(transaction=True) as pipe:
                pipe.zrem(scores, *expired)
                pipe.hdel(entries, *expired)
                await pipe.execute()
        alive = await client.zrangebyscore(scores, now, "+inf")
        values = await client.hmget(entries, alive) if alive else []
        return [json.loads(value) for value in values if value is not None], len(expired)


_store: PresenceStore | None = None


def store() -> PresenceStore:
    global _store
    if _store is None:
        if settings.REDIS_URL:
            _store = RedisPresence(settings.REDIS_URL, settings.LIVE_KEY_PREFIX)
        else:
            _store = MemoryPresence()
    return _store


async def broadcast(space_id: int, workspace_id: str, *, only_if_pruned: bool = False) -> None:
    """Sends the workspace's presence as it is now to its members' sockets in every process (one event);
    with only_if_pruned, only when this read removed expired entries (a socket of a dead process). Best
    effort: a failing store sends nothing."""
    from live import sending

    try:
        entries, pruned = await store().entries(space_id)
    except Exception as error:  # presence is best effort: the sockets and their pokes go on
        logger.warning("live presence store failed: %s", type(error).__name__)
        return
    if only_if_pruned and not pruned:
        return
    message = {"type": "presence", "workspace": workspace_id, "members": members(entries)}
    await sending.publish({"presence": {"space": space_id, "message": message}})

"""Who has a socket open in which workspace, and which list it views: shared by every ASGI process.

Redis (when REDIS_URL is set) holds, per workspace space, a sorted set of socket channel names scored by
the time their entry expires and a hash of their entries. Each process refreshes its sockets' scores every
LIVE_PRESENCE_REFRESH_SECONDS; a process that dies stops refreshing, and its sockets' entries are pruned by
the next read after they expire (every live socket reads its workspaces' presence at each refresh), so they
leave within TTL + refresh. Without Redis (the embedded default, one process) a dict does the same.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any, Protocol

from django.conf import settings

Entry = dict[str, Any]


class PresenceStore(Protocol):
    async def put(self, space_id: int, channel: str, entry: Entry) -> None: ...

    async def leave(self, space_id: int, channel: str) -> None: ...

    async def refresh(self, entries: dict[int, Entry], channel: str) -> None: ...

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

    async def refresh(self, entries: dict[int, Entry], channel: str) -> None:
        for space_id, entry in entries.items():
            await self.put(space_id, channel, entry)

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

    async def refresh(self, entries: dict[int, Entry], channel: str) -> None:
        """Writes the socket's entries again with a new expiry: an entry a reader pruned in between (it
        read the old score just as this ran) comes back."""
        if not entries:
            return
        expires = time.time() + _ttl()
        async with self._client().pipeline(transaction=False) as pipe:
            for space_id, entry in entries.items():
                scores, hash_key = self._keys(space_id)
                pipe.zadd(scores, {channel: expires})
                pipe.hset(hash_key, channel, json.dumps(entry))
                pipe.expire(scores, int(_ttl() * 2) + 1)
                pipe.expire(hash_key, int(_ttl() * 2) + 1)
            await pipe.execute()

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

"""The process's ticker and what a socket does on its ticks, in this process without Redis (the embedded
default's path, any database): pings and the silence close when due, every socket ticked every step, one
refresh of every socket's presence that prunes a dead process's entries and tells the space's sockets; and
the one query a socket reads its workspaces with. Against live servers and Redis: test_stream.py."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from live import presence
from live.consumers import StreamConsumer
from live.hub import hub
from live.selectors import socket_spaces
from live.ticker import Ticker
from tests.factories import MemberFactory, UserFactory, WorkspaceFactory


class FakeSocket:
    """What the ticker and the hub hold, keeping what reaches it."""

    def __init__(self, channel: str, spaces: dict[int, str]) -> None:
        self.channel_name = channel
        self.closing = False
        self.spaces = spaces
        self.ticks: list[float] = []
        self.messages: list[dict[str, Any]] = []

    def tick(self, now: float) -> None:
        self.ticks.append(now)

    def entry(self, space_id: int) -> dict[str, Any]:
        return {"user": self.channel_name, "display_name": self.channel_name, "viewing": None, "at": 0.0}

    def hub_put(self, message: dict[str, Any]) -> None:
        self.messages.append(message)


@pytest.fixture(autouse=True)
def _memory(settings: Any) -> Iterator[presence.MemoryPresence]:
    settings.REDIS_URL = ""
    store = presence.MemoryPresence()
    presence._store = store
    yield store
    presence._store = None
    hub.users.clear()
    hub.spaces.clear()


def test_a_socket_is_handed_its_ping_every_heartbeat_and_the_close_after_three_silent() -> None:
    consumer = StreamConsumer()
    consumer.inbox = asyncio.Queue()
    consumer.last_received, consumer.heartbeat_seconds, consumer.silent_after = 0.0, 25.0, 75.0
    consumer.next_ping = 25.0

    def handed() -> list[str]:
        found = []
        while not consumer.inbox.empty():
            found.append(consumer.inbox.get_nowait()["type"])
        return found

    consumer.tick(10.0)
    assert handed() == []
    consumer.tick(25.3)
    assert handed() == ["live.ping"]
    consumer.tick(26.0)
    assert handed() == []
    consumer.tick(50.3)
    assert handed() == ["live.ping"]
    consumer.last_received = 60.0  # the client spoke: silence counts from here
    consumer.tick(100.0)
    assert handed() == ["live.ping"]
    consumer.tick(135.1)
    assert handed() == ["live.silent"]
    consumer.tick(140.0)
    assert handed() == []  # once


def test_the_ticker_ticks_every_socket_every_step(settings: Any) -> None:
    settings.LIVE_HEARTBEAT_SECONDS = 0.1

    async def run() -> list[FakeSocket]:
        ticker = Ticker()
        sockets = [FakeSocket(f"s{n}", {}) for n in range(50)]
        for socket in sockets:
            ticker.add(socket)
        await asyncio.sleep(0.6)  # about five steps: a loaded machine's stall still leaves two
        await ticker.stop()
        return sockets

    for socket in asyncio.run(run()):
        assert len(socket.ticks) >= 2


def test_one_refresh_renews_every_sockets_entries_and_prunes_and_tells_a_dead_process_s() -> None:
    store = presence._store
    assert isinstance(store, presence.MemoryPresence)

    async def run() -> tuple[FakeSocket, FakeSocket]:
        ticker = Ticker()
        here = FakeSocket("here", {1: "w1", 2: "w2"})
        other = FakeSocket("other", {2: "w2"})
        for socket in (here, other):
            ticker.sockets.add(socket)
            for space_id in socket.spaces:
                hub.add_space(space_id, socket)
        # A socket of a process that died: its entry stopped being refreshed and has expired.
        await store.put(1, "dead", {"user": "dead", "display_name": "dead", "viewing": None, "at": 0.0})
        store._spaces[1]["dead"] = (time.time() - 1, store._spaces[1]["dead"][1])
        before = time.time()
        await ticker.refresh()
        assert set(store._spaces[1]) == {"here"}
        assert set(store._spaces[2]) == {"here", "other"}
        for sockets in store._spaces.values():
            assert all(expires > before for expires, _ in sockets.values())
        return here, other

    here, other = asyncio.run(run())
    # Space 1 lost an entry: its sockets are told who is there now; space 2 lost none, nobody is told.
    assert [m["type"] for m in here.messages] == ["live.presence"]
    assert here.messages[0]["space"] == 1
    assert json.loads(here.messages[0]["text"]) == {
        "type": "presence",
        "workspace": "w1",
        "members": [{"user": "here", "display_name": "here", "viewing": None}],
    }
    assert other.messages == []


def test_a_refresh_does_not_bring_back_a_socket_that_closed_meanwhile() -> None:
    store = presence._store
    assert isinstance(store, presence.MemoryPresence)

    async def run() -> None:
        ticker = Ticker()
        socket = FakeSocket("gone", {1: "w1"})
        ticker.sockets.add(socket)
        refresh = store.refresh

        async def slow_refresh(spaces: dict[int, dict[str, Any]]) -> None:
            await refresh(spaces)
            socket.closing = True  # it closed (and left) while the pipeline ran
            ticker.remove(socket)
            await store.leave(1, "gone")
            await refresh(spaces)  # the pipeline's write landing after the leave

        store.refresh = slow_refresh  # type: ignore[method-assign]
        await ticker.refresh()

    asyncio.run(run())
    assert store._spaces.get(1, {}) == {}


def test_a_socket_whose_handler_fails_leaves_the_ticker_the_hub_and_presence(monkeypatch: Any) -> None:
    """A handler that raises (a database error in one of the socket's reads) ends the socket's task without
    the server's disconnect message: the socket still leaves, or the ticker would keep its user present."""
    from live import consumers

    store = presence._store
    assert isinstance(store, presence.MemoryPresence)
    ticker = Ticker()
    monkeypatch.setattr(consumers, "ticker", ticker)

    async def connect(
        self: StreamConsumer,
    ) -> None:  # an accepted socket in one workspace, as connect leaves it
        self.user_id, self.display_name = "user-1", "One"
        self.spaces, self.viewing, self.sent_presence = {}, {}, {}
        await self.accept()
        hub.add_user(self.user_id, self)
        await self._enter(7, "workspace-7")
        ticker.add(self)

    async def failing(
        self: StreamConsumer, text_data: str | None = None, bytes_data: bytes | None = None
    ) -> None:
        assert self in ticker.sockets
        assert set(store._spaces[7]) == {self.channel_name}
        raise RuntimeError("the database went away")

    monkeypatch.setattr(StreamConsumer, "connect", connect)
    monkeypatch.setattr(StreamConsumer, "receive", failing)

    async def run() -> StreamConsumer:
        messages = [{"type": "websocket.connect"}, {"type": "websocket.receive", "text": '{"type":"ping"}'}]

        async def receive() -> dict[str, Any]:
            if messages:
                return messages.pop(0)
            await asyncio.sleep(60)  # the client says nothing more
            raise AssertionError("never reached")

        async def send(message: dict[str, Any]) -> None:
            pass

        consumer = StreamConsumer()
        with pytest.raises(RuntimeError, match="went away"):
            await consumer({"type": "websocket", "path": "/api/v1/stream"}, receive, send)
        await ticker.stop()
        return consumer

    consumer = asyncio.run(run())
    assert consumer.closing
    assert consumer.cleaned_up
    assert consumer not in ticker.sockets
    assert hub.users == {}
    assert hub.spaces == {}
    assert store._spaces.get(7, {}) == {}


@pytest.mark.django_db
def test_a_socket_reads_its_workspaces_in_one_query(django_assert_num_queries: Any) -> None:
    owner, member = UserFactory.create(), UserFactory.create()
    workspaces = [WorkspaceFactory.create(user=owner) for _ in range(2)]
    for workspace in workspaces:
        MemberFactory.create(workspace=workspace, user=member)
    with django_assert_num_queries(1):
        found = socket_spaces(member.pk)
    assert found is not None
    personal, spaces = found
    from sync.models import Space

    assert personal == Space.objects.get(user=member).pk
    assert spaces == {Space.objects.get(workspace_id=w.pk).pk: str(w.pk) for w in workspaces}
    member.is_active = False
    member.save(update_fields=["is_active"])
    with django_assert_num_queries(2):
        assert socket_spaces(member.pk) is None

"""The live-updates socket against live uvicorn processes, with a real `websockets` client: tickets and
credentials, every message type, the frame rules, pokes after commit to exactly who sees the change (across
two processes), presence and typing, access that follows membership, and sockets closed on revocation.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import User
from accounts.services.api_keys import api_key_create, api_key_revoke
from accounts.services.sessions import session_tokens
from accounts.services.users import user_deactivate
from backoffice.health import read_metrics
from core.versioning import ANY_VERSION
from lists.services import item_create
from live.models import StreamTicket
from tests.conftest import LIVE_SERVERS
from tests.factories import (
    DEFAULT_PASSWORD,
    ItemFactory,
    ListFactory,
    MemberFactory,
    UserFactory,
    WorkspaceFactory,
)
from tests.live.conftest import (
    HEARTBEAT,
    PREFIX,
    REDIS_URL,
    SOCKETS_REPORT,
    Server,
    Socket,
    start_server,
    stop_server,
)
from tests.ratelimit_clock import clear_of_window_edge
from workspaces.models import Workspace
from workspaces.services import member_remove, workspace_delete

pytestmark = [pytest.mark.postgres, LIVE_SERVERS, pytest.mark.django_db(transaction=True)]

Open = Callable[..., Socket]
# A hasher the server knows, for users whose password it checks (the tests' fast one is not among its own).
SERVER_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]


def token(user: User) -> str:
    return session_tokens(user=user)["access"]


def bearer(user: User) -> dict[str, Any]:
    return {"additional_headers": {"Authorization": f"Bearer {token(user)}"}}


def connected(open_socket: Open, server: Server, user: User) -> Socket:
    """A socket of `user` through a ticket, past its hello (and the presence that follows it, if any)."""
    sock = open_socket(f"{server.ws}?ticket={server.ticket(token(user))}")
    hello = sock.next()
    assert hello == {"type": "hello", "user": str(user.pk), "heartbeat": HEARTBEAT}
    return sock


def team() -> tuple[User, User, Workspace, Any]:
    """An owner and an editor of a workspace with a list."""
    owner, editor = UserFactory.create(), UserFactory.create()
    workspace = WorkspaceFactory.create(user=owner)
    MemberFactory.create(workspace=workspace, user=editor)
    shared = ListFactory.create(user=owner, workspace=workspace.pk)
    return owner, editor, workspace, shared


def add_item(server: Server, user: User, list_id: Any, title: str = "New") -> dict[str, Any]:
    status, body = server.request(
        "POST", "/api/v1/items", token(user), {"list": str(list_id), "title": title}
    )
    assert status == 201, body
    return dict(body)


# --- opening a socket ---------------------------------------------------------------------------------------


def test_a_ticket_opens_a_socket_whose_first_message_is_hello(server: Server, open_socket: Open) -> None:
    user = UserFactory.create()
    status, body = server.request("POST", "/api/v1/stream/ticket", token(user))
    assert status == 201
    assert body["expires_in"] == 30
    assert len(body["ticket"]) > 30
    sock = open_socket(f"{server.ws}?ticket={body['ticket']}")
    assert sock.next() == {"type": "hello", "user": str(user.pk), "heartbeat": HEARTBEAT}
    assert StreamTicket.objects.count() == 0  # used up


def test_frames_go_uncompressed_to_a_client_that_offers_compression(
    server: Server, open_socket: Open
) -> None:
    """The production options (config/asgi_server.py): the client offers permessage-deflate, as browsers
    and websockets do; the server declines it, so no zlib state is kept per socket."""
    sock = open_socket(f"{server.ws}?ticket={server.ticket(token(UserFactory.create()))}")
    assert sock.next()["type"] == "hello"
    request, response = sock.connection.request, sock.connection.response
    assert request is not None
    assert response is not None
    assert "permessage-deflate" in request.headers["Sec-WebSocket-Extensions"]
    assert "Sec-WebSocket-Extensions" not in response.headers


def test_a_ticket_works_once(server: Server, open_socket: Open) -> None:
    user = UserFactory.create()
    ticket = server.ticket(token(user))
    assert open_socket(f"{server.ws}?ticket={ticket}").next()["type"] == "hello"
    assert open_socket(f"{server.ws}?ticket={ticket}").close_code() == 4401


def test_a_late_ticket_is_refused(server: Server, open_socket: Open) -> None:
    user = UserFactory.create()
    ticket = server.ticket(token(user))
    StreamTicket.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert open_socket(f"{server.ws}?ticket={ticket}").close_code() == 4401


def test_a_ticket_needs_credentials(server: Server) -> None:
    assert server.request("POST", "/api/v1/stream/ticket")[0] == 401


def test_bearer_and_api_keys_open_sockets_on_the_upgrade(server: Server, open_socket: Open) -> None:
    user = UserFactory.create()
    assert open_socket(server.ws, **bearer(user)).next()["type"] == "hello"
    for scopes in (["read"], ["read", "write"]):
        _, key = api_key_create(user=user, name="cli", scopes=scopes)
        sock = open_socket(server.ws, additional_headers={"Authorization": f"Api-Key {key}"})
        assert sock.next() == {"type": "hello", "user": str(user.pk), "heartbeat": HEARTBEAT}


def test_every_refusal_closes_4401_before_any_message(server: Server, open_socket: Open) -> None:
    user = UserFactory.create()
    revoked, revoked_key = api_key_create(user=user, name="old", scopes=["read"])
    api_key_revoke(api_key=revoked)
    inactive = UserFactory.create()
    inactive_token = token(inactive)
    User.objects.filter(pk=inactive.pk).update(is_active=False)
    refused = [
        {},
        {"additional_headers": {"Authorization": "Bearer not-a-token"}},
        {"additional_headers": {"Authorization": f"Bearer {inactive_token}"}},
        {"additional_headers": {"Authorization": f"Api-Key {revoked_key}"}},
        {"additional_headers": {"Authorization": "Api-Key dm_nope_nope"}},
        {"additional_headers": {"Authorization": "Basic dXNlcjpwYXNz"}},
    ]
    for options in refused:
        sock = open_socket(server.ws, **options)
        assert sock.close_code() == 4401, options
        assert sock.received == [], options
    for query in ("?ticket=", "?ticket=unknown", f"?ticket={'x' * 300}"):
        sock = open_socket(server.ws + query)
        assert sock.close_code() == 4401, query
        assert sock.received == [], query


def test_refused_upgrades_spend_the_addresss_failed_authentications_budget(
    tmp_path: Path, open_socket: Open
) -> None:
    """The budget REST logins and tokens use: three refusals an hour here, then 4429 on the socket and
    429 on REST from the same address, while valid credentials still open a socket."""
    limited = start_server(
        tmp_path,
        "limited",
        RATE_LIMIT_ENABLE="true",
        RATE_LIMIT_AUTH_FAILURES_PER_IP="3/h",
        CACHE_KEY_PREFIX=f"{PREFIX}:limited-{uuid.uuid4().hex[:6]}",
    )
    try:
        user = UserFactory.create()
        clear_of_window_edge("3/h")
        bad = {"additional_headers": {"Authorization": "Bearer not-a-token"}}
        codes = [open_socket(limited.ws, **bad).close_code() for _ in range(3)]
        codes.append(open_socket(f"{limited.ws}?ticket=unknown").close_code())
        assert codes == [4401, 4401, 4401, 4429]
        status, body = limited.request("GET", "/api/v1/lists", "not-a-token")
        assert status == 429, body
        assert body["code"] == "rate_limited"
        sock = open_socket(limited.ws, **bearer(user))
        assert sock.next()["type"] == "hello"
    finally:
        stop_server(limited)


# --- heartbeats and frames --------------------------------------------------------------------------------


def test_ping_is_answered_with_pong_and_the_server_pings_every_heartbeat(
    server: Server, open_socket: Open
) -> None:
    sock = connected(open_socket, server, UserFactory.create())
    sock.send({"type": "ping"})
    assert sock.wait_for("pong", 1)
    assert sock.wait_for("ping", HEARTBEAT + 1.5)


def test_the_processs_ticker_pings_every_socket_every_heartbeat(server: Server, open_socket: Open) -> None:
    """One ticker per process serves all its sockets: each one gets its ping every heartbeat (the ticker's
    step is a second), in the phase of its own connect, and answering keeps it open."""
    import threading

    window = 2 * HEARTBEAT + 2.5  # two pings, never a third (at the earliest 3 heartbeats after connect)
    pings: dict[int, list[float]] = {}

    def listen(n: int) -> None:
        try:
            sock = open_socket(server.ws, **bearer(UserFactory.create()))
        finally:
            connection.close()  # this thread's: back to the pool
        opened = time.monotonic()
        assert sock.next(5)["type"] == "hello"
        pings[n] = []
        while (left := opened + window - time.monotonic()) > 0:
            with contextlib.suppress(TimeoutError):
                sock.wait_for("ping", left)
                pings[n].append(time.monotonic() - opened)
                sock.send({"type": "ping"})

    threads = [threading.Thread(target=listen, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(window + 10)
    assert len(pings) == 6
    for times in pings.values():
        assert len(times) == 2, pings
        # The ticker's step (1 s) and a loaded machine's delay: never before the heartbeat, at most 2 s after.
        assert HEARTBEAT - 0.5 <= times[0] <= HEARTBEAT + 2, pings
        assert HEARTBEAT - 1 <= times[1] - times[0] <= HEARTBEAT + 2, pings


def test_a_socket_silent_for_three_heartbeats_is_closed(server: Server, open_socket: Open) -> None:
    sock = connected(open_socket, server, UserFactory.create())
    started = time.monotonic()
    assert sock.close_code(timeout=3 * HEARTBEAT + 3) == 4408
    assert time.monotonic() - started >= 3 * HEARTBEAT - 1


def test_bad_frames_are_answered_with_errors_and_the_socket_goes_on(
    server: Server, open_socket: Open
) -> None:
    _owner, editor, workspace, _shared = team()
    stranger_item = ItemFactory.create()
    stranger_workspace = WorkspaceFactory.create()
    sock = connected(open_socket, server, editor)
    sock.wait_for("presence")
    frames: list[tuple[Any, str]] = [
        (b"\x00binary", "not_json"),
        ("{not json", "not_json"),
        ("", "not_json"),
        ("[1, 2]", "unknown_type"),
        ('"ping"', "unknown_type"),
        ({"kind": "ping"}, "unknown_type"),
        ({"type": "subscribe"}, "unknown_type"),
        ({"type": 7}, "unknown_type"),
        (json.dumps({"type": "ping", "pad": "x" * 5000}), "too_large"),
        ("é" * 2100, "too_large"),  # 2,100 characters, 4,200 bytes
        ({"type": "viewing", "workspace": "nope", "list": None}, "invalid"),
        ({"type": "viewing", "workspace": str(workspace.pk), "list": 5}, "invalid"),
        ({"type": "viewing", "workspace": str(workspace.pk), "list": None, "extra": 1}, "invalid"),
        ({"type": "viewing", "workspace": str(stranger_workspace.pk), "list": None}, "not_found"),
        ({"type": "viewing", "workspace": str(uuid.uuid4()), "list": None}, "not_found"),
        (
            {"type": "viewing", "workspace": str(workspace.pk), "list": str(stranger_item.list_id)},
            "not_found",
        ),
        ({"type": "typing"}, "invalid"),
        ({"type": "typing", "item": "42"}, "invalid"),
        ({"type": "typing", "item": str(stranger_item.pk)}, "not_found"),
        ({"type": "typing", "item": str(uuid.uuid4())}, "not_found"),
    ]
    for frame, code in frames:
        sock.send(frame)
        answer = sock.wait_for("error", 2)
        assert answer["code"] == code, (frame, answer)
        time.sleep(0.06)  # under the frame rate limit
    sock.send({"type": "ping"})
    assert sock.wait_for("pong", 1)


def test_more_than_twenty_frames_a_second_closes_4429(server: Server, open_socket: Open) -> None:
    sock = connected(open_socket, server, UserFactory.create())
    for _ in range(25):
        sock.send({"type": "ping"})
    assert sock.close_code() == 4429
    assert sum(1 for m in sock.received if m["type"] == "pong") <= 20


def test_twenty_frames_a_second_are_allowed(server: Server, open_socket: Open) -> None:
    sock = connected(open_socket, server, UserFactory.create())
    for _ in range(3):
        for _ in range(15):
            sock.send({"type": "ping"})
        time.sleep(1.5)  # the server's second holds one burst, however late it reads the one before
    sock.send({"type": "ping"})
    pongs = [sock.wait_for("pong", 2) for _ in range(46)]
    assert len(pongs) == 46


# --- pokes ----------------------------------------------------------------------------------------------


def test_a_write_pokes_the_writers_devices_and_the_members_on_both_processes(
    servers: tuple[Server, Server], open_socket: Open
) -> None:
    a, b = servers
    owner, editor, _workspace, shared = team()
    outsider = UserFactory.create()
    sockets = {
        "owner on A": connected(open_socket, a, owner),
        "owner on B": connected(open_socket, b, owner),
        "editor on B": connected(open_socket, b, editor),
    }
    outsider_socket = connected(open_socket, b, outsider)
    cursors = {name: _cursor(a, user) for name, user in (("owner", owner), ("editor", editor))}
    started = time.monotonic()
    item = add_item(a, owner, shared.pk, "Through process A")
    for name, sock in sockets.items():
        sock.wait_for("sync", 1.0)
        assert time.monotonic() - started < 1.5, name
    # The change is there for whoever pulls on the poke.
    for name, user in (("owner", owner), ("editor", editor)):
        assert item["id"] in _changed_ids(b, user, cursors[name])
    assert outsider_socket.nothing_of("sync", 0.5)


def test_a_poke_never_arrives_before_the_change_is_visible_to_sync(
    servers: tuple[Server, Server], open_socket: Open
) -> None:
    a, b = servers
    owner, editor, _workspace, shared = team()
    sock = connected(open_socket, b, editor)
    for round_ in range(15):
        cursor = _cursor(b, editor)
        sock.send({"type": "ping"})  # not silent for three heartbeats however slow the machine
        item = add_item(a, owner, shared.pk, f"Round {round_}")
        sock.wait_for("sync", 1.0)
        # Pulled at once on the poke, through the other process: the write is there every time.
        assert item["id"] in _changed_ids(b, editor, cursor), round_


def test_a_push_of_100_operations_is_one_broadcast_and_one_poke_per_socket(
    servers: tuple[Server, Server], open_socket: Open
) -> None:
    a, b = servers
    owner, editor, _workspace, shared = team()
    sockets = [connected(open_socket, server, user) for server in servers for user in (owner, editor)]
    sockets += [connected(open_socket, b, editor)]  # a second device of the editor's on B
    events = _published()
    operations = [
        {
            "op_id": str(uuid.uuid4()),
            "type": "item",
            "action": "create",
            "id": str(uuid.uuid4()),
            "data": {"list": str(shared.pk), "title": f"Pushed {n}"},
        }
        for n in range(100)
    ]
    status, body = a.request("POST", "/api/v1/sync", token(owner), {"operations": operations})
    assert status == 200, body
    for sock in sockets:
        sock.wait_for("sync", 1.0)
    for sock in sockets:
        assert sock.nothing_of("sync", 0.5)
    # Redis carried the commit once for both processes and all five sockets: the users it concerns (the
    # sockets' presence comes and goes on the same channel).
    pokes = [event for event in events() if "poke" in event]
    assert pokes == [{"poke": sorted([str(owner.pk), str(editor.pk)])}]


def test_a_process_that_lost_its_subscription_subscribes_again_and_its_sockets_resync(
    servers: tuple[Server, Server], open_socket: Open
) -> None:
    a, b = servers
    owner, editor, _workspace, shared = team()
    on_a, on_b = connected(open_socket, a, editor), connected(open_socket, b, editor)
    client = redis.Redis.from_url(REDIS_URL)
    subscribers = [c for c in client.client_list(_type="pubsub") if c["name"] == f"{PREFIX}:live"]
    assert len(subscribers) == 2  # one subscription per process, however many sockets it holds
    for subscriber in subscribers:
        client.client_kill_filter(_id=subscriber["id"])
    # Whatever was published while they were away, each socket is told to sync.
    on_a.wait_for("sync", 3.0)
    on_b.wait_for("sync", 3.0)
    add_item(a, owner, shared.pk, "After the reconnection")
    on_a.wait_for("sync", 1.0)
    on_b.wait_for("sync", 1.0)


def test_a_rolled_back_write_pokes_no_one(server: Server, open_socket: Open) -> None:
    owner, editor, _workspace, shared = team()
    sockets = [connected(open_socket, server, owner), connected(open_socket, server, editor)]

    class Undone(Exception):
        pass

    def write_then_fail() -> None:
        with transaction.atomic():
            item_create(user=owner, data={"list": shared.pk, "title": "Never"})
            raise Undone

    with pytest.raises(Undone):
        write_then_fail()
    for sock in sockets:
        assert sock.nothing_of("sync", 1.0)
    item_create(user=owner, data={"list": shared.pk, "title": "Kept"})  # the same write, committed
    for sock in sockets:
        sock.wait_for("sync", 1.0)


def test_a_personal_write_pokes_only_its_owners_sockets(server: Server, open_socket: Open) -> None:
    owner, editor, _workspace, _shared = team()
    own, other = connected(open_socket, server, owner), connected(open_socket, server, editor)
    personal = ListFactory.create(user=owner)
    own.wait_for("sync", 1.0)
    add_item(server, owner, personal.pk)
    own.wait_for("sync", 1.0)
    assert other.nothing_of("sync", 0.7)


# --- presence and typing --------------------------------------------------------------------------------


def _space_of(workspace: Workspace) -> int:
    from sync.models import Space

    return int(Space.objects.get(workspace_id=workspace.pk).pk)


def _members(message: dict[str, Any]) -> dict[str, Any]:
    return {m["user"]: m["viewing"] for m in message["members"]}


def test_presence_follows_sockets_and_what_they_view(
    servers: tuple[Server, Server], open_socket: Open
) -> None:
    a, b = servers
    owner, editor, workspace, shared = team()
    watcher = connected(open_socket, a, owner)
    first = watcher.wait_for("presence", 1)
    assert first["workspace"] == str(workspace.pk)
    assert _members(first) == {str(owner.pk): None}
    other = connected(open_socket, b, editor)
    both = watcher.wait_for("presence", 1, lambda m: str(editor.pk) in _members(m))
    assert _members(both) == {str(owner.pk): None, str(editor.pk): None}
    assert [m["display_name"] for m in both["members"]] == sorted(
        (m["display_name"] for m in both["members"]), key=str.lower
    )
    other.send({"type": "viewing", "workspace": str(workspace.pk), "list": str(shared.pk)})
    viewing = watcher.wait_for("presence", 1, lambda m: _members(m).get(str(editor.pk)) == str(shared.pk))
    assert viewing["workspace"] == str(workspace.pk)
    other.close()
    gone = watcher.wait_for("presence", 1, lambda m: str(editor.pk) not in _members(m))
    assert _members(gone) == {str(owner.pk): None}


def test_typing_reaches_the_other_members_at_most_once_every_two_seconds(
    servers: tuple[Server, Server], open_socket: Open
) -> None:
    a, b = servers
    owner, editor, workspace, shared = team()
    item = ItemFactory.create(list=shared, user=owner)
    watcher, typist = connected(open_socket, a, owner), connected(open_socket, b, editor)
    own_device = connected(open_socket, a, editor)
    for _ in range(5):
        typist.send({"type": "typing", "item": str(item.pk)})
        time.sleep(0.1)
    typing = watcher.wait_for("typing", 1)
    assert typing == {
        "type": "typing",
        "workspace": str(workspace.pk),
        "item": str(item.pk),
        "user": str(editor.pk),
    }
    assert watcher.nothing_of("typing", 1.2)
    time.sleep(0.5)  # 2 s after the first
    typist.send({"type": "typing", "item": str(item.pk)})
    watcher.wait_for("typing", 1)
    assert own_device.nothing_of("typing", 0.3)
    assert typist.nothing_of("typing", 0.1)


def test_typing_on_a_personal_item_goes_nowhere_and_is_no_error(server: Server, open_socket: Open) -> None:
    owner, _editor, _workspace, _shared = team()
    item = ItemFactory.create(list=ListFactory.create(user=owner), user=owner)
    sock = connected(open_socket, server, owner)
    sock.send({"type": "typing", "item": str(item.pk)})
    assert sock.nothing_of("error", 0.7)


def test_a_killed_process_sockets_leave_presence(
    servers: tuple[Server, Server], open_socket: Open, tmp_path: Any
) -> None:
    from tests.live.conftest import PRESENCE_REFRESH, PRESENCE_TTL, start_server, stop_server

    a, _ = servers
    owner, editor, _workspace, _shared = team()
    doomed = start_server(tmp_path, "doomed")
    try:
        watcher = connected(open_socket, a, owner)
        connected(open_socket, doomed, editor)
        watcher.wait_for("presence", 2, lambda m: str(editor.pk) in _members(m))
        stop_server(doomed, 9)  # SIGKILL: nothing cleans up
        killed = time.monotonic()
        deadline = PRESENCE_TTL + PRESENCE_REFRESH + 2
        while True:  # the watcher must answer the heartbeat meanwhile
            watcher.send({"type": "ping"})
            try:
                gone = watcher.wait_for("presence", 1, lambda m: str(editor.pk) not in _members(m))
                break
            except TimeoutError:
                assert time.monotonic() - killed < deadline
        assert _members(gone) == {str(owner.pk): None}
    finally:
        stop_server(doomed, 9)


def test_the_ticker_keeps_every_sockets_presence_fresh_and_drops_closed_ones(
    server: Server, open_socket: Open
) -> None:
    """The process refreshes all its sockets' entries at once: past several TTLs nobody is pruned, and the
    entry of a socket that closed does not come back with a later refresh."""
    from tests.live.conftest import PRESENCE_REFRESH, PRESENCE_TTL

    owner, editor, workspace, _shared = team()
    third = UserFactory.create()
    MemberFactory.create(workspace=workspace, user=third)
    watcher = connected(open_socket, server, owner)
    others = [connected(open_socket, server, editor), connected(open_socket, server, third)]
    everyone = {str(owner.pk), str(editor.pk), str(third.pk)}
    watcher.wait_for("presence", 2, lambda m: set(_members(m)) == everyone)
    space_id = _space_of(workspace)
    scores = f"{PREFIX}:presence:{space_id}"
    client = redis.Redis.from_url(REDIS_URL)
    deadline = time.monotonic() + 2 * PRESENCE_TTL + PRESENCE_REFRESH
    while time.monotonic() < deadline:
        for sock in others:  # answered, and read: a client that reads nothing stops reading at all
            sock.send({"type": "ping"})
            sock.wait_for("pong", 1)
        watcher.send({"type": "ping"})
        assert watcher.nothing_of("presence", 0.5, lambda m: set(_members(m)) != everyone)
        assert client.zcount(scores, time.time(), "+inf") == 3
    others[1].close()
    watcher.wait_for("presence", 2, lambda m: str(third.pk) not in _members(m))
    time.sleep(2 * PRESENCE_REFRESH + 0.5)
    assert client.zcard(scores) == 2, client.zrange(scores, 0, -1, withscores=True)
    assert client.hlen(f"{scores}:entries") == 2


def test_many_sockets_opened_at_once_each_get_their_hello_and_spaces(
    server: Server, open_socket: Open
) -> None:
    """The sockets' database reads run several at once (live/selectors.py): each gets its own user and
    workspaces."""
    import threading

    owner, _editor, workspace, _shared = team()
    members = [UserFactory.create() for _ in range(12)]
    for member in members:
        MemberFactory.create(workspace=workspace, user=member)
    results: dict[str, Any] = {}

    def open_one(user_id: str, options: dict[str, Any]) -> None:
        sock = open_socket(server.ws, **options)
        results[user_id] = (sock.next(5), sock.wait_for("presence", 5, lambda m: user_id in _members(m)))

    # The tokens are made here: a thread of this process would hold a database connection of its own.
    users = [(str(user.pk), bearer(user)) for user in [owner, *members]]
    threads = [threading.Thread(target=open_one, args=user) for user in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(results) == 13
    for user_id, (hello, first_presence) in results.items():
        assert hello == {"type": "hello", "user": user_id, "heartbeat": HEARTBEAT}
        assert first_presence["workspace"] == str(workspace.pk)


# --- access follows membership ----------------------------------------------------------------------------


def test_a_removed_member_stops_getting_pokes_presence_and_typing_within_a_second(
    servers: tuple[Server, Server], open_socket: Open
) -> None:
    a, b = servers
    owner, editor, workspace, shared = team()
    item = ItemFactory.create(list=shared, user=owner)
    watcher, removed = connected(open_socket, a, owner), connected(open_socket, b, editor)
    watcher.wait_for("presence", 1, lambda m: str(editor.pk) in _members(m))
    started = time.monotonic()
    member_remove(user=owner, workspace_id=workspace.pk, member_user_id=editor.pk)
    # The removed member is told to pull (the workspace's tombstone) and leaves presence, within 1 s.
    removed.wait_for("sync", 1.0)
    watcher.wait_for("presence", 1.0, lambda m: str(editor.pk) not in _members(m))
    assert time.monotonic() - started < 1.2
    # The notification of the removal is their own data: its poke may follow; wait until they are quiet.
    for _ in range(5):
        if removed.nothing_of("sync", 0.4):
            break
    removed.received.clear()
    add_item(a, owner, shared.pk, "After the removal")
    watcher.send({"type": "typing", "item": str(item.pk)})
    watcher.send({"type": "viewing", "workspace": str(workspace.pk), "list": str(shared.pk)})
    assert removed.nothing_of("sync", 0.8)
    assert not [m for m in removed.received if m["type"] in ("typing", "presence")]
    removed.send({"type": "typing", "item": str(item.pk)})
    assert removed.wait_for("error", 1)["code"] == "not_found"
    removed.send({"type": "viewing", "workspace": str(workspace.pk), "list": None})
    assert removed.wait_for("error", 1)["code"] == "not_found"


def test_a_new_member_starts_getting_pokes_and_presence_without_reconnecting(
    server: Server, open_socket: Open
) -> None:
    owner, _editor, workspace, shared = team()
    newcomer = UserFactory.create()
    sock = connected(open_socket, server, newcomer)
    watcher = connected(open_socket, server, owner)
    started = time.monotonic()
    MemberFactory.create(workspace=workspace, user=newcomer, role="viewer")
    sock.wait_for("sync", 1.0)
    joined = sock.wait_for("presence", 1.0)
    assert time.monotonic() - started < 1.2
    assert joined["workspace"] == str(workspace.pk)
    assert str(newcomer.pk) in _members(joined)
    watcher.wait_for("presence", 1, lambda m: str(newcomer.pk) in _members(m))
    sock.received.clear()
    add_item(server, owner, shared.pk)
    sock.wait_for("sync", 1.0)


def test_a_deleted_workspace_releases_its_members_sockets(server: Server, open_socket: Open) -> None:
    owner, editor, workspace, _shared = team()
    sock = connected(open_socket, server, editor)
    sock.wait_for("presence", 1)
    workspace_delete(user=owner, workspace_id=workspace.pk, base=ANY_VERSION)
    sock.wait_for("sync", 1.0)
    # The first poke may be the members' notification of the deletion (written after it commits, in a
    # transaction of its own, so its poke can come first): within a second the socket has left it.
    deadline = time.monotonic() + 1.5
    while True:
        sock.send({"type": "viewing", "workspace": str(workspace.pk), "list": None})
        try:
            assert sock.wait_for("error", 0.25)["code"] == "not_found"
            break
        except TimeoutError:
            assert time.monotonic() < deadline, sock.received


# --- revoked credentials -------------------------------------------------------------------------------


def test_logout_everywhere_closes_the_users_sockets_4401(
    servers: tuple[Server, Server], open_socket: Open
) -> None:
    a, b = servers
    user, bystander = UserFactory.create(), UserFactory.create()
    sockets = [connected(open_socket, a, user), connected(open_socket, b, user)]
    other = connected(open_socket, a, bystander)
    assert a.request("POST", "/api/v1/auth/logout-all", token(user))[0] == 204
    for sock in sockets:
        assert sock.close_code(1.5) == 4401
    other.send({"type": "ping"})
    assert other.wait_for("pong", 1)


def test_a_password_change_closes_the_users_sockets_4401(
    server: Server, open_socket: Open, settings: Any
) -> None:
    settings.PASSWORD_HASHERS = SERVER_HASHERS  # the server checks the password
    user = UserFactory.create()
    sock = connected(open_socket, server, user)
    body = {"current_password": DEFAULT_PASSWORD, "new_password": "another long passphrase 42"}
    assert server.request("POST", "/api/v1/auth/password/change", token(user), body)[0] == 204
    assert sock.close_code(1.5) == 4401


def test_deactivation_closes_the_users_sockets_4401_and_unused_tickets_stop_working(
    server: Server, open_socket: Open
) -> None:
    user, staff = UserFactory.create(), UserFactory.create(is_staff=True)
    sock = connected(open_socket, server, user)
    ticket = server.ticket(token(user))
    user_deactivate(user=user, by_staff=staff)  # what the admin and the back office call
    assert sock.close_code(1.5) == 4401
    assert open_socket(f"{server.ws}?ticket={ticket}").close_code() == 4401


def test_account_deletion_closes_the_users_sockets_4401(
    server: Server, open_socket: Open, settings: Any
) -> None:
    settings.PASSWORD_HASHERS = SERVER_HASHERS  # the server checks the password
    owner, editor, _workspace, _ = team()
    sock = connected(open_socket, server, editor)
    watcher = connected(open_socket, server, owner)
    status, _ = server.request("DELETE", "/api/v1/user", token(editor), {"password": DEFAULT_PASSWORD})
    assert status == 204
    assert sock.close_code(1.5) == 4401
    watcher.wait_for("presence", 1.5, lambda m: str(editor.pk) not in _members(m))


# --- operations ----------------------------------------------------------------------------------------


def test_metrics_count_the_open_sockets(server: Server, open_socket: Open) -> None:
    def count() -> float:
        status, _ = server.request("GET", "/health")
        assert status == 200
        import http.client

        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        conn.request("GET", "/metrics")
        text = conn.getresponse().read().decode()
        conn.close()
        line = next(line for line in text.splitlines() if line.startswith("daymark_live_sockets "))
        return float(line.split()[1])

    before = count()
    sockets = [connected(open_socket, server, UserFactory.create()) for _ in range(3)]
    assert count() == before + 3
    sockets[0].close()
    deadline = time.monotonic() + 2
    while count() != before + 2:
        assert time.monotonic() < deadline
        time.sleep(0.1)


def test_the_back_office_counts_the_sockets_of_every_asgi_process(
    servers: tuple[Server, Server], open_socket: Open
) -> None:
    """The ASGI processes do not share gunicorn's metrics directory: each reports its count to Redis, and
    the panel (read here, in another process, as gunicorn's would) sums the fresh reports."""

    def settled(expected: int) -> None:
        deadline = time.monotonic() + 5 * SOCKETS_REPORT + 2
        while read_metrics()["sockets"] != expected:
            assert time.monotonic() < deadline, read_metrics()["sockets"]
            time.sleep(0.2)

    a, b = servers
    settled(0)
    sockets = [connected(open_socket, a, UserFactory.create()) for _ in range(2)]
    sockets.append(connected(open_socket, b, UserFactory.create()))
    settled(3)
    sockets[2].close()
    settled(2)


def _published() -> Callable[[], list[dict[str, Any]]]:
    """Listens to the servers' pub/sub channel; calling the result returns the events seen so far."""
    pubsub = redis.Redis.from_url(REDIS_URL).pubsub()
    pubsub.subscribe(f"{PREFIX}:live")
    confirmed = pubsub.get_message(timeout=2)
    assert confirmed is not None
    assert confirmed["type"] == "subscribe", confirmed

    def seen() -> list[dict[str, Any]]:
        found = []
        deadline = time.monotonic() + 0.3
        while time.monotonic() < deadline:
            message = pubsub.get_message(timeout=0.05)
            if message is not None and message["type"] == "message":
                found.append(json.loads(message["data"]))
        pubsub.close()
        return found

    return seen


def _cursor(server: Server, user: User) -> str:
    status, body = server.request("GET", "/api/v1/sync?limit=200", token(user))
    assert status == 200, body
    while body["has_more"]:
        status, body = server.request("GET", f"/api/v1/sync?limit=200&cursor={body['cursor']}", token(user))
    return str(body["cursor"])


def _changed_ids(server: Server, user: User, cursor: str) -> set[str]:
    status, body = server.request("GET", f"/api/v1/sync?cursor={cursor}", token(user))
    assert status == 200, body
    return {change["id"] for change in body["changes"]}

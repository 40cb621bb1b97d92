"""On PostgreSQL: members write in three workspaces (moving items between them and their personal lists)
while members are added and removed, and readers follow their cursors through the API the whole time.
Every reader ends with exactly what its user may see, nothing missed, no deadlock, no server error."""

from __future__ import annotations

import random
import threading
import time
from typing import Any

import pytest
from django.db import connection
from django.http import Http404

from core.problems import PreconditionFailed, VersionConflict
from core.versioning import BaseVersion
from lists.models import Item, List
from lists.services import item_create, item_delete, item_update, list_create, list_update
from tests.conftest import RACES, client_for
from tests.factories import MemberFactory, UserFactory, WorkspaceFactory
from tests.sync.helpers import SYNC_URL, apply_changes, server_state
from workspaces.models import Member
from workspaces.services import member_change_role, member_leave, member_remove

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True), RACES]

WRITES_PER_WRITER = 30
Replica = dict[tuple[str, str], dict[str, Any]]


class Reader:
    """A client that pulls in a loop from its cursor, with small pages, and starts again on a 410."""

    def __init__(self, user: Any) -> None:
        self.user = user
        self.api = client_for(user)
        self.replica: Replica = {}
        self.cursor: Any = None
        self.restarts = 0
        self.pulls = 0

    def pull_once(self, limit: int) -> bool:
        """One page; answers whether more is pending."""
        params: dict[str, Any] = {"limit": limit}
        if self.cursor is not None:
            params["cursor"] = self.cursor
        response = self.api.get(SYNC_URL, params)
        self.pulls += 1
        if response.status_code == 410:  # access ended mid-page, or pruned: a full sync
            self.restarts += 1
            self.replica, self.cursor = {}, None
            return True
        assert response.status_code == 200, response.content
        answer = response.json()
        if self.cursor is None:
            self.replica = {}
        keys = [(c["type"], c["id"]) for c in answer["changes"]]
        assert len(keys) == len(set(keys)), "an entity twice in one answer"
        apply_changes(self.replica, answer["changes"])
        self.cursor = answer["cursor"]
        return bool(answer["has_more"])


def _guard(errors: list[BaseException], work: Any) -> Any:
    def run(*args: Any) -> None:
        try:
            work(*args)
        except BaseException as error:  # reported to the test thread
            errors.append(error)
        finally:
            connection.close()

    return run


# What a write may answer when another writer changed or deleted its entity first: a 4xx, never a 500.
EXPECTED = (VersionConflict, PreconditionFailed, Http404)


def _write(user: Any, lists: list[List], own: List, seed: int, refused: list[str]) -> None:
    """Creates, edits, completes, deletes and moves items between the workspaces' lists and a personal one;
    now and then moves the personal list into a workspace and back."""
    rng = random.Random(seed)
    for _ in range(WRITES_PER_WRITER):
        try:
            _one_write(rng, user, lists, own)
        except EXPECTED as error:
            refused.append(type(error).__name__)


def _one_write(rng: random.Random, user: Any, lists: list[List], own: List) -> None:
    targets = [*lists, own]
    if True:
        roll = rng.random()
        mine = list(Item.objects.filter(list__in=targets).values_list("pk", "version"))
        if roll < 0.35 or not mine:
            item_create(user=user, data={"list": rng.choice(targets).pk, "title": f"t{rng.random():.4f}"})
        elif roll < 0.65:
            item_id, version = rng.choice(mine)
            item_update(
                user=user,
                item_id=item_id,
                base=BaseVersion(version),
                data=rng.choice(
                    [{"notes": f"n{rng.random():.4f}"}, {"status": rng.choice(["open", "done"])}]
                ),
            )
        elif roll < 0.85:
            item_id, version = rng.choice(mine)
            item_update(
                user=user, item_id=item_id, base=BaseVersion(version), data={"list": rng.choice(targets).pk}
            )
        elif roll < 0.93:
            item_id, version = rng.choice(mine)
            item_delete(user=user, item_id=item_id, base=BaseVersion(version))
        else:
            into = rng.choice([None, *(lst.workspace_id for lst in lists)])
            version = List.objects.get(pk=own.pk).version
            list_update(user=user, list_id=own.pk, base=BaseVersion(version), data={"workspace": into})


def _change_memberships(
    owner: Any, workspaces: list[Any], readers: list[Any], stop: threading.Event, changes: list[str]
) -> None:
    """Readers are added, removed, change roles and leave, in a fixed random order, while the writers run."""
    rng = random.Random(7)
    while not stop.is_set():
        changes.append("")
        workspace, reader = rng.choice(workspaces), rng.choice(readers[1:])  # readers[0] stays everywhere
        member = Member.objects.filter(workspace=workspace, user=reader).first()
        if member is None:
            MemberFactory.create(workspace=workspace, user=reader, role=rng.choice(["viewer", "editor"]))
        elif rng.random() < 0.3:
            role = "viewer" if member.role == "editor" else "editor"
            member_change_role(user=owner, workspace_id=workspace.pk, member_user_id=reader.pk, role=role)
        elif rng.random() < 0.5:
            member_leave(user=reader, workspace_id=workspace.pk)
        else:
            member_remove(user=owner, workspace_id=workspace.pk, member_user_id=reader.pk)
        time.sleep(rng.uniform(0.01, 0.05))


def _read(reader: Reader, done: threading.Event, seed: int) -> None:
    rng = random.Random(seed)
    while True:
        finished = done.is_set()  # read before pulling, so the last pass sees every commit
        while reader.pull_once(rng.choice([1, 3, 7, 50])):
            pass
        if finished:
            return


def test_readers_end_with_what_their_users_may_see_while_members_write_and_come_and_go() -> None:
    owner = UserFactory.create()
    workspaces = [WorkspaceFactory.create(user=owner, name=f"W{n}") for n in range(3)]
    lists = [
        list_create(user=owner, data={"name": f"L{n}", "workspace": workspace.pk})[0]
        for n, workspace in enumerate(workspaces)
    ]
    writers = [UserFactory.create() for _ in range(3)]
    for writer in writers:
        for workspace in workspaces:
            MemberFactory.create(workspace=workspace, user=writer, role="editor")
    readers = [UserFactory.create() for _ in range(3)]
    for n, reader in enumerate(readers):
        for workspace in workspaces[: 3 - n]:
            MemberFactory.create(workspace=workspace, user=reader, role="viewer")
    own_lists = [list_create(user=writer, data={"name": "mine"})[0] for writer in writers]
    clients = [Reader(user) for user in readers]

    errors: list[BaseException] = []
    done, stop = threading.Event(), threading.Event()
    reading = [
        threading.Thread(target=_guard(errors, _read), args=(client, done, n))
        for n, client in enumerate(clients)
    ]
    refused: list[str] = []
    writing = [
        threading.Thread(target=_guard(errors, _write), args=(writer, lists, own, n, refused))
        for n, (writer, own) in enumerate(zip(writers, own_lists, strict=True))
    ]
    membership_changes: list[str] = []
    membership = threading.Thread(
        target=_guard(errors, _change_memberships),
        args=(owner, workspaces, readers, stop, membership_changes),
    )
    started = time.monotonic()
    for thread in (*reading, *writing, membership):
        thread.start()
    for thread in writing:
        thread.join(120)
    stop.set()
    membership.join(60)
    done.set()
    for thread in reading:
        thread.join(120)

    assert not errors, errors
    assert not any(thread.is_alive() for thread in (*reading, *writing, membership)), "a thread hung"
    assert time.monotonic() - started < 240
    for client in clients:
        server = server_state(client.user)
        missing, extra = set(server) - set(client.replica), set(client.replica) - set(server)
        stale = {key for key in set(server) & set(client.replica) if server[key] != client.replica[key]}
        assert client.replica == server, (client.user.email, missing, extra, stale)
        assert client.pulls > 3
    assert len(membership_changes) >= 5
    print(
        f"membership changes {len(membership_changes)}, refused writes {len(refused)}, "
        f"pulls {[c.pulls for c in clients]}, restarts {[c.restarts for c in clients]}"
    )
    everything = {key for client in clients for key in client.replica}
    assert any(key[0] == "item" for key in everything)

"""A list moved between spaces, with its items, as three readers pull it (docs/api/sync.md): one who sees
only the old space gets tombstones, one who sees only the new space gets the entities, one who sees both
gets each entity once with its new state and never a tombstone."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from accounts.models import User
from core.versioning import BaseVersion
from lists.models import Item, List
from lists.services import item_update, list_update
from tests.conftest import client_for
from tests.factories import ItemFactory, ListFactory, MemberFactory, UserFactory, WorkspaceFactory
from tests.sync.helpers import apply_changes, pull_all, server_state

pytestmark = pytest.mark.django_db


class Readers:
    """Each reader's client, cursor and replica, brought up to date."""

    def __init__(self, users: dict[str, User]) -> None:
        self.users = users
        self.clients = {name: client_for(user) for name, user in users.items()}
        self.cursors: dict[str, Any] = {}
        self.replicas: dict[str, dict[tuple[str, str], dict[str, Any]]] = {}
        for name in users:
            self.replicas[name] = {}
            self.pull(name)

    def pull(self, name: str) -> list[dict[str, Any]]:
        self.cursors[name], changes = pull_all(self.clients[name], self.cursors.get(name, 0))
        apply_changes(self.replicas[name], changes)
        return changes


def _of(changes: list[dict[str, Any]], ids: set[str]) -> list[tuple[str, bool]]:
    return sorted((change["id"], change["deleted"]) for change in changes if change["id"] in ids)


@pytest.fixture
def world(db: Any) -> tuple[User, Any, Any, Readers]:
    mover = UserFactory.create()
    old = WorkspaceFactory.create(user=mover, name="Old")
    new = WorkspaceFactory.create(user=mover, name="New")
    readers = {
        "old only": UserFactory.create(),
        "new only": UserFactory.create(),
        "both": UserFactory.create(),
    }
    MemberFactory.create(workspace=old, user=readers["old only"], role="viewer")
    MemberFactory.create(workspace=new, user=readers["new only"], role="viewer")
    MemberFactory.create(workspace=old, user=readers["both"], role="viewer")
    MemberFactory.create(workspace=new, user=readers["both"], role="viewer")
    return mover, old, new, Readers({**readers, "mover": mover})


def test_a_list_moved_between_workspaces_reaches_each_reader_as_the_contract_says(world: Any) -> None:
    mover, old, new, readers = world
    a_list = ListFactory.create(user=mover, workspace=old.pk)
    items = [ItemFactory.create(list=a_list, user=mover) for _ in range(3)]
    for name in readers.users:
        readers.pull(name)
    ids = {str(a_list.pk), *(str(item.pk) for item in items)}

    list_update(user=mover, list_id=a_list.pk, base=BaseVersion(version=1), data={"workspace": new.pk})

    gone = readers.pull("old only")
    arrived = readers.pull("new only")
    seen_by_both = readers.pull("both")
    assert _of(gone, ids) == sorted((i, True) for i in ids)
    assert _of(arrived, ids) == sorted((i, False) for i in ids)
    assert _of(seen_by_both, ids) == sorted((i, False) for i in ids)
    assert Counter(change["id"] for change in seen_by_both if change["id"] in ids) == Counter(ids)
    moved = next(change for change in seen_by_both if change["id"] == str(a_list.pk))
    assert moved["data"]["workspace"] == str(new.pk)
    for name, user in readers.users.items():
        readers.pull(name)
        assert readers.replicas[name] == server_state(user), name


def test_a_personal_list_moved_into_a_workspace_and_back(world: Any) -> None:
    mover, old, _new, readers = world
    a_list = ListFactory.create(user=mover, name="Mine")
    item = ItemFactory.create(list=a_list, user=mover)
    ids = {str(a_list.pk), str(item.pk)}
    readers.pull("mover")

    list_update(user=mover, list_id=a_list.pk, base=BaseVersion(version=1), data={"workspace": old.pk})
    assert _of(readers.pull("old only"), ids) == sorted((i, False) for i in ids)
    # The mover sees both spaces: one change each, never a tombstone.
    assert _of(readers.pull("mover"), ids) == sorted((i, False) for i in ids)

    list_update(user=mover, list_id=a_list.pk, base=BaseVersion(version=2), data={"workspace": None})
    assert _of(readers.pull("old only"), ids) == sorted((i, True) for i in ids)
    assert _of(readers.pull("mover"), ids) == sorted((i, False) for i in ids)
    for name, user in readers.users.items():
        assert readers.replicas[name] == server_state(user), name
    assert List.objects.get(pk=a_list.pk).workspace_id is None


def test_an_item_moved_to_a_list_of_another_workspace(world: Any) -> None:
    mover, old, new, readers = world
    source = ListFactory.create(user=mover, workspace=old.pk)
    target = ListFactory.create(user=mover, workspace=new.pk)
    item = ItemFactory.create(list=source, user=mover)
    for name in readers.users:
        readers.pull(name)

    item_update(user=mover, item_id=item.pk, base=BaseVersion(version=1), data={"list": target.pk})

    ids = {str(item.pk)}
    assert _of(readers.pull("old only"), ids) == [(str(item.pk), True)]
    assert _of(readers.pull("new only"), ids) == [(str(item.pk), False)]
    assert _of(readers.pull("both"), ids) == [(str(item.pk), False)]
    assert Item.objects.get(pk=item.pk).space_id == new.space_id

"""Randomized offline clients of three members of two workspaces, one member with a second device: they
edit offline (lists and items, personal and shared, moves of lists and items between personal data and
the workspaces), push later through `POST sync`, while the owner changes who belongs. Every replica
converges to what its user may see, and no accepted write is lost.

Each client's replica is made only of what the server sent; its offline edits go to a working copy that
the UI would show, so later operations of a batch may use ids created by earlier ones. Between rounds the
owner removes a member, adds them back, or changes a role: a client learns it only from the feed (a
workspace tombstone, the whole workspace again, its `member` entity), so some of its operations are
refused (`permission_denied`, `not_found`), and that is part of what converges.
"""

from __future__ import annotations

import copy
import random
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest

from lists.models import Item, List
from tests.factories import MemberFactory, UserFactory, WorkspaceFactory
from tests.sync.helpers import SYNC_URL, apply_changes, pull, push, server_state
from workspaces.models import Member
from workspaces.services import member_change_role, member_remove

pytestmark = pytest.mark.django_db

SEEDS = range(8)
ROUNDS = 6
Replica = dict[tuple[str, str], dict[str, Any]]
MODELS = {"list": List, "item": Item}


@dataclass
class Client:
    name: str
    user: Any
    api: Any
    replica: Replica = field(default_factory=dict)
    cursor: Any = None
    restarts: int = 0


@dataclass
class Accepted:
    type: str
    id: str
    version: int
    values: dict[str, Any]


def _follow(client: Client, answer: dict[str, Any]) -> None:
    if client.cursor is None:
        client.replica = {}
    apply_changes(client.replica, answer["changes"])
    client.cursor = answer["cursor"]
    while answer["has_more"]:
        response = client.api.get(SYNC_URL, {"cursor": client.cursor, "limit": 4})
        if response.status_code == 410:
            _start_again(client)
            return
        assert response.status_code == 200, response.content
        answer = response.json()
        apply_changes(client.replica, answer["changes"])
        client.cursor = answer["cursor"]


def _start_again(client: Client) -> None:
    """A 410: the client replaces its replica with a full sync (keeping nothing but its outbox)."""
    client.restarts += 1
    client.cursor = None
    _follow(client, pull(client.api, limit=4))


def _writable_workspaces(client: Client) -> list[str | None]:
    """Where the client believes it may write: personal data, and workspaces where it is an editor."""
    me = str(client.user.pk)
    roles = {
        m["workspace"]: m["role"] for (t, _), m in client.replica.items() if t == "member" and m["user"] == me
    }
    return [None, *sorted(w for w, role in roles.items() if role in ("editor", "admin", "owner"))]


def _offline_edits(rng: random.Random, client: Client, working: Replica) -> list[dict[str, Any]]:
    operations: list[dict[str, Any]] = []
    for _ in range(rng.randint(1, 5)):
        lists = sorted(k for k in working if k[0] == "list")
        items = sorted(k for k in working if k[0] == "item")
        places = _writable_workspaces(client)
        operation: dict[str, Any] = {"op_id": str(uuid.uuid4())}
        roll = rng.random()
        if roll < 0.12 or not lists:
            entity_id = str(uuid.uuid4())
            data: dict[str, Any] = {"name": f"list {rng.randint(0, 99)}", "workspace": rng.choice(places)}
            operation.update(type="list", action="create", id=entity_id, data=data)
            working[("list", entity_id)] = {"version": 1, **data}
        elif roll < 0.35 or not items:
            entity_id = str(uuid.uuid4())
            data = {"list": rng.choice(lists)[1], "title": f"item {rng.randint(0, 99)}"}
            operation.update(type="item", action="create", id=entity_id, data=data)
            working[("item", entity_id)] = {"version": 1, **data}
        elif roll < 0.65:
            key = rng.choice(items)
            choices = {
                "title": f"title {rng.randint(0, 99)}",
                "notes": f"notes {rng.randint(0, 99)}",
                "priority": rng.randint(1, 4),
                "status": rng.choice(["open", "done"]),
            }
            data = dict(rng.sample(sorted(choices.items()), rng.randint(1, 2)))
            _update(operation, working, key, data)
        elif roll < 0.78:  # an item moves to another list, perhaps in another space
            _update(operation, working, rng.choice(items), {"list": rng.choice(lists)[1]})
        elif roll < 0.88:  # a list moves between personal data and a workspace, with its items
            _update(operation, working, rng.choice(lists), {"workspace": rng.choice(places)})
        elif roll < 0.92:
            _update(operation, working, rng.choice(lists), {"name": f"renamed {rng.randint(0, 99)}"})
        elif roll < 0.98:
            key = rng.choice(items)
            operation.update(type="item", action="delete", id=key[1], version=working.pop(key)["version"])
        else:
            key = rng.choice(lists)
            operation.update(type="list", action="delete", id=key[1], version=working.pop(key)["version"])
            for item_key in [k for k, v in working.items() if k[0] == "item" and v.get("list") == key[1]]:
                working.pop(item_key)
        operations.append(operation)
    return operations


def _update(operation: dict[str, Any], working: Replica, key: tuple[str, str], data: dict[str, Any]) -> None:
    version = working[key]["version"]
    operation.update(type=key[0], action="update", id=key[1], version=version, data=data)
    working[key].update(data, version=version + 1)


def _check_results(
    operations: list[dict[str, Any]], results: list[dict[str, Any]], log: list[Accepted]
) -> None:
    assert [r["op_id"] for r in results] == [o["op_id"] for o in operations]
    for operation, result in zip(operations, results, strict=True):
        status = result["status"]
        assert status in ("applied", "merged", "conflict", "invalid"), result
        if status == "invalid":
            assert result["error"]["code"] in (
                "permission_denied",
                "not_found",
                "id_conflict",
                "validation_error",
            ), result
        if status in ("applied", "merged") and operation["action"] != "delete":
            entity = result["entity"]
            for name, sent in operation["data"].items():
                assert entity[name] == sent, (operation, entity)
            log.append(Accepted(operation["type"], operation["id"], entity["version"], operation["data"]))


def _change_memberships(rng: random.Random, owner: Any, workspaces: list[Any], others: list[Any]) -> None:
    workspace, user = rng.choice(workspaces), rng.choice(others)
    if workspace.user_id == user.pk:
        return
    member = Member.objects.filter(workspace=workspace, user=user).first()
    roll = rng.random()
    if member is None:
        if roll < 0.7:
            MemberFactory.create(workspace=workspace, user=user, role=rng.choice(["editor", "viewer"]))
    elif roll < 0.35:
        member_remove(user=owner(workspace), workspace_id=workspace.pk, member_user_id=user.pk)
    elif roll < 0.6 and member.role != "owner":
        role = "viewer" if member.role == "editor" else "editor"
        member_change_role(
            user=owner(workspace), workspace_id=workspace.pk, member_user_id=user.pk, role=role
        )


@pytest.mark.parametrize("seed", SEEDS)
def test_members_offline_clients_converge_to_what_each_may_see(make_client: Any, seed: int) -> None:
    rng = random.Random(seed)
    ada, ben, cy = (UserFactory.create(display_name=name) for name in ("Ada", "Ben", "Cy"))
    home = WorkspaceFactory.create(user=ada, name="Home")
    work = WorkspaceFactory.create(user=ben, name="Work")
    MemberFactory.create(workspace=home, user=ben, role="editor")
    MemberFactory.create(workspace=home, user=cy, role="editor")
    MemberFactory.create(workspace=work, user=ada, role="editor")
    owners = {home.pk: ada, work.pk: ben}
    clients = [
        Client("ada's phone", ada, make_client(ada)),
        Client("ada's laptop", ada, make_client(ada)),
        Client("ben", ben, make_client(ben)),
        Client("cy", cy, make_client(cy)),
    ]
    log: list[Accepted] = []
    for client in clients:
        _follow(client, pull(client.api, limit=4))

    for _round in range(ROUNDS):
        batches = [(client, _offline_edits(rng, client, copy.deepcopy(client.replica))) for client in clients]
        rng.shuffle(batches)
        for client, operations in batches:
            response = push(client.api, operations, cursor=client.cursor)
            if response.status_code == 410:
                _start_again(client)
                response = push(client.api, operations, cursor=client.cursor)  # the same op_ids
            assert response.status_code == 200, response.content
            answer = response.json()
            _check_results(operations, answer["results"], log)
            _follow(client, answer)
            if rng.random() < 0.5:
                _change_memberships(rng, lambda w: owners[w.pk], [home, work], [ada, ben, cy])

    for client in clients:
        response = client.api.get(SYNC_URL, {"cursor": client.cursor, "limit": 4})
        if response.status_code == 410:
            _start_again(client)
        else:
            assert response.status_code == 200
            _follow(client, response.json())
        assert client.replica == server_state(client.user), client.name

    # No accepted write lost: the latest accepted value of each field is what the entity holds now.
    latest: dict[tuple[str, str, str], Accepted] = {}
    for write in sorted(log, key=lambda w: w.version):
        for name in write.values:
            latest[(write.type, write.id, name)] = write
    for (type_name, entity_id, name), write in latest.items():
        entity = MODELS[type_name].objects.filter(pk=entity_id).first()
        if entity is None:
            continue  # deleted later (itself, its list, or its workspace)
        stored = _api_value(entity, name)
        assert stored == write.values[name], (type_name, entity_id, name, write)
    assert log


def _api_value(entity: Any, name: str) -> Any:
    value = getattr(entity, f"{name}_id", None) if name in ("list", "workspace") else getattr(entity, name)
    return str(value) if name in ("list", "workspace") and value is not None else value

"""Randomized offline clients through the real HTTP API: they converge, and no accepted write is lost.

The clients edit every synced type: lists and items, anti-todo entries (some linked to items), focus cards
(a few shared dates, so clients race for a day's card) and the profile (name, time zone, preferences).

Each simulated client keeps a replica made only of what the server sent (pulled changes), edits a working
copy of it offline, then pushes its operations and pulls in one round trip. Clients take turns in random
order. At the end every replica equals the server's data, every operation got exactly one result, every
conflict was reported to the client whose write lost, and every accepted write is either in the final
state or was overwritten by a later accepted write (or its entity was deleted).
"""

from __future__ import annotations

import copy
import random
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.sync.helpers import apply_changes, pull, push, server_state

SEEDS = range(20)
ROUNDS = 5
Replica = dict[tuple[str, str], dict[str, Any]]


@dataclass
class Client:
    name: str
    api: Any
    replica: Replica = field(default_factory=dict)
    cursor: int = 0
    conflicts: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class AcceptedWrite:
    type: str
    id: str
    version: int
    values: dict[str, Any]


def _pull_rest(user_client: Client, answer: dict[str, Any]) -> None:
    apply_changes(user_client.replica, answer["changes"])
    user_client.cursor = answer["cursor"]
    while answer["has_more"]:
        answer = pull(user_client.api, user_client.cursor, limit=3)
        apply_changes(user_client.replica, answer["changes"])
        user_client.cursor = answer["cursor"]


CARD_DATES = ("2026-03-01", "2026-03-02", "2026-03-03")
TIMEZONES = ("UTC", "Europe/Paris", "America/New_York", "Asia/Tokyo")


def _keys(working: Replica, type_name: str) -> list[tuple[str, str]]:
    return sorted(k for k in working if k[0] == type_name)


def _update(operation: dict[str, Any], working: Replica, key: tuple[str, str], data: dict[str, Any]) -> None:
    version = working[key]["version"]
    operation.update(type=key[0], action="update", id=key[1], version=version, data=data)
    working[key].update(data, version=version + 1)


def _delete(operation: dict[str, Any], working: Replica, key: tuple[str, str]) -> None:
    operation.update(type=key[0], action="delete", id=key[1], version=working.pop(key)["version"])


def _anti_todo_edit(rng: random.Random, working: Replica, operation: dict[str, Any]) -> None:
    entries, items = _keys(working, "anti_todo"), _keys(working, "item")
    roll = rng.random()
    if roll < 0.45 or not entries:
        entity_id = str(uuid.uuid4())
        data: dict[str, Any] = {"title": f"did {rng.randint(0, 999)}", "date": rng.choice(CARD_DATES)}
        if items and rng.random() < 0.5:
            data["item"] = rng.choice(items)[1]
        operation.update(type="anti_todo", action="create", id=entity_id, data=data)
        working[("anti_todo", entity_id)] = {"version": 1, **data}
    elif roll < 0.85:
        choices: dict[str, Any] = {
            "title": f"did {rng.randint(0, 99)}",
            "note": f"note {rng.randint(0, 99)}",
            "date": rng.choice(CARD_DATES),
            "item": rng.choice(items)[1] if items and rng.random() < 0.7 else None,
        }
        _update(
            operation,
            working,
            rng.choice(entries),
            dict(rng.sample(sorted(choices.items()), rng.randint(1, 2))),
        )
    else:
        _delete(operation, working, rng.choice(entries))


def _focus_card_edit(rng: random.Random, working: Replica, operation: dict[str, Any]) -> None:
    cards, items = _keys(working, "focus_card"), _keys(working, "item")
    picked = [key[1] for key in rng.sample(items, min(len(items), rng.randint(0, 3)))]
    roll = rng.random()
    taken = {working[key].get("date") for key in cards}
    free = [day for day in CARD_DATES if day not in taken]
    if (roll < 0.4 or not cards) and free:
        entity_id = str(uuid.uuid4())
        data: dict[str, Any] = {"date": rng.choice(free), "intention": f"focus {rng.randint(0, 99)}"}
        data["items"] = picked
        operation.update(type="focus_card", action="create", id=entity_id, data=data)
        working[("focus_card", entity_id)] = {"version": 1, **data}
    elif roll < 0.85 and cards:
        key = rng.choice(cards)
        choices = {"intention": f"focus {rng.randint(0, 99)}", "items": picked}
        _update(operation, working, key, dict(rng.sample(sorted(choices.items()), rng.randint(1, 2))))
    elif cards:
        _delete(operation, working, rng.choice(cards))
    else:
        _update(operation, working, _keys(working, "profile")[0], {"display_name": f"n{rng.randint(0, 99)}"})


def _profile_edit(rng: random.Random, working: Replica, operation: dict[str, Any]) -> None:
    choices: dict[str, Any] = {
        "display_name": f"name {rng.randint(0, 99)}",
        "timezone": rng.choice(TIMEZONES),
        "preferences": rng.choice(
            [
                {"focus_size": rng.randint(1, 10)},
                {"week_start": rng.randint(0, 6)},
                {"focus_auto_generate": rng.random() < 0.5},
            ]
        ),
    }
    key = _keys(working, "profile")[0]
    data = dict(rng.sample(sorted(choices.items()), rng.randint(1, 2)))
    version = working[key]["version"]
    operation.update(type="profile", action="update", id=key[1], version=version, data=data)
    preferences = {**working[key].get("preferences", {}), **data.get("preferences", {})}
    working[key].update(data, version=version + 1)
    if "preferences" in data:
        working[key]["preferences"] = preferences


def _offline_edits(rng: random.Random, working: Replica) -> list[dict[str, Any]]:
    """A few random operations, applied to `working` as the client's UI would."""
    operations: list[dict[str, Any]] = []
    for _ in range(rng.randint(1, 4)):
        kind = rng.random()
        if kind < 0.4:
            operation: dict[str, Any] = {"op_id": str(uuid.uuid4())}
            (_anti_todo_edit if kind < 0.18 else _focus_card_edit if kind < 0.32 else _profile_edit)(
                rng, working, operation
            )
            operations.append(operation)
            continue
        lists = sorted(k for k in working if k[0] == "list")
        items = sorted(k for k in working if k[0] == "item")
        roll = rng.random()
        operation = {"op_id": str(uuid.uuid4())}
        if roll < 0.15 or not lists:
            entity_id = str(uuid.uuid4())
            data = {"name": f"list {rng.randint(0, 999)}", "position": rng.randint(0, 9)}
            operation.update(type="list", action="create", id=entity_id, data=data)
            working[("list", entity_id)] = {"version": 1, **data}
        elif roll < 0.35 or not items:
            entity_id = str(uuid.uuid4())
            data = {"list": rng.choice(lists)[1], "title": f"item {rng.randint(0, 999)}"}
            operation.update(type="item", action="create", id=entity_id, data=data)
            working[("item", entity_id)] = {"version": 1, "status": "open", **data}
        elif roll < 0.80:
            key = rng.choice(items)
            choices = {
                "title": f"title {rng.randint(0, 99)}",
                "notes": f"notes {rng.randint(0, 99)}",
                "priority": rng.randint(1, 4),
                "status": rng.choice(["open", "done"]),
                "position": rng.randint(0, 9),
            }
            data = dict(rng.sample(sorted(choices.items()), rng.randint(1, 2)))
            version = working[key]["version"]
            operation.update(type="item", action="update", id=key[1], version=version, data=data)
            working[key].update(data, version=version + 1)
        elif roll < 0.88:
            key = rng.choice(lists)
            data = {"name": f"renamed {rng.randint(0, 99)}"}
            version = working[key]["version"]
            operation.update(type="list", action="update", id=key[1], version=version, data=data)
            working[key].update(data, version=version + 1)
        elif roll < 0.97:
            key = rng.choice(items)
            operation.update(type="item", action="delete", id=key[1], version=working.pop(key)["version"])
        else:
            key = rng.choice(lists)
            operation.update(type="list", action="delete", id=key[1], version=working.pop(key)["version"])
            for item_key in [k for k, v in working.items() if k[0] == "item" and v.get("list") == key[1]]:
                working.pop(item_key)
        operations.append(operation)
    return operations


def _check_results(
    user_client: Client,
    operations: list[dict[str, Any]],
    results: list[dict[str, Any]],
    log: list[AcceptedWrite],
) -> None:
    assert [r["op_id"] for r in results] == [o["op_id"] for o in operations]
    for operation, result in zip(operations, results, strict=True):
        status = result["status"]
        assert status in ("applied", "merged", "conflict", "invalid"), result
        if status == "conflict":
            error = result["error"]
            # A no-op write keeps its version, so a later base the client assumed may even be ahead.
            assert error["current"]["version"] != operation["version"]
            assert isinstance(error["conflicting_fields"], list)
            if operation["action"] == "update" and error["current"]["version"] > operation["version"]:
                # The fields it sets, and what follows from them (status sets completed_at).
                assert error["conflicting_fields"], result
            user_client.conflicts.append(operation)
        elif status in ("applied", "merged") and operation["action"] != "delete":
            entity = result["entity"]
            values = {k: _field(operation["type"], entity, k) for k in operation["data"]}
            assert _matches(operation["data"], values), (operation, entity)
            log.append(
                AcceptedWrite(operation["type"], operation["id"], entity["version"], operation["data"])
            )


def _field(type_name: str, entity: dict[str, Any], name: str) -> Any:
    """A field of an entity as the API answers it, in the shape the client sent it."""
    if type_name == "focus_card" and name == "items":
        return [entry["item"] if isinstance(entry, dict) else entry for entry in entity["items"]]
    return entity[name]


def _matches(sent: Any, stored: Any) -> bool:
    """`stored` holds what was sent; objects (preferences) merge key by key, so they may hold more."""
    if isinstance(sent, dict):
        return isinstance(stored, dict) and all(
            k in stored and _matches(v, stored[k]) for k, v in sent.items()
        )
    return bool(sent == stored)


def _still_holds(server: Replica, type_name: str, name: str, sent: Any, stored: Any) -> bool:
    """A later server-side change may follow from a deletion: an item's deletion unlinks it from anti-todo
    entries and removes it from cards. Apart from that, the accepted value must still be there."""
    live_items = {key[1] for key in server if key[0] == "item"}
    if type_name == "anti_todo" and name == "item" and sent not in live_items:
        return stored is None
    if type_name == "focus_card" and name == "items":
        return bool(stored == [item for item in sent if item in live_items])
    return _matches(sent, stored)


@pytest.mark.django_db
@pytest.mark.parametrize("seed", SEEDS)
def test_offline_clients_converge_without_losing_accepted_writes(
    user: Any, make_client: Any, seed: int
) -> None:
    rng = random.Random(seed)
    clients = [Client(name, make_client(user)) for name in ("phone", "tablet", "web")]
    log: list[AcceptedWrite] = []
    pushed = 0
    for user_client in clients:
        _pull_rest(user_client, pull(user_client.api))

    for _round in range(ROUNDS):
        batches = [
            (user_client, _offline_edits(rng, copy.deepcopy(user_client.replica))) for user_client in clients
        ]
        rng.shuffle(batches)
        for user_client, operations in batches:
            response = push(user_client.api, operations, cursor=user_client.cursor)
            assert response.status_code == 200, response.content
            answer = response.json()
            _check_results(user_client, operations, answer["results"], log)
            pushed += len(operations)
            if rng.random() < 0.2:  # the answer was lost: the client sends the same batch again
                replay = push(user_client.api, operations, cursor=user_client.cursor).json()
                assert replay["results"] == answer["results"]
            _pull_rest(user_client, answer)

    for user_client in clients:
        _pull_rest(user_client, pull(user_client.api, user_client.cursor, limit=3))
    server = server_state(user)
    for user_client in clients:
        assert user_client.replica == server, user_client.name

    last_write: dict[tuple[str, str, str], AcceptedWrite] = {}
    for write in sorted(log, key=lambda w: w.version):
        for name in write.values:
            last_write[(write.type, write.id, name)] = write
    for (type_name, entity_id, name), write in last_write.items():
        if (type_name, entity_id) in server:
            stored = server[(type_name, entity_id)][name]
            assert _still_holds(server, type_name, name, write.values[name], stored), (
                type_name,
                entity_id,
                name,
            )
    assert pushed > 0

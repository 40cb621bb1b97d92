"""Small helpers shared by the sync tests."""

from __future__ import annotations

import uuid
from typing import Any, cast

from rest_framework.test import APIClient

from lists.models import Item, List
from sync import registry
from sync.cursors import parse_cursor
from sync.spaces import personal_space_id
from tests.factories import ItemFactory, ListFactory

SYNC_URL = "/api/v1/sync"


def make_list(**kwargs: Any) -> List:
    return cast(List, ListFactory(**kwargs))


def make_item(**kwargs: Any) -> Item:
    return cast(Item, ItemFactory(**kwargs))


def position(user: Any, cursor: Any) -> int:
    """The position a cursor holds in the user's personal space (0: none)."""
    return parse_cursor(cursor).positions_for(user).get(personal_space_id(user), 0)


def pull(user_client: APIClient, cursor: Any = None, limit: int | None = None) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if cursor is not None:
        params["cursor"] = cursor
    if limit is not None:
        params["limit"] = limit
    response = user_client.get(SYNC_URL, params)
    assert response.status_code == 200, response.content
    return dict(response.json())


def pull_all(user_client: APIClient, cursor: Any = 0, limit: int = 500) -> tuple[Any, list[dict[str, Any]]]:
    """Follows `has_more` to the end; answers the final cursor and every change seen, in order."""
    seen: list[dict[str, Any]] = []
    while True:
        answer = pull(user_client, cursor, limit)
        seen.extend(answer["changes"])
        cursor = answer["cursor"]
        if not answer["has_more"]:
            return cursor, seen


def push(user_client: APIClient, operations: list[dict[str, Any]], cursor: Any = None, **extra: Any) -> Any:
    body: dict[str, Any] = {"operations": operations}
    if cursor is not None:
        body["cursor"] = cursor
    return user_client.post(SYNC_URL, body, format="json", **extra)


def op(action: str, type_: str, entity_id: Any, version: int | None = None, **data: Any) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "op_id": str(uuid.uuid4()),
        "type": type_,
        "action": action,
        "id": str(entity_id),
    }
    if version is not None:
        operation["version"] = version
    if data:
        operation["data"] = data
    return operation


def apply_changes(replica: dict[tuple[str, str], dict[str, Any]], changes: list[dict[str, Any]]) -> None:
    """What a client does with a pull: upsert live entities, drop deleted ones; a workspace's tombstone
    drops the workspace and everything it held (its members and lists, and their items)."""
    for change in changes:
        key = (change["type"], change["id"])
        if change["deleted"]:
            replica.pop(key, None)
            if change["type"] == "workspace":
                _drop_workspace(replica, change["id"])
        else:
            replica[key] = {"version": change["version"], **change["data"]}


def _drop_workspace(replica: dict[tuple[str, str], dict[str, Any]], workspace_id: str) -> None:
    # Only what lives in the workspace: an invitation to it lives in the invitee's personal space and stays.
    held = [
        key
        for key, data in replica.items()
        if key[0] in ("member", "list") and data.get("workspace") == workspace_id
    ]
    dropped_lists = {entity_id for type_name, entity_id in held if type_name == "list"}
    held += [key for key, data in replica.items() if key[0] == "item" and data.get("list") in dropped_lists]
    for key in held:
        replica.pop(key, None)


def server_state(user: Any) -> dict[tuple[str, str], dict[str, Any]]:
    """The user's data as a replica that pulled everything would hold it."""
    state: dict[tuple[str, str], dict[str, Any]] = {}
    for sync_type in registry.all_types():
        for entity in sync_type.model.objects.for_user(user):
            state[(sync_type.name, str(entity.pk))] = {"version": entity.version, **sync_type.to_data(entity)}
    return state

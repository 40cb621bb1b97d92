"""A client developer's journey with the Python client that openapi-python-client generates from
docs/api/openapi.yaml (scripts/clients/run.sh generates it into build/, checks this file with mypy --strict,
then runs it against a live server). Every answer is validated against the schema with openapi-core.

Usage: python journey.py BASE_URL SCHEMA_PATH
"""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path
from typing import TypeVar
from urllib.parse import parse_qs, urlsplit

import httpx
from daymark_client import AuthenticatedClient, Client
from daymark_client.api.api_keys import create_api_key, list_api_keys, revoke_api_key
from daymark_client.api.auth import login, refresh_token, register
from daymark_client.api.items import create_item, delete_item, get_item, list_items, update_item
from daymark_client.api.lists import create_list, list_lists
from daymark_client.api.sync import pull_changes, push_changes
from daymark_client.api.user import export_data
from daymark_client.models import (
    ApiKeyCreated,
    ApiKeyRequest,
    ApiKeyScope,
    ExportDocument,
    Item,
    ItemChange,
    ItemData,
    ItemOperation,
    ItemOperationType,
    ItemOrdering,
    ItemRequest,
    ItemStatus,
    List,
    ListChange,
    ListItemsStatus,
    ListRequest,
    PaginatedApiKeyList,
    PaginatedItemList,
    PaginatedListList,
    PatchedItemRequest,
    Problem,
    PushResultStatus,
    RefreshRequest,
    RegisterRequest,
    RegisterResponse,
    SyncAction,
    SyncChanges,
    SyncPushRequest,
    SyncPushResult,
    TokenObtainRequest,
    TokenPair,
)
from daymark_client.types import UNSET, Response, Unset
from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

T = TypeVar("T")
U = TypeVar("U")


class _Request:
    """An httpx request as openapi-core reads it."""

    def __init__(self, request: httpx.Request) -> None:
        self.host_url = f"{request.url.scheme}://{request.url.netloc.decode()}"
        self.path = request.url.path
        self.full_url_pattern = f"{self.host_url}{self.path}"
        self.method = request.method.lower()
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(list(request.url.params.multi_items())),
            header=Headers(list(request.headers.items())),
        )
        self.content_type = request.headers.get("Content-Type", "")
        self.body = request.content or None


class _Response:
    def __init__(self, response: httpx.Response) -> None:
        self.status_code = response.status_code
        self.headers = Headers(list(response.headers.items()))
        self.content_type = response.headers.get("Content-Type", "")
        self.data = response.content or None


class SchemaCheck:
    """Validates every answer against the schema (status, headers and body)."""

    def __init__(self, schema_path: Path) -> None:
        # Problem answers are JSON too (RFC 9457).
        config = Config(extra_media_type_deserializers={"application/problem+json": json.loads})
        self.openapi = OpenAPI.from_file_path(str(schema_path), config=config)
        self.checked = 0

    def __call__(self, response: httpx.Response) -> None:
        response.read()
        self.openapi.validate_response(_Request(response.request), _Response(response))
        self.checked += 1


def answer(response: Response[U], expected_status: int, kind: type[T]) -> T:
    """The parsed body of an expected answer, narrowed to its type."""
    assert response.status_code == expected_status, (response.status_code, response.content[:500])
    parsed = response.parsed
    assert isinstance(parsed, kind), parsed
    return parsed


def problem(response: Response[U], expected_status: int, code: str) -> Problem:
    assert response.status_code == expected_status, (response.status_code, response.content[:500])
    parsed = response.parsed
    assert isinstance(parsed, Problem), parsed
    assert parsed.code == code, parsed.code
    return parsed


def cursor_of(url: str | None) -> str:
    assert url is not None
    [cursor] = parse_qs(urlsplit(url).query)["cursor"]
    return cursor


def main(base_url: str, schema_path: Path) -> None:
    check = SchemaCheck(schema_path)
    hooks = {"event_hooks": {"response": [check]}}
    anonymous = Client(base_url=base_url, httpx_args=hooks)
    email = f"journey-{uuid.uuid4().hex[:12]}@example.com"
    password = "a long journey passphrase"

    # Register, log in, refresh (the old refresh token is spent).
    registered = answer(
        register.sync_detailed(client=anonymous, body=RegisterRequest(email=email, password=password)),
        201,
        RegisterResponse,
    )
    assert registered.user.email == email
    pair = answer(
        login.sync_detailed(client=anonymous, body=TokenObtainRequest(email=email, password=password)),
        200,
        TokenPair,
    )
    refreshed = answer(
        refresh_token.sync_detailed(client=anonymous, body=RefreshRequest(refresh=pair.refresh)),
        200,
        TokenPair,
    )
    problem(
        refresh_token.sync_detailed(client=anonymous, body=RefreshRequest(refresh=pair.refresh)),
        401,
        "authentication_failed",
    )
    client = AuthenticatedClient(base_url=base_url, token=refreshed.access, httpx_args=hooks)

    # Lists and items, a filter and the next page.
    groceries = answer(
        create_list.sync_detailed(client=client, body=ListRequest(name="Groceries")), 201, List
    )
    assert groceries.version == 1
    assert groceries.open_count == 0
    for position, title in enumerate(["Milk", "Bread", "Eggs"]):
        answer(
            create_item.sync_detailed(
                client=client,
                body=ItemRequest(list_=groceries.id, title=title, position=position, priority=2),
            ),
            201,
            Item,
        )
    lists = answer(list_lists.sync_detailed(client=client), 200, PaginatedListList)
    assert [entry.name for entry in lists.results] == ["Groceries"]

    def open_items(cursor: str | Unset = UNSET) -> PaginatedItemList:
        response = list_items.sync_detailed(
            client=client,
            list_=groceries.id,
            status=ListItemsStatus.OPEN,
            ordering=ItemOrdering.POSITION,
            limit=2,
            cursor=cursor,
        )
        return answer(response, 200, PaginatedItemList)

    first = open_items()
    assert [item.title for item in first.results] == ["Milk", "Bread"]
    second = open_items(cursor_of(first.next_))
    assert [item.title for item in second.results] == ["Eggs"]
    assert second.next_ is None
    milk = first.results[0]

    # Updates: with the base version in the body, then with If-Match; a 409 and a 412.
    milk = answer(
        update_item.sync_detailed(
            milk.id, client=client, body=PatchedItemRequest(title="Oat milk", version=1)
        ),
        200,
        Item,
    )
    assert milk.version == 2
    milk = answer(
        update_item.sync_detailed(
            milk.id,
            client=client,
            body=PatchedItemRequest(status=ItemStatus.DONE),
            if_match=f'"{milk.version}"',
        ),
        200,
        Item,
    )
    assert milk.version == 3
    assert milk.completed_at is not None
    conflict = problem(
        update_item.sync_detailed(
            milk.id, client=client, body=PatchedItemRequest(title="Soy milk", version=1)
        ),
        409,
        "version_conflict",
    )
    assert conflict.conflicting_fields == ["title"]
    problem(
        update_item.sync_detailed(milk.id, client=client, body=PatchedItemRequest(notes="x"), if_match='"1"'),
        412,
        "precondition_failed",
    )
    assert answer(get_item.sync_detailed(milk.id, client=client), 200, Item).title == "Oat milk"

    # Full sync, then a delete and a push, then an incremental sync from the push's cursor.
    full = answer(pull_changes.sync_detailed(client=client), 200, SyncChanges)
    assert not full.has_more
    assert {change.id for change in full.changes if isinstance(change, ListChange)} == {groceries.id}
    assert len([change for change in full.changes if isinstance(change, ItemChange)]) == 3
    bread = first.results[1]
    deleted = delete_item.sync_detailed(bread.id, client=client, version=bread.version)
    assert deleted.status_code == 204
    butter_id = uuid.uuid4()
    pushed = answer(
        push_changes.sync_detailed(
            client=client,
            body=SyncPushRequest(
                cursor=full.cursor,
                operations=[
                    ItemOperation(
                        op_id=uuid.uuid4(),
                        type_=ItemOperationType.ITEM,
                        action=SyncAction.CREATE,
                        id=butter_id,
                        data=PatchedItemRequest(list_=groceries.id, title="Butter"),
                    )
                ],
            ),
        ),
        200,
        SyncPushResult,
    )
    assert [result.status for result in pushed.results] == [PushResultStatus.APPLIED]
    pushed_items = {change.id: change for change in pushed.changes if isinstance(change, ItemChange)}
    assert pushed_items[bread.id].deleted
    assert pushed_items[bread.id].data is UNSET
    assert not pushed_items[butter_id].deleted
    answer(
        update_item.sync_detailed(milk.id, client=client, body=PatchedItemRequest(notes="2 l", version=3)),
        200,
        Item,
    )
    incremental = answer(pull_changes.sync_detailed(client=client, cursor=pushed.cursor), 200, SyncChanges)
    [change] = incremental.changes
    assert isinstance(change, ItemChange)
    assert change.id == milk.id
    assert isinstance(change.data, ItemData)
    assert change.data.notes == "2 l"

    # API keys: a read-only key reads and may not write; revoked, it stops working.
    created = answer(
        create_api_key.sync_detailed(
            client=client, body=ApiKeyRequest(name="reader", scopes=[ApiKeyScope.READ])
        ),
        201,
        ApiKeyCreated,
    )
    reader = AuthenticatedClient(base_url=base_url, token=created.key, prefix="Api-Key", httpx_args=hooks)
    answer(list_lists.sync_detailed(client=reader), 200, PaginatedListList)
    problem(create_list.sync_detailed(client=reader, body=ListRequest(name="No")), 403, "permission_denied")
    keys = answer(list_api_keys.sync_detailed(client=client), 200, PaginatedApiKeyList)
    assert [key.id for key in keys.results] == [created.id]
    assert revoke_api_key.sync_detailed(created.id, client=client).status_code == 204
    problem(list_lists.sync_detailed(client=reader), 401, "authentication_failed")

    # Export: the whole document, typed.
    document = answer(export_data.sync_detailed(client=client), 200, ExportDocument)
    assert [entry.name for entry in document.lists] == ["Groceries"]
    assert {entry.title for entry in document.items} == {"Oat milk", "Eggs", "Butter"}

    print(f"python journey: passed, {check.checked} answers valid against the schema")


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))

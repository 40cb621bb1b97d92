"""The OpenAPI schema says what the server does (schemathesis checks the live server against it)."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from rest_framework.exceptions import ValidationError
from rest_framework.test import APIClient

from core.dates import DAY_SCHEMA, parse_day

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def schema(django_db_blocker: Any) -> dict[str, Any]:
    with django_db_blocker.unblock():
        return dict(APIClient().get("/api/schema", HTTP_ACCEPT="application/json").json())


def operation(schema: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    return dict(schema["paths"][f"/api/v1/{path}"][method])


def resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def request_schema(schema: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    body = operation(schema, path, method)["requestBody"]["content"]["application/json"]["schema"]
    return resolve(schema, body)


def parameter(schema: dict[str, Any], path: str, method: str, name: str) -> dict[str, Any]:
    [found] = [p for p in operation(schema, path, method)["parameters"] if p["name"] == name]
    return dict(found)


@pytest.mark.parametrize(
    ("path", "method", "statuses"),
    [
        ("focus-card", "get", {"400"}),
        ("focus-cards", "get", {"400"}),
        ("user/insights", "get", {"400"}),
        ("sync", "get", {"400", "410"}),
        ("sync", "post", {"400", "410"}),
    ],
)
def test_query_validation_answers_are_documented(
    schema: dict[str, Any], path: str, method: str, statuses: set[str]
) -> None:
    assert statuses <= set(operation(schema, path, method)["responses"])


def test_problem_errors_are_documented_as_flat_lists_of_messages(schema: dict[str, Any]) -> None:
    errors = schema["components"]["schemas"]["Problem"]["properties"]["errors"]

    assert errors["additionalProperties"] == {"type": "array", "items": {"type": "string"}}


def test_the_sync_parameters_document_their_lower_bounds(schema: dict[str, Any]) -> None:
    assert parameter(schema, "sync", "get", "cursor")["schema"]["minimum"] == 0
    assert parameter(schema, "sync", "get", "limit")["schema"]["minimum"] == 1


def test_the_sync_push_body_is_documented_with_its_members_only(schema: dict[str, Any]) -> None:
    body = request_schema(schema, "sync", "post")

    assert body["additionalProperties"] is False
    assert set(body["properties"]) == {"cursor", "operations"}
    assert body["properties"]["operations"]["maxItems"] == 100
    item = resolve(schema, body["properties"]["operations"]["items"])
    assert set(item["properties"]) == {"op_id", "type", "action", "id", "version", "data"}


def test_the_import_document_is_documented_as_an_export_document_not_anything(
    schema: dict[str, Any],
) -> None:
    document = request_schema(schema, "user/import", "post")["properties"]["document"]

    assert document["type"] == "object"
    assert not document.get("nullable")
    assert document["additionalProperties"] is False
    assert document["properties"]["format"]["enum"] == ["daymark-export"]
    assert document["properties"]["format_version"]["enum"] == [1]
    assert set(document["required"]) == {"format", "format_version"}


def test_api_key_scopes_are_documented_as_the_two_accepted_sets(schema: dict[str, Any]) -> None:
    scopes = request_schema(schema, "user/api-keys", "post")["properties"]["scopes"]

    assert scopes["enum"] == [["read"], ["read", "write"], ["write", "read"]]


@pytest.mark.parametrize(
    ("path", "name"),
    [("focus-card", "date"), ("focus-cards", "from"), ("user/insights", "to"), ("anti-todo", "from")],
)
def test_date_parameters_document_the_accepted_years(schema: dict[str, Any], path: str, name: str) -> None:
    assert parameter(schema, path, "get", name)["schema"] == DAY_SCHEMA


@pytest.mark.parametrize(
    "value",
    ["1899-12-31", "1900-01-01", "2026-11-23", "8999-12-31", "9000-12-31", "9001-01-01", "0046-12-11"],
)
def test_the_day_pattern_accepts_exactly_what_parse_day_accepts(value: str) -> None:
    try:
        parse_day(value)
        accepted = True
    except ValidationError:
        accepted = False

    assert bool(re.match(DAY_SCHEMA["pattern"], value)) is accepted
    assert accepted is (date(1900, 1, 1) <= date.fromisoformat(value) <= date(9000, 12, 31))

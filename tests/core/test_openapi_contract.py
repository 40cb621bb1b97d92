"""The OpenAPI schema says what the server does (schemathesis checks the live server against it)."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from rest_framework.exceptions import ValidationError
from rest_framework.test import APIClient

from config.openapi import OPERATIONS
from core.dates import DAY_SCHEMA, parse_day
from sync import registry

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


def test_the_sync_parameters_document_their_bounds(schema: dict[str, Any]) -> None:
    assert parameter(schema, "sync", "get", "cursor")["schema"] == {"type": "string", "maxLength": 4096}
    assert parameter(schema, "sync", "get", "limit")["schema"]["minimum"] == 1


def test_the_sync_push_body_is_documented_with_its_members_only(schema: dict[str, Any]) -> None:
    body = request_schema(schema, "sync", "post")

    assert body["additionalProperties"] is False
    assert set(body["properties"]) == {"cursor", "operations"}
    assert body["properties"]["operations"]["maxItems"] == 100
    union = resolve(schema, body["properties"]["operations"]["items"])
    for variant in union["oneOf"]:
        assert set(resolve(schema, variant)["properties"]) == {
            "op_id",
            "type",
            "action",
            "id",
            "version",
            "data",
        }


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


def test_api_key_scopes_are_an_array_of_scopes_that_generated_clients_understand(
    schema: dict[str, Any],
) -> None:
    # An enum of arrays made openapi-python-client drop the API key schemas and the operation.
    scopes = request_schema(schema, "user/api-keys", "post")["properties"]["scopes"]

    assert scopes["type"] == "array"
    assert resolve(schema, scopes["items"])["enum"] == ["read", "write"]
    assert "enum" not in scopes


def operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
    ]


def test_every_operation_is_named_summarised_and_tagged_by_the_table(schema: dict[str, Any]) -> None:
    declared_tags = {tag["name"] for tag in schema["tags"]}
    seen = set()
    for method, path, operation in operations(schema):
        tag, operation_id, summary, _ = OPERATIONS[(method, path.removeprefix("/api/v1/"))]
        assert operation["operationId"] == operation_id
        assert operation["summary"] == summary
        assert "\n" not in summary
        assert operation["tags"] == [tag]
        assert tag in declared_tags
        seen.add((method, path.removeprefix("/api/v1/")))
    assert seen == set(OPERATIONS)


@pytest.mark.parametrize(
    ("path", "operation_id"),
    [
        ("auth/register", "register"),
        ("auth/token", "login"),
        ("auth/token/refresh", "refreshToken"),
        ("auth/password/reset", "requestPasswordReset"),
        ("auth/password/reset/confirm", "confirmPasswordReset"),
    ],
)
def test_anonymous_endpoints_need_no_credentials(
    schema: dict[str, Any], path: str, operation_id: str
) -> None:
    assert operation(schema, path, "post")["operationId"] == operation_id
    assert operation(schema, path, "post")["security"] == []


def test_authenticated_endpoints_name_their_schemes(schema: dict[str, Any]) -> None:
    assert operation(schema, "auth/logout", "post")["security"] == [{"jwtAuth": []}, {"apiKeyAuth": []}]


@pytest.mark.parametrize("component", ["Item", "List", "AntiTodoEntry", "FocusCard", "Profile", "ApiKey"])
def test_response_members_the_server_always_sends_are_required(
    schema: dict[str, Any], component: str
) -> None:
    body = schema["components"]["schemas"][component]

    assert "id" in body["required"]
    assert set(body["required"]) == set(body["properties"])


def walk(node: Any) -> Any:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def test_no_request_body_has_defaults(schema: dict[str, Any]) -> None:
    # A default makes the member required in openapi-typescript's types, or sent by the client anyway.
    for name, component in schema["components"]["schemas"].items():
        if name.endswith("Request"):
            assert not [node for node in walk(component) if "default" in node], name


def test_read_only_members_sent_back_are_accepted_by_the_request_schemas(schema: dict[str, Any]) -> None:
    for name in ("ListRequest", "ListReplaceRequest", "PatchedListRequest"):
        members = schema["components"]["schemas"][name]["properties"]
        assert members["created_at"]["readOnly"] is True
        assert members["open_count"]["readOnly"] is True
    # An update's `id` can only repeat the path's: read-only there, and chosen by the client on create.
    assert schema["components"]["schemas"]["ListReplaceRequest"]["properties"]["id"]["readOnly"] is True
    assert "readOnly" not in schema["components"]["schemas"]["ListRequest"]["properties"]["id"]


def test_no_class_docstring_becomes_a_component_description(schema: dict[str, Any]) -> None:
    descriptions = [
        component.get("description", "") for component in schema["components"]["schemas"].values()
    ]

    assert not [text for text in descriptions if "Rejects unknown members" in text or "is_admin" in text]


def test_the_sync_answers_are_typed_with_a_change_union_by_type(schema: dict[str, Any]) -> None:
    components = schema["components"]["schemas"]
    pull = operation(schema, "sync", "get")["responses"]["200"]["content"]["application/json"]["schema"]
    push = operation(schema, "sync", "post")["responses"]["200"]["content"]["application/json"]["schema"]

    assert set(resolve(schema, pull)["required"]) == {"cursor", "has_more", "changes"}
    assert set(resolve(schema, push)["required"]) == {"results", "cursor", "has_more", "changes"}
    change = components["Change"]
    assert change["discriminator"]["propertyName"] == "type"
    assert set(change["discriminator"]["mapping"]) == {sync_type.name for sync_type in registry.all_types()}
    assert components["PushResult"]["properties"]["status"]["enum"] == [
        "applied",
        "merged",
        "conflict",
        "invalid",
    ]
    operation_union = resolve(
        schema, request_schema(schema, "sync", "post")["properties"]["operations"]["items"]
    )
    pushable = {t.name for t in registry.all_types() if t.create or t.update or t.delete}
    assert set(operation_union["discriminator"]["mapping"]) == pushable


def test_the_export_body_is_documented(schema: dict[str, Any]) -> None:
    body = operation(schema, "user/export", "get")["responses"]["200"]["content"]["application/json"][
        "schema"
    ]

    assert set(resolve(schema, body)["required"]) >= {"format", "format_version", "lists", "items"}


def headers_of(schema: dict[str, Any], path: str, method: str, status: str) -> set[str]:
    return set(operation(schema, path, method)["responses"][status].get("headers", {}))


def parameter_refs(schema: dict[str, Any], path: str, method: str) -> set[str]:
    return {p["$ref"].rsplit("/", 1)[1] for p in operation(schema, path, method)["parameters"] if "$ref" in p}


def test_headers_are_documented_where_they_occur(schema: dict[str, Any]) -> None:
    assert {"ETag", "X-Request-ID", "RateLimit", "RateLimit-Policy"} <= headers_of(
        schema, "items/{id}", "get", "200"
    )
    assert {"ETag", "Location", "Idempotent-Replayed"} <= headers_of(schema, "items", "post", "201")
    assert "ETag" not in headers_of(schema, "items", "get", "200")
    assert "Retry-After" in headers_of(schema, "items", "get", "429")
    assert "Retry-After" in headers_of(schema, "items", "get", "503")
    assert parameter_refs(schema, "items/{id}", "patch") == {"IfMatch"}
    assert parameter_refs(schema, "items/{id}", "delete") == {"IfMatch", "Version"}
    assert parameter_refs(schema, "lists", "post") == {"IdempotencyKey"}
    assert set(schema["components"]["headers"]) >= {"ETag", "Location", "Retry-After", "Idempotent-Replayed"}


@pytest.mark.parametrize(("path", "method"), [("lists", "post"), ("items/{id}", "patch"), ("user", "delete")])
def test_the_answers_every_body_can_get_are_documented(
    schema: dict[str, Any], path: str, method: str
) -> None:
    assert {"405", "413", "415", "429", "503"} <= set(operation(schema, path, method)["responses"])


def test_orderings_are_named_enums_with_readable_member_names(schema: dict[str, Any]) -> None:
    ordering = resolve(schema, parameter(schema, "items", "get", "ordering")["schema"])

    assert (
        dict(zip(ordering["enum"], ordering["x-enum-varnames"], strict=True))["-due_date"] == "DUE_DATE_DESC"
    )


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

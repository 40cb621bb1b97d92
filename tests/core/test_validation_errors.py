"""`errors` of a validation problem is flat, as docs/api/errors.md shows it: keys to lists of messages."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from rest_framework.exceptions import ErrorDetail
from rest_framework.test import APIClient

from core.problems import flat_errors
from tests.sync.helpers import op, push

pytestmark = pytest.mark.django_db


def assert_flat(errors: Any) -> dict[str, list[str]]:
    assert isinstance(errors, dict)
    for key, messages in errors.items():
        assert isinstance(key, str)
        assert isinstance(messages, list)
        assert messages
        assert all(isinstance(message, str) for message in messages), (key, messages)
    return errors


def errors_of(response: Any) -> dict[str, list[str]]:
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "validation_error"
    return assert_flat(response.json()["errors"])


def test_a_nested_fields_error_has_a_dotted_key(user_client: APIClient) -> None:
    response = user_client.patch(
        "/api/v1/user/profile", {"version": 1, "preferences": {"focus_size": 99}}, format="json"
    )

    assert list(errors_of(response)) == ["preferences.focus_size"]
    assert "preferences.focus_size" in response.json()["detail"]


def test_an_unknown_member_of_a_nested_object_has_a_dotted_key(user_client: APIClient) -> None:
    response = user_client.patch(
        "/api/v1/user/profile", {"version": 1, "onboarding": {"surprise": 42}}, format="json"
    )

    assert errors_of(response) == {"onboarding.surprise": ["Unknown field."]}


def test_a_list_entrys_error_has_an_indexed_key(user_client: APIClient) -> None:
    response = user_client.post("/api/v1/user/api-keys", {"name": "x", "scopes": [{}]}, format="json")

    assert list(errors_of(response)) == ["scopes[0]"]


def test_every_bad_entry_of_a_focus_card_is_named_by_its_index(user_client: APIClient) -> None:
    good = str(uuid.uuid4())
    response = user_client.put("/api/v1/focus-card", {"items": [good, 0, good, 7]}, format="json")

    assert errors_of(response) == {"items[1]": ["Must be an item id."], "items[3]": ["Must be an item id."]}


def test_an_invalid_sync_operation_reports_errors_in_the_same_flat_shape(user_client: APIClient) -> None:
    operation = op("create", "anti_todo", uuid.uuid4(), title="x", date="2026-01-01", note=5)

    [result] = push(user_client, [operation]).json()["results"]

    assert result["status"] == "invalid"
    assert_flat(result["error"]["errors"])


def test_flat_errors_names_list_serializer_entries_and_keeps_nested_object_errors_on_their_key() -> None:
    detail = {
        "items": [{}, {"title": [ErrorDetail("Too long.")]}],
        "preferences": {"non_field_errors": [ErrorDetail("Bad combination.")]},
        "tags": {2: [ErrorDetail("Not a tag.")]},
        "name": [ErrorDetail("Required."), ErrorDetail("Also bad.")],
    }

    assert flat_errors(detail) == {
        "items[1].title": ["Too long."],
        "preferences": ["Bad combination."],
        "tags[2]": ["Not a tag."],
        "name": ["Required.", "Also bad."],
    }
    assert flat_errors([ErrorDetail("The body must be an object.")]) == {
        "non_field_errors": ["The body must be an object."]
    }

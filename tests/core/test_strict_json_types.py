"""Wrong JSON types are a 400, never coerced (docs/api/errors.md); found by schemathesis."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from lists.models import List


@pytest.mark.parametrize(
    "body",
    [
        {"name": "Home", "archived": 0},
        {"name": "Home", "archived": "yes"},
        {"name": 0},
        {"name": "Home", "position": "3"},
        {"name": "Home", "position": 1.5},
        {"name": "Home", "position": True},
        {"name": "Home", "id": False},
        {"name": "Home", "id": 12},
        {"name": "Home", "version": None},
        {"name": "Home", "version": 2_000_000_001},
        {"name": "Home", "version": "one"},
    ],
)
def test_a_create_with_a_wrong_json_type_is_a_400_and_creates_nothing(
    user_client: APIClient, body: dict[str, Any]
) -> None:
    response = user_client.post("/api/v1/lists", body, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert not List.objects.exists()


def test_the_right_types_are_accepted(user_client: APIClient) -> None:
    response = user_client.post(
        "/api/v1/lists", {"name": "Home", "archived": False, "position": 3, "version": 1}, format="json"
    )

    assert response.status_code == 201

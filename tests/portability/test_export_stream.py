"""GET user/export streams the document piece by piece, the same bytes as rendering it whole, and runs one
at a time per user."""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from core.renderers import JSONRenderer
from portability import services
from tests.factories import ItemFactory, ListFactory
from tests.portability.helpers import pieces, streamed

pytestmark = pytest.mark.django_db

EXPORT = "/api/v1/user/export"


def test_the_export_streams_the_bytes_of_the_whole_document(
    user: User, user_client: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(services, "ENTITIES_PER_QUERY", 2)
    monkeypatch.setattr(services, "EXPORT_PIECE_BYTES", 256)
    home = ListFactory.create(user=user, name="Home")
    ItemFactory.create_batch(5, list=home, notes='é ✓ "quoted" \\ line\nbreak')
    ListFactory.create(user=user, name="Empty")

    response = user_client.get(EXPORT)

    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "application/json"
    sent = pieces(response)
    body = b"".join(sent)
    assert len(sent) > 1
    document = json.loads(body)
    assert JSONRenderer().render(document) == body
    sections = ("lists", "items", "focus_cards", "anti_todo")
    assert [len(document[section]) for section in sections] == [2, 5, 0, 0]
    assert document["format"] == "daymark-export"


def test_a_second_export_while_one_streams_is_429_and_the_next_one_runs(
    user_client: APIClient, other_client: APIClient
) -> None:
    first = user_client.get(EXPORT)
    assert first.status_code == 200

    second = user_client.get(EXPORT)

    assert second.status_code == 429
    assert second["Content-Type"] == "application/problem+json"
    assert second.json()["code"] == "rate_limited"
    assert int(second["Retry-After"]) > 0
    assert other_client.get(EXPORT).status_code == 200  # another user's export is not held up
    streamed(first)  # the first answer is sent: its lock is released
    third = user_client.get(EXPORT)
    assert third.status_code == 200
    assert json.loads(streamed(third))["format"] == "daymark-export"

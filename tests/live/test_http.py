"""The live-updates address over plain HTTP, through the Django test client (any database)."""

from __future__ import annotations

import pytest
from django.test import Client


@pytest.mark.parametrize("method", ["get", "post"])
def test_the_stream_without_an_upgrade_is_426_upgrade_required(client: Client, method: str) -> None:
    response = getattr(client, method)("/api/v1/stream")
    assert response.status_code == 426
    assert response["Content-Type"] == "application/problem+json"
    assert response["Upgrade"] == "websocket"
    body = response.json()
    assert body["code"] == "upgrade_required"
    assert body["status"] == 426

"""Reading `GET user/export`, which streams its document."""

from __future__ import annotations

import json
from typing import Any

from rest_framework.test import APIClient


def pieces(response: Any) -> list[bytes]:
    """The pieces of a streamed answer, as the server sends them; reading them all closes the answer."""
    return list(response.streaming_content)


def streamed(response: Any) -> bytes:
    return b"".join(pieces(response))


def exported(client: APIClient) -> dict[str, Any]:
    """The export document of the client's user (the whole stream read, so the export's lock is released)."""
    response = client.get("/api/v1/user/export")
    assert response.status_code == 200, response
    return dict(json.loads(streamed(response)))


def as_account(document: dict[str, Any], old: Any, new: Any) -> dict[str, Any]:
    """The document with one account's id replaced by another's (`created_by`, `completed_by` and
    `assignee` of an import name the importing account)."""
    return dict(json.loads(json.dumps(document).replace(str(old), str(new))))

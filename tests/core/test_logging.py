"""Logs are JSON lines with request and user id, one access line per request, and never hold secrets."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any, cast

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import User
from core.logging import ConsoleFormatter, JsonFormatter, RedactingFilter, RequestContextFilter
from lists.models import List
from tests.factories import ListFactory

PASSWORD = "Correct-Horse-Battery-Staple-9f3k"


class Captured:
    def __init__(self, stream: io.StringIO) -> None:
        self.stream = stream

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def lines(self, logger: str | None = None) -> list[dict[str, Any]]:
        entries = [json.loads(line) for line in self.text.splitlines() if line.strip()]
        return [e for e in entries if logger is None or e["logger"] == logger]


@pytest.fixture
def logs() -> Iterator[Captured]:
    """The root handler of production (JSON formatter, context and redaction filters) into a buffer."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestContextFilter())
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield Captured(stream)
    finally:
        root.removeHandler(handler)


def test_the_access_line_is_json_with_the_echoed_request_id_and_the_user(
    user_client: APIClient, user: User, logs: Captured
) -> None:
    response = user_client.get("/api/v1/lists", HTTP_X_REQUEST_ID="trace-abc-123456")

    assert response.status_code == 200
    assert response["X-Request-ID"] == "trace-abc-123456"
    [line] = logs.lines("daymark.access")
    assert line["request_id"] == "trace-abc-123456"
    assert line["user_id"] == str(user.pk)
    assert line["method"] == "GET"
    assert line["route"] == "api/v1/lists"
    assert line["status"] == 200
    assert line["level"] == "INFO"
    assert line["client_ip"] == "127.0.0.1"
    assert isinstance(line["duration_ms"], float)
    assert line["time"].endswith("+00:00")


def test_a_generated_request_id_is_logged_as_echoed(api_client: APIClient, db: Any, logs: Captured) -> None:
    response = api_client.get("/api/v1/lists")

    assert response.status_code == 401
    [line] = logs.lines("daymark.access")
    assert line["request_id"] == response["X-Request-ID"]
    assert line["user_id"] == "-"
    assert line["level"] == "WARNING"


def test_the_route_is_the_url_pattern_not_the_path(
    user_client: APIClient, user: User, logs: Captured
) -> None:
    own_list = cast(List, ListFactory(user=user))

    user_client.get(f"/api/v1/lists/{own_list.pk}")
    user_client.get("/api/v1/no-such-thing")

    routes = [line["route"] for line in logs.lines("daymark.access")]
    assert routes == ["api/v1/lists/{pk}", "-"]
    assert str(own_list.pk) not in logs.text


def test_passwords_and_tokens_never_reach_a_log(api_client: APIClient, db: Any, logs: Captured) -> None:
    register = api_client.post(
        "/api/v1/auth/register", {"email": "ada@example.com", "password": PASSWORD}, format="json"
    )
    assert register.status_code == 201
    access = register.json()["access"]
    api_client.post("/api/v1/auth/token", {"email": "ada@example.com", "password": PASSWORD + "x"})
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    api_client.get("/api/v1/lists")

    assert len(logs.lines("daymark.access")) == 3
    assert PASSWORD not in logs.text
    assert access not in logs.text
    assert register.json()["refresh"] not in logs.text


def test_secrets_in_extras_are_redacted(logs: Captured) -> None:
    logging.getLogger("daymark.test").warning(
        "signing in",
        extra={
            "password": PASSWORD,
            "authorization": "Bearer abc",
            "payload": {"email": "ada@example.com", "new_password": PASSWORD, "items": [{"api_key": "k"}]},
        },
    )

    [line] = logs.lines("daymark.test")
    assert PASSWORD not in logs.text
    assert line["password"] == "[redacted]"
    assert line["authorization"] == "[redacted]"
    assert line["payload"] == {
        "email": "ada@example.com",
        "new_password": "[redacted]",
        "items": [{"api_key": "[redacted]"}],
    }


@pytest.mark.urls("tests.core.urls_testonly")
def test_an_unhandled_error_is_logged_once_with_its_stack_trace(db: Any, logs: Captured) -> None:
    response = Client().get("/api/v1/test-only/boom")

    assert response.status_code == 500
    assert response["Content-Type"] == "application/problem+json"
    errors = [line for line in logs.lines() if line["logger"] != "daymark.access"]
    assert len(errors) == 1
    [error] = errors
    assert error["level"] == "ERROR"
    assert error["request_id"] == response["X-Request-ID"]
    assert "Traceback" in error["exception"]
    assert "RuntimeError: boom" in error["exception"]
    [access] = logs.lines("daymark.access")
    assert access["status"] == 500


def test_console_lines_are_readable() -> None:
    record = logging.LogRecord(
        "daymark.access", logging.INFO, __file__, 1, "GET %s 200", ("api/v1/lists",), None
    )
    RequestContextFilter().filter(record)

    line = ConsoleFormatter().format(record)

    assert line.endswith("INFO daymark.access [- -] GET api/v1/lists 200")

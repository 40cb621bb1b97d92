"""/health, /ready, and the API docs (docs/api/README.md)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest
from django.db import connection
from django.test import Client

from tests.conftest import warm_database_pool


def test_health_answers_without_touching_the_database() -> None:
    # No django_db mark: any database access here would raise.
    response = Client().get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_ready_checks_database_and_cache() -> None:
    response = Client().get("/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"database": "ok", "cache": "ok"}}


@pytest.fixture
def unreachable_database() -> Iterator[None]:
    """Points the default connection at a database that does not answer, for real, then restores it."""
    original = dict(connection.settings_dict)
    keeper = None
    if connection.vendor == "postgresql":
        connection.close()
        connection.close_pool()  # type: ignore[attr-defined]
        connection.settings_dict["PORT"] = "1"  # nothing listens on port 1
        connection.settings_dict["OPTIONS"] = {**original["OPTIONS"], "connect_timeout": 2}
    else:
        # Django never closes an in-memory test database; a second handle keeps it alive while the
        # connection is really closed and pointed at a file that cannot exist.
        keeper = sqlite3.connect(original["NAME"], uri=True)
        if connection.connection is not None:
            connection.connection.close()
            connection.connection = None
        connection.settings_dict["NAME"] = "/nonexistent-directory/daymark.sqlite3"
    try:
        yield
    finally:
        if connection.vendor == "postgresql":
            connection.close()
            connection.close_pool()  # type: ignore[attr-defined]
        elif connection.connection is not None:
            connection.connection.close()
            connection.connection = None
        connection.settings_dict.clear()
        connection.settings_dict.update(original)
        warm_database_pool()  # a new pool has the settings' sizes, not the test process's
        if keeper is not None:
            connection.ensure_connection()
            keeper.close()


@pytest.mark.django_db(transaction=True)
def test_ready_is_503_when_the_database_does_not_answer(unreachable_database: None) -> None:
    response = Client().get("/ready")
    assert response.status_code == 503
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "service_unavailable"
    assert body["checks"] == {"database": "failing", "cache": "ok"}


@pytest.mark.django_db
class TestDocs:
    def test_the_schema_declares_bearer_auth_and_problem_answers(self) -> None:
        response = Client().get("/api/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json")
        assert response.status_code == 200
        schema = response.json()
        assert "jwtAuth" in schema["components"]["securitySchemes"]
        patch = schema["paths"]["/api/v1/items/{id}"]["patch"]["responses"]
        assert {"200", "400", "401", "404", "409", "412", "428"} <= set(patch)
        assert "application/problem+json" in patch["409"]["content"]

    @pytest.mark.parametrize("path", ["/api/docs", "/api/redoc"])
    def test_the_docs_pages_load_their_assets_from_this_server(self, path: str) -> None:
        response = Client().get(path)
        assert response.status_code == 200
        html = response.content.decode()
        assert "cdn." not in html
        assert "/static/drf_spectacular_sidecar/" in html


@pytest.mark.django_db
def test_operation_descriptions_never_describe_our_plumbing() -> None:
    schema = Client().get("/api/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    descriptions = [
        operation.get("description", "")
        for path in schema["paths"].values()
        for operation in path.values()
        if isinstance(operation, dict)
    ]
    assert descriptions
    assert not [d for d in descriptions if "create_entity" in d or "DESIGN" in d or "scoped viewset" in d]

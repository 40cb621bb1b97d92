"""The page at `/` (instead of a debug 404), and unknown API paths that stay problem+json."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from core.security import HTML_POLICY


def test_the_root_page_links_the_docs_the_admin_and_health() -> None:
    response = Client().get("/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    links = set(re.findall(r'href="([^"]+)"', response.content.decode()))
    assert {"/api/docs", "/api/redoc", "/api/schema", "/admin/", "/health", "/ready"} <= links


def test_the_root_page_runs_under_the_html_policy_and_loads_nothing_from_elsewhere() -> None:
    response = Client().get("/")
    assert response["Content-Security-Policy"] == HTML_POLICY
    page = response.content.decode()
    assert "<script" not in page
    assert not re.search(r'(?:src|href)="(?:https?:)?//', page)


def test_only_the_root_itself_is_an_html_page() -> None:
    # The exact path gets the HTML policy; everything else under it keeps the one that allows nothing.
    assert Client().get("/health")["Content-Security-Policy"].startswith("default-src 'none'")


def test_the_root_page_names_the_demo_user_only_in_development(settings: Any) -> None:
    settings.DEBUG = True
    assert settings.DEMO_USER_EMAIL in Client().get("/").content.decode()
    settings.DEBUG = False
    assert settings.DEMO_USER_EMAIL not in Client().get("/").content.decode()


def test_the_root_page_only_answers_reads() -> None:
    assert Client().post("/").status_code == 405
    assert Client().head("/").status_code == 200


@pytest.mark.parametrize("path", ["/api/", "/api/v1/", "/api/v1/nothing-here", "/api/v2/lists", "/api/nope"])
@pytest.mark.django_db
def test_unknown_api_paths_stay_problem_json_404s(path: str) -> None:
    response = Client().get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "not_found"

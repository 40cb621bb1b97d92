"""Every error under /api/ is problem+json with a stable code, never HTML, never a 500 for bad input."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory
from rest_framework.test import APIClient

from core.middleware import BodySizeLimitMiddleware
from lists.models import Item, List
from tests.factories import ListFactory

pytestmark = pytest.mark.django_db


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = json.loads(response.content)
    assert body["status"] == status
    assert body["code"] == code
    assert body["request_id"] == response["X-Request-ID"]
    assert {"type", "title", "detail"} <= set(body)
    return body


def post_raw(user_client: APIClient, path: str, body: bytes, content_type: str = "application/json") -> Any:
    return user_client.generic("POST", path, body, content_type=content_type)  # type: ignore[arg-type]


class TestBadInput:
    def test_malformed_json_is_a_parse_error(self, user_client: APIClient) -> None:
        assert_problem(post_raw(user_client, "/api/v1/lists", b'{"name": "x",'), 400, "parse_error")
        assert not List.objects.exists()

    def test_a_body_over_one_mib_is_413(self, user_client: APIClient) -> None:
        body = json.dumps({"name": "x" * (1024 * 1024)}).encode()
        assert_problem(post_raw(user_client, "/api/v1/lists", body), 413, "payload_too_large")
        assert not List.objects.exists()

    def test_a_nul_byte_in_a_string_is_400(self, user_client: APIClient) -> None:
        body = assert_problem(user_client.post("/api/v1/lists", {"name": "a\x00b"}), 400, "validation_error")
        assert "name" in body["errors"]
        assert not List.objects.exists()

    def test_a_nul_byte_in_a_query_filter_is_400(self, user_client: APIClient) -> None:
        assert_problem(user_client.get("/api/v1/items", {"q": "a\x00b"}), 400, "validation_error")

    def test_a_huge_string_is_400(self, user_client: APIClient, user: Any) -> None:
        a_list = ListFactory.create(user=user)
        response = user_client.post("/api/v1/items", {"list": str(a_list.pk), "title": "x" * 100_000})
        body = assert_problem(response, 400, "validation_error")
        assert "title" in body["errors"]
        assert not Item.objects.exists()

    def test_wrong_types_are_400(self, user_client: APIClient) -> None:
        response = user_client.post("/api/v1/lists", {"name": ["not", "a", "string"], "position": "first"})
        body = assert_problem(response, 400, "validation_error")
        assert set(body["errors"]) == {"name", "position"}

    def test_a_json_array_body_is_400(self, user_client: APIClient) -> None:
        assert_problem(post_raw(user_client, "/api/v1/lists", b"[1, 2]"), 400, "validation_error")

    def test_an_invalid_uuid_in_the_path_is_404(self, user_client: APIClient) -> None:
        assert_problem(user_client.get("/api/v1/items/not-a-uuid"), 404, "not_found")

    def test_a_form_body_is_415(self, user_client: APIClient) -> None:
        response = post_raw(user_client, "/api/v1/lists", b"name=x", "application/x-www-form-urlencoded")
        assert_problem(response, 415, "unsupported_media_type")


def test_a_chunked_body_a_server_cannot_delimit_is_411_never_empty() -> None:
    # wsgiref (runserver) does not mark its input as ending with the body, as gunicorn does.
    request = RequestFactory().post("/api/v1/sync", b"{}", content_type="application/json")
    del request.META["CONTENT_LENGTH"]
    request.META["HTTP_TRANSFER_ENCODING"] = "chunked"
    reached: list[HttpRequest] = []

    def view(request: HttpRequest) -> HttpResponse:
        reached.append(request)
        return HttpResponse()

    response = BodySizeLimitMiddleware(view)(request)

    assert (response.status_code, reached) == (411, [])
    assert json.loads(response.content)["code"] == "length_required"


class TestRouting:
    def test_an_unknown_url_is_a_404_problem(self, api_client: APIClient) -> None:
        assert_problem(api_client.get("/api/v1/nothing-here"), 404, "not_found")

    def test_an_unknown_api_version_is_a_404_problem(self, api_client: APIClient) -> None:
        assert_problem(api_client.get("/api/v2/lists"), 404, "not_found")

    def test_a_trailing_slash_is_not_redirected(self, user_client: APIClient) -> None:
        assert_problem(user_client.get("/api/v1/lists/"), 404, "not_found")

    def test_an_unsupported_method_is_405(self, user_client: APIClient) -> None:
        assert_problem(user_client.put("/api/v1/lists", {}), 405, "method_not_allowed")

    def test_an_unknown_host_is_a_400_problem(self, api_client: APIClient) -> None:
        body = assert_problem(api_client.get("/api/v1/lists", HTTP_HOST="evil.example"), 400, "parse_error")
        assert "Host" in body["detail"]

    def test_an_unknown_host_outside_the_api_stays_html(self, api_client: APIClient) -> None:
        response = api_client.get("/admin/", HTTP_HOST="evil.example")
        assert response.status_code == 400
        assert not response["Content-Type"].startswith("application/problem+json")

    def test_outside_the_api_errors_stay_html(self, api_client: APIClient) -> None:
        response = api_client.get("/no-such-page")
        assert response.status_code == 404
        assert not response["Content-Type"].startswith("application/problem+json")


@pytest.mark.urls("tests.core.urls_with_errors")
class TestServerErrors:
    @pytest.mark.parametrize("path", ["/api/v1/test/drf-boom", "/api/v1/test/django-boom"])
    def test_an_uncaught_error_is_a_500_problem(self, path: str) -> None:
        client = Client(raise_request_exception=False)
        body = assert_problem(client.get(path), 500, "server_error")
        assert "boom" not in body["detail"]

    @pytest.mark.parametrize("path", ["/api/v1/test/drf-database-down", "/api/v1/test/django-database-down"])
    def test_a_database_that_cannot_be_reached_is_a_503_with_retry_after(
        self, path: str, settings: Any
    ) -> None:
        settings.SERVICE_UNAVAILABLE_RETRY_AFTER_SECONDS = 7
        response = Client(raise_request_exception=False).get(path)
        body = assert_problem(response, 503, "service_unavailable")
        assert response["Retry-After"] == "7"
        assert "connection" not in body["detail"]


class TestRequestId:
    def test_a_sane_request_id_is_echoed(self, api_client: APIClient) -> None:
        response = api_client.get("/api/v1/lists", HTTP_X_REQUEST_ID="client-abc-12345")
        assert response["X-Request-ID"] == "client-abc-12345"
        assert response.json()["request_id"] == "client-abc-12345"

    @pytest.mark.parametrize(
        "incoming", ["", "short", "has spaces in it", "x" * 200, "<script>alert(1)</script>"]
    )
    def test_an_insane_request_id_is_replaced(self, api_client: APIClient, incoming: str) -> None:
        response = api_client.get("/health", HTTP_X_REQUEST_ID=incoming)
        generated = response["X-Request-ID"]
        assert generated != incoming
        assert uuid.UUID(generated)

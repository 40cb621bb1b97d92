"""Hostile input found in review: each of these answered 500 or was silently accepted.

docs/api/errors.md: bad input of any kind is a 4xx problem, never a 500, and changes nothing.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from lists.models import Item, List
from tests.core.test_problems import assert_problem, post_raw
from tests.factories import ItemFactory, ListFactory

pytestmark = pytest.mark.django_db


def cursor_of(payload: Any) -> str:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


class TestJsonBodies:
    def test_deeply_nested_json_is_a_parse_error(self, user_client: APIClient) -> None:
        body = b"[" * 100_000 + b"]" * 100_000
        assert_problem(post_raw(user_client, "/api/v1/lists", body), 400, "parse_error")

    @pytest.mark.parametrize(
        "body",
        [
            b'{"\\ud800": 1}',  # an unknown member named by a lone surrogate, echoed in the errors
            b'{"name": "\\udfff"}',
            b'{"name": "a", "color": "\\ud800"}',
        ],
    )
    def test_lone_surrogates_are_a_parse_error(self, user_client: APIClient, body: bytes) -> None:
        assert_problem(post_raw(user_client, "/api/v1/lists", body), 400, "parse_error")
        assert not List.objects.exists()

    def test_a_lone_surrogate_in_a_choice_is_4xx(self, user_client: APIClient, user: User) -> None:
        a_list = ListFactory.create(user=user)
        body = b'{"list": "%s", "title": "x", "status": "\\ud800"}' % str(a_list.pk).encode()
        assert_problem(post_raw(user_client, "/api/v1/items", body), 400, "parse_error")
        assert not Item.objects.exists()

    @pytest.mark.parametrize("number", [b"1e400", b"-1e400"])
    def test_a_number_too_large_for_a_double_is_a_parse_error(
        self, user_client: APIClient, number: bytes
    ) -> None:
        # It used to become float("inf"), and a string field stored "inf".
        assert_problem(post_raw(user_client, "/api/v1/lists", b'{"name": %s}' % number), 400, "parse_error")
        assert not List.objects.exists()


class TestWrongTypes:
    def test_an_id_must_be_a_string(self, user_client: APIClient) -> None:
        # DRF's UUIDField took the integer 123 as UUID(int=123).
        response = user_client.post("/api/v1/lists", {"id": 123, "name": "x"})
        body = assert_problem(response, 400, "validation_error")
        assert "id" in body["errors"]
        assert not List.objects.exists()

    def test_a_referenced_list_must_be_a_string(self, user_client: APIClient, user: User) -> None:
        ListFactory.create(user=user)
        response = user_client.post("/api/v1/items", {"list": 1, "title": "x"})
        assert "list" in assert_problem(response, 400, "validation_error")["errors"]

    @pytest.mark.parametrize("sent", ["2026-01-02", "2026-01-02T03:04:05", 1767323045])
    def test_a_completion_time_needs_a_date_a_time_and_an_offset(
        self, user_client: APIClient, user: User, sent: Any
    ) -> None:
        a_list = ListFactory.create(user=user)
        response = user_client.post(
            "/api/v1/items", {"list": str(a_list.pk), "title": "x", "status": "done", "completed_at": sent}
        )
        assert "completed_at" in assert_problem(response, 400, "validation_error")["errors"]
        assert not Item.objects.exists()


class TestTimestamps:
    def test_an_early_completion_time_is_rendered_as_rfc_3339_and_can_be_sent_back(
        self, user_client: APIClient, user: User
    ) -> None:
        a_list = ListFactory.create(user=user)
        response = user_client.post(
            "/api/v1/items",
            {
                "list": str(a_list.pk),
                "title": "x",
                "status": "done",
                "completed_at": "0999-03-04T05:06:07-01:00",
            },
        )
        assert response.status_code == 201, response.content
        item = response.json()
        assert item["completed_at"] == "0999-03-04T06:06:07.000000Z"
        again = user_client.put(f"/api/v1/items/{item['id']}", item)
        assert again.status_code == 200, again.content
        assert again.json()["version"] == 1


class TestTamperedCursors:
    @pytest.fixture
    def item(self, user: User) -> Item:
        return ItemFactory.create(list=ListFactory.create(user=user))

    @pytest.mark.parametrize(
        ("ordering", "position"),
        [
            ("position", [None, None]),
            ("position", [1, None]),
            ("position", [1, 5]),
            ("position", [1, True]),
            ("position", [True, "ID"]),
            ("position", [1.5, "ID"]),
            ("position", ["1", "ID"]),
            ("position", [["x"], "ID"]),
            ("priority", [{"a": 1}, "ID"]),
            ("created_at", ["2020-01-01", "ID"]),  # naive: a RuntimeWarning, then a query at a guessed time
            ("created_at", ["2020-01-01T00:00:00", "ID"]),
            ("created_at", [12, "ID"]),
            ("completed_at", ["2020-01-01", "ID"]),
            ("due_date", ["2020-01-01T00:00:00+00:00", "ID"]),
            ("due_date", [20200101, "ID"]),
            ("-due_date", ["\u0000", "ID"]),
            ("updated_at", ["\u0000", "ID"]),
        ],
    )
    def test_a_cursor_of_the_wrong_shape_is_400(
        self, user_client: APIClient, item: Item, ordering: str, position: list[Any]
    ) -> None:
        position = [str(item.pk) if value == "ID" else value for value in position]
        token = cursor_of({"p": position, "r": False})
        response = user_client.get("/api/v1/items", {"ordering": ordering, "cursor": token})
        assert "cursor" in assert_problem(response, 400, "validation_error")["errors"]

    @pytest.mark.parametrize("ordering", ["name", "-name"])
    def test_a_nul_byte_in_a_list_cursor_is_400(
        self, user_client: APIClient, user: User, ordering: str
    ) -> None:
        a_list = ListFactory.create(user=user)
        token = cursor_of({"p": ["\u0000", str(a_list.pk)], "r": False})
        response = user_client.get("/api/v1/lists", {"ordering": ordering, "cursor": token})
        assert "cursor" in assert_problem(response, 400, "validation_error")["errors"]

    @pytest.mark.parametrize(
        "raw",
        [
            b'{"p":[1e400,"00000000-0000-0000-0000-000000000001"],"r":false}',
            b'{"p":[1,"00000000-0000-0000-0000-000000000001"],"r":"yes"}',
            b'{"p":[1,"00000000-0000-0000-0000-000000000001"],"r":false,"x":1}',
            b'{"p":[1,"00000000-0000-0000-0000-000000000001"]}',
        ],
    )
    def test_a_cursor_that_is_not_ours_is_400(self, user_client: APIClient, item: Item, raw: bytes) -> None:
        response = user_client.get("/api/v1/items", {"cursor": cursor_of(raw)})
        assert "cursor" in assert_problem(response, 400, "validation_error")["errors"]

    @pytest.mark.parametrize(
        "ordering", ["position", "-due_date", "priority", "created_at", "-updated_at", "completed_at"]
    )
    def test_the_cursors_we_hand_out_still_work(
        self, user_client: APIClient, user: User, ordering: str
    ) -> None:
        a_list = ListFactory.create(user=user)
        for n in range(3):
            ItemFactory.create(list=a_list, due_date=f"2026-01-0{n + 1}", status="done" if n else "open")
        first = user_client.get("/api/v1/items", {"ordering": ordering, "limit": "1"}).json()
        second = user_client.get(first["next"])
        assert second.status_code == 200, second.content
        back = user_client.get(second.json()["previous"])
        assert back.json()["results"] == first["results"]

    def test_a_deeply_nested_cursor_is_400(self, user_client: APIClient, item: Item) -> None:
        response = user_client.get("/api/v1/items", {"cursor": cursor_of(b"[" * 3000 + b"]" * 3000)})
        assert "cursor" in assert_problem(response, 400, "validation_error")["errors"]


def test_the_renderer_escapes_what_orjson_refuses() -> None:
    from core.renderers import JSONRenderer

    assert json.loads(JSONRenderer().render({"bad": "\ud800"})) == {"bad": "\ud800"}


@pytest.mark.parametrize("depth", [200, 1000])
def test_nesting_deeper_than_any_body_needs_is_a_parse_error(user_client: APIClient, depth: int) -> None:
    # orjson parses up to 1024 levels, but the validators and error renderers walk them recursively.
    nested = b"[" * depth + b"]" * depth
    document = b'{"format":"daymark-export","format_version":1,"lists":[{"id":"%s","name":%s}]}' % (
        b"00000000-0000-0000-0000-000000000001",
        nested,
    )
    for body in (b'{"mode":"merge","document":%s}' % document, b'{"mode":"merge","document":%s}' % nested):
        assert_problem(post_raw(user_client, "/api/v1/user/import", body), 400, "parse_error")

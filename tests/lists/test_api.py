"""Lists and items over HTTP (docs/api/README.md and versions.md)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import User
from lists.models import Item, List
from sync.models import ChangeRecord
from sync.spaces import personal_space_id
from tests.factories import ItemFactory, ListFactory

pytestmark = pytest.mark.django_db

MISSING = "5b0e6a52-8f6f-4d36-a3cb-0d5c3c8f1d11"


def problem_code(response: Any) -> str:
    assert response["Content-Type"] == "application/problem+json", response.content
    return str(response.json()["code"])


class TestCreate:
    def test_it_creates_a_list_with_server_fields(self, user_client: APIClient) -> None:
        response = user_client.post("/api/v1/lists", {"name": "Home", "color": "#112233"})
        assert response.status_code == 201
        body = response.json()
        assert body["version"] == 1
        assert body["open_count"] == 0
        assert body["archived"] is False
        assert body["created_at"].endswith("Z")
        assert response["ETag"] == '"1"'
        assert response["Location"].endswith(f"/api/v1/lists/{body['id']}")

    def test_it_creates_an_item_with_defaults(self, user_client: APIClient, user: User) -> None:
        a_list = ListFactory.create(user=user)
        response = user_client.post("/api/v1/items", {"list": str(a_list.pk), "title": "Milk"})
        assert response.status_code == 201
        body = response.json()
        assert (body["status"], body["priority"], body["notes"], body["completed_at"]) == (
            "open",
            3,
            "",
            None,
        )

    def test_a_client_chosen_id_is_kept(self, user_client: APIClient) -> None:
        chosen = str(uuid.uuid4())
        response = user_client.post("/api/v1/lists", {"id": chosen, "name": "Offline"})
        assert response.status_code == 201
        assert response.json()["id"] == chosen

    def test_a_retried_create_answers_200_with_the_existing_entity(self, user_client: APIClient) -> None:
        chosen = str(uuid.uuid4())
        first = user_client.post("/api/v1/lists", {"id": chosen, "name": "Offline"})
        again = user_client.post("/api/v1/lists", {"id": chosen, "name": "Offline"})
        assert again.status_code == 200
        assert again.json() == first.json()
        assert List.objects.count() == 1
        assert ChangeRecord.objects.filter(entity_id=chosen).count() == 1

    def test_the_same_id_with_other_content_is_an_id_conflict(self, user_client: APIClient) -> None:
        chosen = str(uuid.uuid4())
        user_client.post("/api/v1/lists", {"id": chosen, "name": "Offline"})
        response = user_client.post("/api/v1/lists", {"id": chosen, "name": "Other"})
        assert response.status_code == 409
        assert problem_code(response) == "id_conflict"
        assert List.objects.get().name == "Offline"

    def test_an_id_taken_by_another_user_is_an_id_conflict_revealing_nothing(
        self, user_client: APIClient, other_user: User
    ) -> None:
        theirs = ListFactory.create(user=other_user, name="Secret")
        response = user_client.post("/api/v1/lists", {"id": str(theirs.pk), "name": "Secret"})
        assert response.status_code == 409
        assert problem_code(response) == "id_conflict"
        assert "Secret" not in response.content.decode()
        assert other_user.email not in response.content.decode()
        assert "current" not in response.json()

    def test_an_item_cannot_go_into_another_users_list(
        self, user_client: APIClient, other_user: User
    ) -> None:
        theirs = ListFactory.create(user=other_user)
        response = user_client.post("/api/v1/items", {"list": str(theirs.pk), "title": "Sneaky"})
        missing = user_client.post("/api/v1/items", {"list": MISSING, "title": "Sneaky"})
        assert response.status_code == missing.status_code == 400
        assert response.json()["errors"] == missing.json()["errors"] == {"list": ["No such list."]}
        assert not Item.objects.exists()

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"name": ""}, "name"),
            ({"name": "   "}, "name"),
            ({"name": "x" * 201}, "name"),
            ({"name": "ok", "color": "red"}, "color"),
            ({"name": "ok", "color": "#12345G"}, "color"),
            ({"name": "ok", "position": 2**40}, "position"),
            ({"name": "ok", "archived": "perhaps"}, "archived"),
            ({"name": "ok", "id": "not-a-uuid"}, "id"),
        ],
    )
    def test_invalid_lists_are_rejected(
        self, user_client: APIClient, body: dict[str, Any], field: str
    ) -> None:
        response = user_client.post("/api/v1/lists", body)
        assert response.status_code == 400
        assert field in response.json()["errors"]
        assert not List.objects.exists()

    @pytest.mark.parametrize(
        ("extra", "field"),
        [
            ({"title": ""}, "title"),
            ({"title": "x" * 501}, "title"),
            ({"notes": "x" * 10_001}, "notes"),
            ({"status": "doing"}, "status"),
            ({"priority": 0}, "priority"),
            ({"priority": 5}, "priority"),
            ({"priority": "high"}, "priority"),
            ({"due_date": "2026-02-30"}, "due_date"),
            ({"due_date": "tomorrow"}, "due_date"),
            ({"list": "not-a-uuid"}, "list"),
        ],
    )
    def test_invalid_items_are_rejected(
        self, user_client: APIClient, user: User, extra: dict[str, Any], field: str
    ) -> None:
        a_list = ListFactory.create(user=user)
        response = user_client.post("/api/v1/items", {"list": str(a_list.pk), "title": "ok", **extra})
        assert response.status_code == 400
        assert field in response.json()["errors"]
        assert not Item.objects.exists()


class TestMassAssignment:
    def test_read_only_fields_in_a_patch_are_ignored(self, user_client: APIClient, user: User) -> None:
        a_list = ListFactory.create(user=user, name="Home")
        before = List.objects.get(pk=a_list.pk)
        ignored = {
            "user": str(uuid.uuid4()),
            "created_at": "2000-01-01T00:00:00Z",
            "updated_at": "2000-01-01T00:00:00Z",
            "open_count": 99,
        }

        response = user_client.patch(
            f"/api/v1/lists/{a_list.pk}", {**ignored, "name": "Renamed", "version": 1}
        )

        assert response.status_code == 200
        after = List.objects.get(pk=a_list.pk)
        assert (after.user_id, after.created_at, after.version) == (before.user_id, before.created_at, 2)
        assert response.json()["open_count"] == 0

    def test_an_unknown_field_in_a_patch_is_rejected_and_changes_nothing(
        self, user_client: APIClient, user: User
    ) -> None:
        a_list = ListFactory.create(user=user, name="Home")

        unknown = user_client.patch(
            f"/api/v1/lists/{a_list.pk}", {"name": "Again", "owner": "x", "version": 1}
        )

        assert unknown.status_code == 400
        assert unknown.json()["errors"] == {"owner": ["Unknown field."]}
        assert List.objects.get(pk=a_list.pk).name == "Home"

    def test_version_in_a_body_is_the_base_never_a_new_value(
        self, user_client: APIClient, user: User
    ) -> None:
        a_list = ListFactory.create(user=user)
        response = user_client.patch(f"/api/v1/lists/{a_list.pk}", {"name": "New", "version": 1})
        assert response.json()["version"] == 2
        stale = user_client.patch(f"/api/v1/lists/{a_list.pk}", {"name": "Newer", "version": 50})
        assert stale.status_code == 409
        assert List.objects.get(pk=a_list.pk).version == 2

    def test_a_created_entity_ignores_a_sent_version(self, user_client: APIClient) -> None:
        response = user_client.post(
            "/api/v1/lists", {"name": "x", "version": 7, "created_at": "2000-01-01T00:00:00Z"}
        )
        assert response.status_code == 201
        assert response.json()["version"] == 1
        assert not response.json()["created_at"].startswith("2000")

    def test_the_id_cannot_be_changed(self, user_client: APIClient, user: User) -> None:
        a_list = ListFactory.create(user=user)
        response = user_client.patch(f"/api/v1/lists/{a_list.pk}", {"id": str(uuid.uuid4()), "version": 1})
        assert response.status_code == 400
        same = user_client.patch(
            f"/api/v1/lists/{a_list.pk}", {"id": str(a_list.pk), "name": "ok", "version": 1}
        )
        assert same.status_code == 200


class TestIsolation:
    """Another user's object is a 404 for every method, and never shows up anywhere."""

    @pytest.fixture
    def theirs(self, other_user: User) -> Item:
        return ItemFactory.create(list=ListFactory.create(user=other_user))

    @pytest.mark.parametrize(
        ("method", "kind"),
        [
            ("get", "items"),
            ("patch", "items"),
            ("put", "items"),
            ("delete", "items"),
            ("get", "lists"),
            ("patch", "lists"),
            ("put", "lists"),
            ("delete", "lists"),
        ],
    )
    def test_every_method_on_another_users_object_is_404(
        self, user_client: APIClient, theirs: Item, method: str, kind: str
    ) -> None:
        target = theirs.pk if kind == "items" else theirs.list_id
        body: dict[str, Any] = {"title": "Mine now", "list": str(theirs.list_id), "version": 1}
        if kind == "lists":
            body = {"name": "Mine now", "version": 1}
        response = getattr(user_client, method)(f"/api/v1/{kind}/{target}", body if method != "get" else None)
        missing = getattr(user_client, method)(f"/api/v1/{kind}/{MISSING}", body if method != "get" else None)
        assert response.status_code == missing.status_code == 404
        assert problem_code(response) == "not_found"
        assert response.json()["detail"] == missing.json()["detail"]
        theirs.refresh_from_db()
        assert (theirs.title, theirs.version) != ("Mine now", 2)

    def test_list_answers_hold_only_my_objects(
        self, user_client: APIClient, user: User, theirs: Item
    ) -> None:
        mine = ItemFactory.create(list=ListFactory.create(user=user))
        assert [i["id"] for i in user_client.get("/api/v1/items").json()["results"]] == [str(mine.pk)]
        assert [x["id"] for x in user_client.get("/api/v1/lists").json()["results"]] == [str(mine.list_id)]

    def test_another_users_list_is_no_filter(self, user_client: APIClient, theirs: Item) -> None:
        response = user_client.get("/api/v1/items", {"list": str(theirs.list_id)})
        assert response.status_code == 200
        assert response.json()["results"] == []

    def test_an_item_cannot_be_moved_into_another_users_list(
        self, user_client: APIClient, user: User, theirs: Item
    ) -> None:
        mine = ItemFactory.create(list=ListFactory.create(user=user))
        response = user_client.patch(f"/api/v1/items/{mine.pk}", {"list": str(theirs.list_id), "version": 1})
        assert response.status_code == 400
        assert response.json()["errors"] == {"list": ["No such list."]}
        mine.refresh_from_db()
        assert mine.list.user_id == user.pk


class TestCompletion:
    def test_done_sets_completed_at_and_reopening_clears_it(self, user_client: APIClient, user: User) -> None:
        item = ItemFactory.create(list=ListFactory.create(user=user))
        done = user_client.patch(f"/api/v1/items/{item.pk}", {"status": "done", "version": 1}).json()
        assert done["completed_at"] is not None
        reopened = user_client.patch(f"/api/v1/items/{item.pk}", {"status": "open", "version": 2}).json()
        assert reopened["completed_at"] is None

    def test_the_client_may_send_when_it_happened_offline(self, user_client: APIClient, user: User) -> None:
        item = ItemFactory.create(list=ListFactory.create(user=user))
        when = "2026-01-02T03:04:05.000006Z"
        body = user_client.patch(
            f"/api/v1/items/{item.pk}", {"status": "done", "completed_at": when, "version": 1}
        )
        assert body.json()["completed_at"] == when

    def test_a_completion_time_in_the_future_is_400(self, user_client: APIClient, user: User) -> None:
        item = ItemFactory.create(list=ListFactory.create(user=user))
        future = (timezone.now() + timedelta(hours=1)).isoformat()
        response = user_client.patch(
            f"/api/v1/items/{item.pk}", {"status": "done", "completed_at": future, "version": 1}
        )
        assert response.status_code == 400
        assert "completed_at" in response.json()["errors"]
        item.refresh_from_db()
        assert item.status == "open"

    def test_an_open_item_cannot_have_a_completion_time(self, user_client: APIClient, user: User) -> None:
        a_list = ListFactory.create(user=user)
        response = user_client.post(
            "/api/v1/items", {"list": str(a_list.pk), "title": "x", "completed_at": "2026-01-01T00:00:00Z"}
        )
        assert response.status_code == 400

    def test_resending_the_received_item_changes_nothing(self, user_client: APIClient, user: User) -> None:
        item = ItemFactory.create(list=ListFactory.create(user=user))
        done = user_client.patch(f"/api/v1/items/{item.pk}", {"status": "done", "version": 1}).json()
        again = user_client.put(f"/api/v1/items/{item.pk}", done)
        assert again.status_code == 200
        assert again.json() == done


class TestDelete:
    def test_deleting_a_list_deletes_its_items_each_recorded_for_sync(
        self, user_client: APIClient, user: User
    ) -> None:
        a_list = ListFactory.create(user=user)
        items = [ItemFactory.create(list=a_list) for _ in range(3)]
        response = user_client.delete(f"/api/v1/lists/{a_list.pk}", HTTP_IF_MATCH='"1"')
        assert response.status_code == 204
        assert not Item.objects.filter(pk__in=[i.pk for i in items]).exists()
        tombstones = ChangeRecord.objects.filter(space__user=user, deleted=True)
        assert {(t.entity_type, t.entity_id) for t in tombstones} == {("list", a_list.pk)} | {
            ("item", i.pk) for i in items
        }

    def test_delete_with_a_query_version(self, user_client: APIClient, user: User) -> None:
        item = ItemFactory.create(list=ListFactory.create(user=user))
        assert user_client.delete(f"/api/v1/items/{item.pk}?version=1").status_code == 204
        assert not Item.objects.exists()

    @pytest.mark.parametrize(
        ("version", "status"), [("2000000000", 409), ("2000000001", 400), ("99999999999", 400)]
    )
    def test_a_query_version_has_the_range_of_a_body_version(
        self, user_client: APIClient, user: User, version: str, status: int
    ) -> None:
        # The schema says 1..2,000,000,000 for both; ten digits were a 400 in the query only.
        item = ItemFactory.create(list=ListFactory.create(user=user))
        response = user_client.delete(f"/api/v1/items/{item.pk}?version={version}")

        assert response.status_code == status
        assert Item.objects.exists()

    def test_delete_with_a_bad_query_version_is_400(self, user_client: APIClient, user: User) -> None:
        item = ItemFactory.create(list=ListFactory.create(user=user))
        assert user_client.delete(f"/api/v1/items/{item.pk}?version=abc").status_code == 400
        assert Item.objects.exists()


class TestOpenCount:
    def test_it_counts_open_items_only(self, user_client: APIClient, user: User) -> None:
        a_list = ListFactory.create(user=user)
        ItemFactory.create(list=a_list)
        ItemFactory.create(list=a_list)
        ItemFactory.create(list=a_list, status="done")
        assert user_client.get(f"/api/v1/lists/{a_list.pk}").json()["open_count"] == 2
        assert user_client.get("/api/v1/lists").json()["results"][0]["open_count"] == 2


class TestFiltersAndOrdering:
    @pytest.fixture
    def items(self, user: User) -> dict[str, Item]:
        home, work = ListFactory.create(user=user), ListFactory.create(user=user)
        return {
            "a": ItemFactory.create(
                list=home, title="Buy milk", priority=1, due_date=date(2026, 3, 1), position=2
            ),
            "b": ItemFactory.create(
                list=home, title="Buy bread", priority=2, due_date=date(2026, 3, 5), position=1
            ),
            "c": ItemFactory.create(list=work, title="Report", priority=4, due_date=None, position=3),
            "d": ItemFactory.create(
                list=work,
                title="Email",
                status="done",
                completed_at=datetime(2026, 3, 2, 12, tzinfo=UTC),
                position=0,
            ),
        }

    def ids(self, user_client: APIClient, **params: Any) -> list[str]:
        response = user_client.get("/api/v1/items", params)
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    def names(self, items: dict[str, Item], *keys: str) -> list[str]:
        return [str(items[k].pk) for k in keys]

    def test_filters(self, user_client: APIClient, items: dict[str, Item]) -> None:
        assert self.ids(user_client, list=str(items["a"].list_id)) == self.names(items, "b", "a")
        assert self.ids(user_client, status="done") == self.names(items, "d")
        assert self.ids(user_client, priority=1) == self.names(items, "a")
        assert self.ids(user_client, due_before="2026-03-05") == self.names(items, "a")
        assert self.ids(user_client, due_after="2026-03-01") == self.names(items, "b")
        assert self.ids(user_client, q="buy") == self.names(items, "b", "a")
        assert self.ids(user_client, completed_from="2026-03-02", completed_to="2026-03-02") == self.names(
            items, "d"
        )
        assert self.ids(user_client, completed_from="2026-03-03") == []

    def test_completed_days_are_the_users_local_days(self, user_client: APIClient, user: User) -> None:
        user.timezone = "Pacific/Auckland"
        user.save()
        late_evening_utc = datetime(2026, 3, 1, 20, tzinfo=UTC)  # 2 March, 09:00 in Auckland
        item = ItemFactory.create(
            list=ListFactory.create(user=user), status="done", completed_at=late_evening_utc
        )
        assert self.ids(user_client, completed_from="2026-03-02", completed_to="2026-03-02") == [str(item.pk)]
        assert self.ids(user_client, completed_to="2026-03-01") == []

    @pytest.mark.parametrize(
        ("ordering", "expected"),
        [
            ("position", ["d", "b", "a", "c"]),
            ("-position", ["c", "a", "b", "d"]),
            ("priority", ["a", "b", "d", "c"]),
            ("due_date", ["a", "b", "c", "d"]),
            ("-due_date", ["b", "a", "c", "d"]),
            ("completed_at", ["d"]),
        ],
    )
    def test_ordering(
        self, user_client: APIClient, items: dict[str, Item], ordering: str, expected: list[str]
    ) -> None:
        got = self.ids(user_client, ordering=ordering)
        if ordering == "completed_at":
            assert got[0] == str(items["d"].pk)
        elif ordering in ("due_date", "-due_date"):
            assert got[:2] == self.names(items, *expected[:2])
            assert set(got[2:]) == set(self.names(items, *expected[2:]))
        else:
            assert got == self.names(items, *expected)

    @pytest.mark.parametrize(
        "params",
        [
            {"ordering": "title"},
            {"ordering": "-user"},
            {"due_before": "2026-13-01"},
            {"completed_from": "yesterday"},
            {"status": "doing"},
            {"priority": "9"},
            {"list": "not-a-uuid"},
            {"limit": "0"},
            {"limit": "ten"},
            {"cursor": "garbage"},
        ],
    )
    def test_bad_query_parameters_are_400(
        self, user_client: APIClient, items: dict[str, Item], params: dict[str, str]
    ) -> None:
        response = user_client.get("/api/v1/items", params)
        assert response.status_code == 400
        assert problem_code(response) == "validation_error"


class TestPagination:
    def test_pages_walk_forward_and_back_over_nullable_orderings(
        self, user_client: APIClient, user: User
    ) -> None:
        a_list = ListFactory.create(user=user)
        for n in range(7):
            ItemFactory.create(list=a_list, due_date=date(2026, 1, 1 + n % 3) if n % 2 else None)
        expected = [
            row["id"]
            for row in user_client.get("/api/v1/items?ordering=-due_date&limit=200").json()["results"]
        ]
        seen: list[str] = []
        url: str | None = "/api/v1/items?ordering=-due_date&limit=3"
        pages = []
        while url:
            page = user_client.get(url).json()
            pages.append(page)
            seen += [row["id"] for row in page["results"]]
            url = page["next"]
        assert seen == expected
        back = user_client.get(pages[-1]["previous"]).json()
        assert [row["id"] for row in back["results"]] == expected[3:6]

    def test_a_limit_over_200_is_clamped(self, user_client: APIClient, user: User) -> None:
        a_list = ListFactory.create(user=user)
        Item.objects.bulk_create(
            [Item(user=user, space=a_list.space, list=a_list, title=f"t{n}", position=n) for n in range(205)]
        )
        page = user_client.get("/api/v1/items?limit=1000").json()
        assert len(page["results"]) == 200
        assert page["next"] is not None
        assert page["previous"] is None


class TestQueryCounts:
    @pytest.mark.parametrize("size", [5, 200])
    def test_the_items_page_costs_the_same_whatever_its_size(
        self, user_client: APIClient, user: User, size: int, django_assert_num_queries: Any
    ) -> None:
        a_list = ListFactory.create(user=user)
        Item.objects.bulk_create(
            [Item(user=user, space=a_list.space, list=a_list, title=f"t{n}", position=n) for n in range(size)]
        )
        # 1: the authenticated user (JWT), 2: the spaces the user sees, 3: the page of items.
        with django_assert_num_queries(3):
            response = user_client.get(f"/api/v1/items?limit={size}")
        assert len(response.json()["results"]) == size

    @pytest.mark.parametrize("size", [5, 200])
    def test_the_lists_page_with_open_counts_costs_the_same_whatever_its_size(
        self, user_client: APIClient, user: User, size: int, django_assert_num_queries: Any
    ) -> None:
        lists = List.objects.bulk_create(
            [List(user=user, space_id=personal_space_id(user), name=f"l{n}", position=n) for n in range(size)]
        )
        Item.objects.bulk_create(
            [Item(user=user, space=a_list.space, list=a_list, title="t") for a_list in lists]
        )
        # 1: the authenticated user (JWT), 2: the spaces the user sees, 3: the page of lists with
        # open_count aggregated.
        with django_assert_num_queries(3):
            response = user_client.get(f"/api/v1/lists?limit={size}")
        assert {row["open_count"] for row in response.json()["results"]} == {1}

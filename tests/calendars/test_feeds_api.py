"""user/calendar-feeds: creating, listing and revoking feeds (docs/api/calendar-feeds.md)."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import AuditEvent, User
from accounts.services.api_keys import api_key_create
from calendars.models import CalendarFeed
from calendars.services import MAX_FEEDS_PER_USER
from tests.calendars.conftest import FEEDS, a_list, a_workspace, fetch, make_feed, path_of

pytestmark = pytest.mark.django_db


class TestCreate:
    def test_it_shows_the_url_once_and_stores_only_the_tokens_hash(
        self, user: User, user_client: APIClient
    ) -> None:
        response = user_client.post(FEEDS, {}, format="json")
        assert response.status_code == 201
        body = response.json()
        assert set(body) == {"id", "list", "url", "created_at"}
        assert body["list"] is None
        match = re.fullmatch(r"http://testserver/calendar/(dmc_[A-Za-z0-9_-]{43})\.ics", body["url"])
        assert match is not None
        token = match.group(1)
        stored = CalendarFeed.objects.get(pk=body["id"])
        assert stored.hashed_token == hashlib.sha256(token.encode()).hexdigest()
        assert token not in stored.hashed_token
        listed = user_client.get(FEEDS).json()["results"]
        assert listed == [{"id": body["id"], "list": None, "created_at": body["created_at"]}]
        assert user_client.get(f"{FEEDS}/{body['id']}").json() == listed[0]

    def test_a_feed_of_one_list(self, user: User, user_client: APIClient) -> None:
        listed = a_list(user)
        body = user_client.post(FEEDS, {"list": str(listed.pk)}, format="json").json()
        assert body["list"] == str(listed.pk)

    def test_a_feed_of_a_workspace_list_needs_only_to_see_it(
        self, user: User, other_user: User, user_client: APIClient
    ) -> None:
        workspace = a_workspace(other_user, user, role="viewer")
        shared = a_list(other_user, workspace=workspace.pk)
        response = user_client.post(FEEDS, {"list": str(shared.pk)}, format="json")
        assert response.status_code == 201

    def test_a_list_the_user_cannot_see_is_a_400_that_does_not_say_whether_it_exists(
        self, user_client: APIClient, other_user: User
    ) -> None:
        others = a_list(other_user)
        response = user_client.post(FEEDS, {"list": str(others.pk)}, format="json")
        assert response.status_code == 400
        assert response.json()["errors"] == {"list": ["No such list."]}
        missing = user_client.post(FEEDS, {"list": "6a1d3b1e-0000-4000-8000-000000000000"}, format="json")
        assert missing.json()["errors"] == response.json()["errors"]
        assert not CalendarFeed.objects.exists()

    @pytest.mark.parametrize(
        "body",
        [
            {"list": "not-a-uuid"},
            {"list": 12},
            {"list": ["a"]},
            {"url": "https://example.com"},
            {"list": None, "token": "x"},
            {"list": "\x00"},
        ],
    )
    def test_bad_input_is_a_400_problem_and_changes_nothing(self, user_client: APIClient, body: Any) -> None:
        response = user_client.post(FEEDS, body, format="json")
        assert response.status_code == 400
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["code"] == "validation_error"
        assert not CalendarFeed.objects.exists()

    def test_malformed_json_is_a_400(self, user_client: APIClient) -> None:
        response = user_client.post(FEEDS, "{", content_type="application/json")
        assert response.status_code == 400
        assert response.json()["code"] == "parse_error"

    def test_a_user_has_at_most_twenty_feeds(self, user: User, user_client: APIClient) -> None:
        for _ in range(MAX_FEEDS_PER_USER):
            make_feed(user)
        response = user_client.post(FEEDS, {}, format="json")
        assert response.status_code == 400
        assert response.json()["code"] == "validation_error"
        assert CalendarFeed.objects.filter(user=user).count() == MAX_FEEDS_PER_USER

    def test_an_api_key_cannot_create_a_feed(self, user: User) -> None:
        _, key = api_key_create(user=user, name="cli", scopes=["read", "write"])
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
        response = client.post(FEEDS, {}, format="json")
        assert response.status_code == 403
        assert client.get(FEEDS).status_code == 200
        assert not CalendarFeed.objects.exists()

    def test_the_url_uses_the_configured_base(self, user: User, settings: Any) -> None:
        settings.CALENDAR_FEED_BASE_URL = "https://cal.example.com/"
        assert make_feed(user)["url"].startswith("https://cal.example.com/calendar/dmc_")

    def test_it_needs_authentication(self, api_client: APIClient) -> None:
        for response in (api_client.get(FEEDS), api_client.post(FEEDS, {}, format="json")):
            assert response.status_code == 401
            assert response["WWW-Authenticate"]


class TestListAndRevoke:
    def test_another_users_feeds_are_invisible(self, user_client: APIClient, other_user: User) -> None:
        theirs = make_feed(other_user)
        assert user_client.get(FEEDS).json()["results"] == []
        assert user_client.get(f"{FEEDS}/{theirs['id']}").status_code == 404
        response = user_client.delete(f"{FEEDS}/{theirs['id']}")
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
        assert fetch(theirs).status_code == 200

    def test_revoking_stops_the_url_at_once(self, user: User, user_client: APIClient) -> None:
        feed = make_feed(user)
        assert fetch(feed).status_code == 200
        assert user_client.delete(f"{FEEDS}/{feed['id']}").status_code == 204
        gone = fetch(feed)
        assert gone.status_code == 404
        assert gone.json()["code"] == "not_found"
        assert user_client.get(FEEDS).json()["results"] == []
        assert user_client.delete(f"{FEEDS}/{feed['id']}").status_code == 404

    def test_a_bad_id_is_a_404(self, user_client: APIClient) -> None:
        assert user_client.get(f"{FEEDS}/not-a-uuid").status_code == 404

    def test_the_newest_comes_first_and_pages_follow(self, user: User, user_client: APIClient) -> None:
        ids = [make_feed(user)["id"] for _ in range(3)]
        first = user_client.get(FEEDS, {"limit": 2}).json()
        second = user_client.get(first["next"]).json()
        assert [f["id"] for f in first["results"] + second["results"]] == ids[::-1]

    @pytest.mark.parametrize("count", [2, 12])
    def test_the_list_costs_two_queries_whatever_the_number_of_feeds(
        self, user: User, user_client: APIClient, count: int, django_assert_num_queries: Any
    ) -> None:
        for _ in range(count):
            make_feed(user)
        # The authenticated user comes from the cache (the feeds were made through the API as this user):
        # 1: the page of the user's feeds.
        with django_assert_num_queries(1):
            response = user_client.get(FEEDS, {"limit": 50})
        assert len(response.json()["results"]) == count

    def test_deleting_the_list_deletes_its_feeds(self, user: User, user_client: APIClient) -> None:
        listed = a_list(user)
        feed = make_feed(user, listed.pk)
        whole = make_feed(user)
        response = user_client.delete(f"/api/v1/lists/{listed.pk}", HTTP_IF_MATCH='"1"')
        assert response.status_code == 204
        assert fetch(feed).status_code == 404
        assert fetch(whole).status_code == 200
        assert [f["id"] for f in user_client.get(FEEDS).json()["results"]] == [whole["id"]]
        assert path_of(feed) != path_of(whole)


def test_staff_see_feeds_and_revoke_one_in_the_admin(staff_client: Any, user: User) -> None:
    feed = make_feed(user)
    listing = staff_client.get("/admin/calendars/calendarfeed/")
    assert listing.status_code == 200
    assert user.email in listing.content.decode()
    assert "dmc_" not in listing.content.decode()
    assert staff_client.get("/admin/calendars/calendarfeed/add/").status_code == 403
    response = staff_client.post(f"/admin/calendars/calendarfeed/{feed['id']}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert fetch(feed).status_code == 404


class TestAudit:
    def test_creating_and_revoking_a_feed_are_audited(self, user: User, user_client: APIClient) -> None:
        listed = a_list(user)
        whole, one = make_feed(user), make_feed(user, listed.pk)
        assert user_client.delete(f"{FEEDS}/{one['id']}").status_code == 204
        rows = list(AuditEvent.objects.filter(target_type="calendar_feed").order_by("id"))
        assert [(e.event, e.user_id, e.email, e.target_id, e.metadata) for e in rows] == [
            ("calendar_feed_created", user.pk, user.email, whole["id"], {"list": None}),
            ("calendar_feed_created", user.pk, user.email, one["id"], {"list": str(listed.pk)}),
            ("calendar_feed_revoked", user.pk, user.email, one["id"], {"list": str(listed.pk)}),
        ]
        token = whole["url"].rsplit("/", 1)[1].removesuffix(".ics")
        assert token not in str(list(AuditEvent.objects.values()))

    def test_a_refused_creation_or_revocation_is_not_audited(
        self, user: User, user_client: APIClient, other_user: User
    ) -> None:
        theirs = make_feed(other_user)
        assert user_client.delete(f"{FEEDS}/{theirs['id']}").status_code == 404
        assert user_client.post(FEEDS, {"list": str(a_list(other_user).pk)}, format="json").status_code == 400
        assert list(
            AuditEvent.objects.filter(target_type="calendar_feed").values_list("event", "user_id")
        ) == [("calendar_feed_created", other_user.pk)]

    def test_staff_revoking_in_the_admin_is_audited_with_their_email(
        self, staff: User, staff_client: Any, user: User
    ) -> None:
        first, second, third = make_feed(user), make_feed(user), make_feed(user)
        response = staff_client.post(f"/admin/calendars/calendarfeed/{first['id']}/delete/", {"post": "yes"})
        assert response.status_code == 302
        response = staff_client.post(
            "/admin/calendars/calendarfeed/",
            {"action": "delete_selected", "_selected_action": [second["id"], third["id"]], "post": "yes"},
        )
        assert response.status_code == 302
        assert not CalendarFeed.objects.exists()
        revoked = AuditEvent.objects.filter(event="calendar_feed_revoked")
        assert sorted(revoked.values_list("target_id", flat=True)) == sorted(
            f["id"] for f in (first, second, third)
        )
        assert {(e.user_id, e.metadata["revoked_by"]) for e in revoked} == {(user.pk, staff.email)}

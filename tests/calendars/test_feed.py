"""GET /calendar/<token>.ics: what a calendar app reads (docs/api/calendar-feeds.md)."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from icalendar import Calendar

from accounts.models import User
from calendars.models import CalendarFeed
from core.sentry import scrub_event
from core.versioning import BaseVersion
from lists.models import Item
from lists.services import item_update, list_update
from tests.calendars import rfc5545
from tests.calendars.conftest import (
    a_list,
    a_workspace,
    an_item,
    calendar_of,
    events_of,
    fetch,
    make_feed,
    path_of,
)
from tests.conftest import client_for
from workspaces.services import member_leave, member_remove

pytestmark = pytest.mark.django_db

DAY = date(2026, 12, 3)


def edit(user: User, item: Item, **data: Any) -> Item:
    item.refresh_from_db()
    updated, _ = item_update(user=user, item_id=item.pk, base=BaseVersion(item.version), data=data)
    return updated


class TestContent:
    def test_open_dated_items_are_all_day_events_that_both_parsers_read(self, user: User) -> None:
        listed = a_list(user, name="Errands")
        item = an_item(listed, title="Buy milk, eggs; bread", notes="2 litres\nsemi-skimmed", due_date=DAY)
        an_item(listed, title="No date")
        done = an_item(listed, title="Done", due_date=DAY)
        edit(user, done, status="done")
        events = events_of(fetch(make_feed(user)))
        assert list(events) == [str(item.pk)]
        event = events[str(item.pk)]
        assert str(event["SUMMARY"]) == "Buy milk, eggs; bread"
        assert str(event["DESCRIPTION"]) == "2 litres\nsemi-skimmed"
        assert event.decoded("DTSTART") == DAY
        assert event.decoded("DTEND") == DAY + timedelta(days=1)
        assert int(event["SEQUENCE"]) == item.version
        assert event.decoded("DTSTAMP") == item.updated_at.replace(microsecond=0)
        assert event.decoded("LAST-MODIFIED") == item.updated_at.replace(microsecond=0)
        assert str(event["TRANSP"]) == "TRANSPARENT"

    def test_the_uid_stays_and_the_sequence_follows_the_version(self, user: User) -> None:
        item = an_item(a_list(user), due_date=DAY)
        feed = make_feed(user)
        before = events_of(fetch(feed))[str(item.pk)]
        item = edit(user, item, title="Renamed", due_date=str(DAY + timedelta(days=1)))
        after = events_of(fetch(feed))[str(item.pk)]
        assert str(after["UID"]) == str(before["UID"]) == str(item.pk)
        assert int(after["SEQUENCE"]) == item.version == int(before["SEQUENCE"]) + 1
        assert str(after["SUMMARY"]) == "Renamed"

    def test_a_list_feed_shows_that_list_only(self, user: User) -> None:
        mine, other = a_list(user, name="Work"), a_list(user)
        inside = an_item(mine, due_date=DAY)
        an_item(other, due_date=DAY)
        response = fetch(make_feed(user, mine.pk))
        assert list(events_of(response)) == [str(inside.pk)]
        parsed, _ = calendar_of(response)
        assert str(parsed["X-WR-CALNAME"]) == "Daymark: Work"

    def test_an_empty_feed_is_a_valid_calendar(self, user: User) -> None:
        parsed, checked = calendar_of(fetch(make_feed(user)))
        assert (parsed.walk("VEVENT"), checked.walk("VEVENT")) == ([], [])
        assert str(parsed["VERSION"]) == "2.0"

    def test_long_unicode_and_control_characters_fold_and_escape_correctly(self, user: User) -> None:
        title = "Équipe ☕ " * 40 + "\\end"
        notes = "line one\r\nline two\x07 with a bell, and; a semicolon\n" + "日本語のメモ" * 60
        item = an_item(a_list(user), title=title[:500], notes=notes, due_date=DAY)
        response = fetch(make_feed(user))
        for line in response.content.split(b"\r\n"):
            assert len(line) <= 75
        event = events_of(response)[str(item.pk)]
        assert str(event["SUMMARY"]) == title[:500]
        assert str(event["DESCRIPTION"]) == notes.replace("\r\n", "\n").replace("\x07", "")

    def test_items_are_ordered_by_due_date(self, user: User) -> None:
        listed = a_list(user)
        late = an_item(listed, due_date=DAY + timedelta(days=5))
        early = an_item(listed, due_date=DAY - timedelta(days=400))
        assert list(events_of(fetch(make_feed(user)))) == [str(early.pk), str(late.pk)]


class TestWhoSeesWhat:
    def test_another_users_items_never_appear(self, user: User, other_user: User) -> None:
        an_item(a_list(other_user), due_date=DAY)
        mine = an_item(a_list(user), due_date=DAY)
        assert list(events_of(fetch(make_feed(user)))) == [str(mine.pk)]

    def test_a_workspaces_items_appear_to_members_until_they_leave(
        self, user: User, other_user: User
    ) -> None:
        workspace = a_workspace(other_user, user, role="editor")
        shared_list = a_list(other_user, workspace=workspace.pk)
        shared = an_item(shared_list, due_date=DAY)
        everything = make_feed(user)
        one_list = make_feed(user, shared_list.pk)
        assert list(events_of(fetch(everything))) == [str(shared.pk)]
        assert list(events_of(fetch(one_list))) == [str(shared.pk)]
        member_leave(user=user, workspace_id=workspace.pk)
        assert events_of(fetch(everything)) == {}
        # The list feed names a list its owner no longer sees: as unknown as a revoked token.
        assert fetch(one_list).status_code == 404
        # And the owner still sees it in their own feed.
        assert list(events_of(fetch(make_feed(other_user)))) == [str(shared.pk)]

    def test_a_removed_member_stops_seeing_at_once(self, user: User, other_user: User) -> None:
        workspace = a_workspace(other_user, user, role="viewer")
        an_item(a_list(other_user, workspace=workspace.pk), due_date=DAY)
        feed = make_feed(user)
        assert len(events_of(fetch(feed))) == 1
        member_remove(user=other_user, workspace_id=workspace.pk, member_user_id=user.pk)
        assert events_of(fetch(feed)) == {}

    def test_an_item_moved_out_of_sight_leaves_the_feed(self, user: User, other_user: User) -> None:
        # Both are in workspace A; only other_user is in B. other_user moves A's item to B.
        shared_a = a_workspace(other_user, user, role="editor")
        only_theirs = a_workspace(other_user)
        list_a = a_list(other_user, workspace=shared_a.pk)
        list_b = a_list(other_user, workspace=only_theirs.pk)
        item = an_item(list_a, due_date=DAY)
        feed = make_feed(user)
        assert list(events_of(fetch(feed))) == [str(item.pk)]
        edit(other_user, item, list=str(list_b.pk))
        assert events_of(fetch(feed)) == {}
        assert list(events_of(fetch(make_feed(other_user)))) == [str(item.pk)]

    def test_an_item_moved_to_another_list_leaves_that_lists_feed(self, user: User) -> None:
        first, second = a_list(user), a_list(user)
        item = an_item(first, due_date=DAY)
        first_feed, second_feed = make_feed(user, first.pk), make_feed(user, second.pk)
        edit(user, item, list=str(second.pk))
        assert events_of(fetch(first_feed)) == {}
        assert list(events_of(fetch(second_feed))) == [str(item.pk)]

    def test_a_list_moved_into_a_workspace_the_owner_left_ends_its_feed(
        self, user: User, other_user: User
    ) -> None:
        workspace = a_workspace(other_user, user, role="editor")
        listed = a_list(user)
        an_item(listed, due_date=DAY)
        feed = make_feed(user, listed.pk)
        listed.refresh_from_db()
        list_update(
            user=user, list_id=listed.pk, base=BaseVersion(listed.version), data={"workspace": workspace.pk}
        )
        assert len(events_of(fetch(feed))) == 1
        member_leave(user=user, workspace_id=workspace.pk)
        assert fetch(feed).status_code == 404

    def test_a_deactivated_owners_feed_is_a_404(self, user: User) -> None:
        an_item(a_list(user), due_date=DAY)
        feed = make_feed(user)
        User.objects.filter(pk=user.pk).update(is_active=False)
        assert fetch(feed).status_code == 404

    def test_a_deleted_account_takes_its_feeds(self, user: User) -> None:
        feed = make_feed(user)
        response = client_for(user).delete(
            "/api/v1/user", {"password": "a-long-enough-test-password"}, format="json"
        )
        assert response.status_code == 204
        assert not CalendarFeed.objects.exists()
        assert fetch(feed).status_code == 404


class TestTokens:
    @pytest.mark.parametrize(
        "path",
        [
            "/calendar/dmc_" + "A" * 43 + ".ics",  # well formed, unknown
            "/calendar/nonsense.ics",
            "/calendar/" + "x" * 5000 + ".ics",
            "/calendar/dmc_%00" + "A" * 40 + ".ics",
            "/calendar/.ics",
        ],
    )
    def test_an_unknown_or_malformed_token_is_a_404(self, path: str) -> None:
        response = Client().get(path)
        assert response.status_code == 404
        assert response["Content-Type"] == "application/problem+json"

    def test_the_feed_is_read_only(self, user: User) -> None:
        feed = make_feed(user)
        for method in ("post", "put", "delete"):
            response = getattr(Client(), method)(path_of(feed))
            assert response.status_code == 405
            assert response["Allow"] == "GET, HEAD"

    def test_head_answers_the_headers(self, user: User) -> None:
        feed = make_feed(user)
        response = Client().head(path_of(feed))
        assert response.status_code == 200
        assert response["ETag"] == fetch(feed)["ETag"]

    def test_the_token_never_reaches_the_access_log(self, user: User, caplog: Any) -> None:
        feed = make_feed(user)
        token = path_of(feed).removeprefix("/calendar/").removesuffix(".ics")
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="daymark.access"):
            fetch(feed)
            fetch("/calendar/dmc_" + "C" * 43 + ".ics")
        lines = [record for record in caplog.records if record.name == "daymark.access"]
        assert len(lines) == 2
        for record in lines:
            assert token not in str(record.__dict__)
            assert "C" * 43 not in str(record.__dict__)

    def test_error_reports_never_hold_the_token(self) -> None:
        url = "https://api.example.com/calendar/dmc_" + "D" * 43 + ".ics?x=1"
        event = scrub_event({"request": {"url": url, "method": "GET"}})
        assert event["request"]["url"] == "https://api.example.com/calendar/[redacted].ics?x=1"

    def test_the_answer_is_never_kept_by_shared_caches(self, user: User) -> None:
        response = fetch(make_feed(user))
        assert response["Cache-Control"] == "private, no-cache"
        assert response["Referrer-Policy"] == "no-referrer"


class TestConditionalRequests:
    def test_an_unchanged_feed_answers_304(self, user: User) -> None:
        an_item(a_list(user), due_date=DAY)
        feed = make_feed(user)
        first = fetch(feed)
        etag = first["ETag"]
        assert etag.startswith('"')
        assert etag == fetch(feed)["ETag"]
        for header in (etag, f"W/{etag}", f'"other", {etag}', "*"):
            unchanged = fetch(feed, if_none_match=header)
            assert unchanged.status_code == 304
            assert unchanged.content == b""
            assert unchanged["ETag"] == etag
        assert fetch(feed, if_none_match='"other"').status_code == 200

    def test_the_same_etag_means_the_same_bytes(self, user: User) -> None:
        an_item(a_list(user), due_date=DAY)
        feed = make_feed(user)
        assert fetch(feed).content == fetch(feed).content

    @pytest.mark.parametrize("change", ["item", "new item", "timezone", "list name", "left workspace"])
    def test_a_change_the_feed_shows_changes_the_etag(
        self, user: User, other_user: User, change: str
    ) -> None:
        listed = a_list(user)
        item = an_item(listed, due_date=DAY)
        workspace = a_workspace(other_user, user)
        feed = make_feed(user, listed.pk) if change == "list name" else make_feed(user)
        before = fetch(feed)
        if change == "item":
            edit(user, item, title="Changed")
        elif change == "new item":
            an_item(listed, due_date=DAY)
        elif change == "timezone":
            response = client_for(user).patch(
                "/api/v1/user/profile", {"timezone": "Europe/Berlin", "version": 1}, format="json"
            )
            assert response.status_code == 200, response.content
        elif change == "list name":
            listed.refresh_from_db()
            list_update(user=user, list_id=listed.pk, base=BaseVersion(listed.version), data={"name": "New"})
        else:
            member_leave(user=user, workspace_id=workspace.pk)
        after = fetch(feed, if_none_match=before["ETag"])
        assert after.status_code == 200
        assert after["ETag"] != before["ETag"]

    def test_another_users_change_elsewhere_keeps_the_etag(self, user: User, other_user: User) -> None:
        feed = make_feed(user)
        etag = fetch(feed)["ETag"]
        an_item(a_list(other_user), due_date=DAY)
        assert fetch(feed, if_none_match=etag).status_code == 304


class TestQueries:
    @pytest.mark.parametrize("size", [3, 40])
    def test_a_feed_costs_three_queries_whatever_its_size(
        self, user: User, other_user: User, size: int, django_assert_num_queries: Any
    ) -> None:
        workspace = a_workspace(other_user, user)
        mine, shared = a_list(user), a_list(other_user, workspace=workspace.pk)
        for n in range(size):
            an_item(mine if n % 2 else shared, due_date=DAY + timedelta(days=n))
        feed = make_feed(user)
        # 1: the feed by its token's hash, with its user and list; 2: the spaces the user sees, with their
        # change counters (the ETag); 3: the open dated items in them.
        with django_assert_num_queries(3):
            response = fetch(feed)
        assert len(events_of(response)) == size
        # 1: the feed; 2: the spaces: the ETag matches, nothing else is read.
        with django_assert_num_queries(2):
            assert fetch(feed, if_none_match=response["ETag"]).status_code == 304


class TestRateLimit:
    def test_each_token_has_its_own_budget(self, user: User, settings: Any) -> None:
        settings.RATE_LIMIT_CALENDAR_FEED = "3/h"
        first, second = make_feed(user), make_feed(user)
        answers = [fetch(first) for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        refused = answers[-1]
        assert refused["Content-Type"] == "application/problem+json"
        assert refused.json()["code"] == "rate_limited"
        assert int(refused["Retry-After"]) >= 1
        assert '"calendar-feed";q=3;w=3600' in answers[0]["RateLimit-Policy"]
        assert '"calendar-feed";r=2;' in answers[0]["RateLimit"]
        assert fetch(second).status_code == 200

    def test_unknown_tokens_spend_their_own_budget(self, settings: Any) -> None:
        settings.RATE_LIMIT_CALENDAR_FEED = "2/h"
        path = "/calendar/dmc_" + "B" * 43 + ".ics"
        assert [Client().get(path).status_code for _ in range(3)] == [404, 404, 429]


def test_the_feed_parses_like_a_calendar_apps_parser_would(user: User) -> None:
    """A calendar with several kinds of items, read by icalendar and by the strict checker, and each event
    equal to what icalendar itself would build for the item."""
    workspace = a_workspace(user)
    personal, shared = a_list(user), a_list(user, workspace=workspace.pk)
    items = [
        an_item(personal, title="Plain", due_date=DAY),
        an_item(shared, title="Shared, with notes", notes="Some; notes", due_date=DAY),
        an_item(personal, title="x" * 500, due_date=date(2030, 2, 28)),
    ]
    body = fetch(make_feed(user)).content
    checked = rfc5545.parse(body)
    assert len(checked.walk("VEVENT")) == len(items)
    parsed = Calendar.from_ical(body)
    for event in parsed.walk("VEVENT"):
        item = next(i for i in items if str(i.pk) == str(event["UID"]))
        assert str(event["SUMMARY"]) == item.title
        assert str(event.get("DESCRIPTION", "")) == item.notes
        assert event.decoded("CREATED") == item.created_at.replace(microsecond=0).astimezone(UTC)


class TestDueTimes:
    def test_a_due_time_is_half_an_hour_at_that_time_in_the_owners_zone(self, user: User) -> None:
        client_for(user).patch(
            "/api/v1/user/profile", {"timezone": "America/Sao_Paulo", "version": 1}, format="json"
        )
        listed = a_list(user)
        timed = an_item(listed, title="Dentist", due_date=DAY, due_time="16:45")
        allday = an_item(listed, title="Rent", due_date=DAY)
        response = fetch(make_feed(user))
        parsed, checked = calendar_of(response)
        assert [zone.one("TZID").value for zone in checked.walk("VTIMEZONE")] == ["America/Sao_Paulo"]
        events = {str(event["UID"]): event for event in parsed.walk("VEVENT")}
        start = events[str(timed.pk)].decoded("DTSTART")
        assert start == datetime(2026, 12, 3, 16, 45, tzinfo=ZoneInfo("America/Sao_Paulo"))
        assert events[str(timed.pk)].decoded("DTEND") - start == timedelta(minutes=30)
        assert events[str(allday.pk)].decoded("DTSTART") == DAY

    def test_changing_the_time_zone_moves_the_events(self, user: User) -> None:
        item = an_item(a_list(user), due_date=DAY, due_time="09:00")
        feed = make_feed(user)
        before = events_of(fetch(feed))[str(item.pk)].decoded("DTSTART")
        assert before == datetime(2026, 12, 3, 9, tzinfo=UTC)
        client_for(user).patch(
            "/api/v1/user/profile", {"timezone": "Asia/Tokyo", "version": 1}, format="json"
        )
        after = events_of(fetch(feed))[str(item.pk)].decoded("DTSTART")
        assert after == datetime(2026, 12, 3, 9, tzinfo=ZoneInfo("Asia/Tokyo"))


@pytest.mark.usefixtures("before_the_fixed_dates")
class TestRecurringItems:
    def test_a_recurring_item_is_one_event_with_its_rule(self, user: User) -> None:
        rule = {"rule": "FREQ=WEEKLY;BYDAY=TH;COUNT=4", "mode": "schedule"}
        item = an_item(a_list(user), title="Standup notes", due_date=DAY, due_time="09:15", recurrence=rule)
        event = events_of(fetch(make_feed(user)))[str(item.pk)]
        assert event["RRULE"]["FREQ"] == ["WEEKLY"]
        assert event["RRULE"]["BYDAY"] == ["TH"]
        assert event["RRULE"]["COUNT"] == [4]

    def test_completing_an_occurrence_puts_the_next_in_its_place(self, user: User) -> None:
        rule = {"rule": "FREQ=WEEKLY;BYDAY=TH;COUNT=4", "mode": "schedule"}
        first = an_item(a_list(user), title="Water plants", due_date=DAY, recurrence=rule)
        feed = make_feed(user)
        edit(user, first, status="done")
        events = events_of(fetch(feed))
        assert str(first.pk) not in events
        (following,) = events.values()
        assert following.decoded("DTSTART") > DAY
        # The second occurrence of four: three are left, this one included.
        assert following["RRULE"]["COUNT"] == [3]

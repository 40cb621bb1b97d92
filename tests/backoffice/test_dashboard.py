"""The dashboard: the numbers of seeded activity, a fixed number of queries whatever the number of users,
cached for a minute, and only for staff with the permission."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from backoffice import selectors
from backoffice.models import ActiveDay, UsageCount
from backoffice.rollups import rollup
from core.versioning import ANY_VERSION
from focus.services import focus_card_generate
from lists.services import item_update
from tests.factories import ItemFactory, ListFactory, UserFactory, WorkspaceFactory

# The dashboard's queries, one per line of backoffice.selectors._compute:
DASHBOARD_QUERIES = [
    "sign-ups per day",
    "items created per day",
    "items completed per day",
    "workspaces created per day",
    "invitations sent and accepted per day",
    "members joined per day",
    "focus cards generated and completed per day",
    "the rollups: active users, pulls, pushes",
    "the totals of accounts",
]


def seed_activity(users: int = 3) -> list[User]:
    """Users who signed up today, made items, completed some, generated a focus card, made a workspace,
    pulled and pushed; rolled up as the worker does."""
    people = [UserFactory.create() for _ in range(users)]
    for person in people:
        todo = ListFactory.create(user=person)
        items = [ItemFactory.create(list=todo, user=person) for _ in range(3)]
        item_update(user=person, item_id=items[0].pk, base=ANY_VERSION, data={"status": "done"})
    focus_card_generate(user=people[0], day=datetime.now(UTC).date())
    WorkspaceFactory.create(user=people[0])
    today = datetime.now(UTC).date()
    ActiveDay.objects.bulk_create([ActiveDay(day=today, user_id=p.pk) for p in people])
    ActiveDay.objects.create(day=today - timedelta(days=3), user_id=people[0].pk)
    UsageCount.objects.update_or_create(day=today, name="sync_pulls", defaults={"count": 7})
    UsageCount.objects.update_or_create(day=today, name="sync_pushes", defaults={"count": 2})
    rollup(now=datetime.now(UTC), days=6)
    cache.clear()
    return people


@pytest.mark.usefixtures("far_from_midnight")
def test_the_numbers_are_those_of_the_seeded_activity(db: Any) -> None:
    seed_activity(users=3)
    data = selectors.dashboard(days=7)
    assert len(data["labels"]) == 7
    assert data["labels"][-1] == datetime.now(UTC).date().isoformat()
    series = data["series"]
    assert series["signups"][-1] == 3
    assert series["items_created"][-1] == 9
    assert series["items_completed"][-1] == 3
    assert series["active_users"][-1] == 3
    assert series["active_users"][-4] == 1
    assert series["weekly_active_users"][-1] == 3
    assert (series["sync_pulls"][-1], series["sync_pushes"][-1]) == (7, 2)
    assert series["workspaces"][-1] == 1
    assert series["focus_generated"][-1] == 1
    assert data["sums"]["items_created"] == 9
    assert data["totals"] == {"users": 3, "active_accounts": 3}


def test_its_query_count_is_fixed_and_does_not_grow_with_users(db: Any) -> None:
    seed_activity(users=2)
    with CaptureQueriesContext(connection) as few:
        selectors.dashboard(days=90)
    seed_activity(users=12)
    with CaptureQueriesContext(connection) as many:
        selectors.dashboard(days=30)
    assert len(few) == len(DASHBOARD_QUERIES), [q["sql"] for q in few.captured_queries]
    assert len(many) == len(DASHBOARD_QUERIES)


@pytest.mark.usefixtures("far_from_midnight")
def test_it_is_cached_for_a_minute(db: Any) -> None:
    seed_activity(users=1)
    first = selectors.dashboard(days=7)
    UserFactory.create()
    with CaptureQueriesContext(connection) as cached:
        again = selectors.dashboard(days=7)
    assert len(cached) == 0
    assert again["totals"] == first["totals"]


def test_the_admin_index_shows_it_with_the_same_queries_for_more_users(
    db: Any, make_staff: Callable[..., User], browser_of: Callable[[User], Any]
) -> None:
    staff = make_staff("backoffice.view_dashboard")
    client = browser_of(staff)
    seed_activity(users=2)
    with CaptureQueriesContext(connection) as few:
        page = client.get("/admin/?days=7")
    assert page.status_code == 200
    assert b'id="chart-active"' in page.content
    assert b"backoffice-chart-data" in page.content
    seed_activity(users=10)
    with CaptureQueriesContext(connection) as many:
        assert client.get("/admin/?days=7").status_code == 200
    assert len(many) == len(few)


def test_staff_without_the_permission_see_the_plain_index(
    db: Any, make_staff: Callable[..., User], browser_of: Callable[[User], Any]
) -> None:
    page = browser_of(make_staff("accounts.view_user")).get("/admin/")
    assert page.status_code == 200
    assert b"chart-active" not in page.content
    assert b"chart.umd.min.js" not in page.content


def test_a_non_staff_user_is_sent_to_the_login(db: Any, browser_of: Callable[[User], Any]) -> None:
    page = browser_of(UserFactory.create()).get("/admin/")
    assert page.status_code == 302
    assert "/admin/login/" in page["Location"]


def test_the_charting_library_is_served_by_the_app_under_the_csp(
    db: Any, make_staff: Callable[..., User], browser_of: Callable[[User], Any]
) -> None:
    page = browser_of(make_staff("backoffice.view_dashboard")).get("/admin/")
    assert "script-src 'self'" in page["Content-Security-Policy"]
    assert b'src="/static/backoffice/vendor/chart.umd.min.js"' in page.content
    assert b"<script>" not in page.content  # no inline script; the data is a JSON block

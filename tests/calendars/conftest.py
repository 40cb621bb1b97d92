"""Helpers of the calendar feed tests: make a feed through the API, fetch it as a calendar app does."""

from __future__ import annotations

from typing import Any, cast
from urllib.parse import urlsplit

import pytest
from django.test import Client
from icalendar import Calendar

from accounts.models import User
from lists.models import Item, List
from tests.calendars import rfc5545
from tests.conftest import client_for
from tests.factories import ItemFactory, ListFactory, MemberFactory, WorkspaceFactory
from workspaces.models import Workspace

FEEDS = "/api/v1/user/calendar-feeds"


def a_list(user: User, **fields: Any) -> List:
    return cast(List, ListFactory(user=user, **fields))


def an_item(listed: List, **fields: Any) -> Item:
    return cast(Item, ItemFactory(list=listed, **fields))


def a_workspace(owner: User, *members: User, role: str = "editor") -> Workspace:
    workspace = cast(Workspace, WorkspaceFactory(user=owner))
    for member in members:
        MemberFactory(workspace=workspace, user=member, role=role)
    return workspace


def make_feed(user: User, list_id: Any = None) -> dict[str, Any]:
    body = {"list": str(list_id)} if list_id is not None else {}
    response = client_for(user).post(FEEDS, body, format="json")
    assert response.status_code == 201, response.content
    return dict(response.json())


def path_of(feed: dict[str, Any]) -> str:
    return urlsplit(feed["url"]).path


def fetch(feed: dict[str, Any] | str, **headers: str) -> Any:
    """A calendar app's GET: no credentials but the URL."""
    path = feed if isinstance(feed, str) else path_of(feed)
    return Client().get(path, headers=headers)


def calendar_of(response: Any) -> tuple[Calendar, rfc5545.Component]:
    """The answer read by both parsers: icalendar's, and the strict line-level checker."""
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    body = response.content
    checked = rfc5545.parse(body)
    parsed = Calendar.from_ical(body)
    # icalendar keeps what it could not read of a component in `errors` instead of failing.
    assert [component.errors for component in parsed.walk() if component.errors] == []
    return parsed, checked


def events_of(response: Any) -> dict[str, Any]:
    """{UID: the icalendar VEVENT}."""
    parsed, checked = calendar_of(response)
    events = {str(event["UID"]): event for event in parsed.walk("VEVENT")}
    assert set(events) == {event.one("UID").value for event in checked.walk("VEVENT")}
    return events


@pytest.fixture(autouse=True)
def _rate_limits_apart(settings: Any) -> None:
    settings.RATE_LIMIT_CALENDAR_FEED = "1000/h"

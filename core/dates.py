"""Days in the user's time zone (docs/api/README.md: a date means a day where the user lives)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import exceptions as drf_exceptions
from rest_framework import serializers

from core.problems import validation_error

MAX_RANGE_DAYS = 366
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Far enough from date.min/date.max that "the day after" and "the start of the day" in any zone exist.
_EARLIEST = date(1900, 1, 1)
_LATEST = date(9000, 12, 31)
# The OpenAPI schema of a day, query parameter or body field: `format: date` cannot say which years are
# accepted, the pattern does (1900..9000, as parse_day checks).
DAY_SCHEMA: dict[str, Any] = {
    "type": "string",
    "format": "date",
    "pattern": "^(19[0-9]{2}|[2-8][0-9]{3}|9000)-[0-9]{2}-[0-9]{2}$",
}


def user_zone(user: Any) -> ZoneInfo:
    return ZoneInfo(getattr(user, "timezone", "") or "UTC")


def local_today(user: Any) -> date:
    """Today where the user lives."""
    return timezone.now().astimezone(user_zone(user)).date()


def local_day_start(day: date, zone: ZoneInfo) -> datetime:
    """The first instant of `day` in `zone` (on a day that starts inside a DST gap, the gap's end)."""
    return datetime.combine(day, time.min, tzinfo=zone)


def local_day_bounds(first: date, last: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) instants covering the days `first`..`last` in `zone`."""
    return local_day_start(first, zone), local_day_start(last + timedelta(days=1), zone)


def parse_day(raw: Any, name: str = "date") -> date:
    """A `YYYY-MM-DD` value from a query string or body; anything else is a 400 naming `name`."""
    if not isinstance(raw, str) or not _DATE.match(raw):
        raise validation_error({name: ["Must be a date as YYYY-MM-DD."]})
    try:
        value = date.fromisoformat(raw)
    except ValueError as error:
        raise validation_error({name: ["Not a valid date."]}) from error
    if not _EARLIEST <= value <= _LATEST:
        raise validation_error({name: [f"Must be between {_EARLIEST} and {_LATEST}."]})
    return value


def day_param(params: Mapping[str, Any], user: Any, name: str = "date") -> date:
    """`?date=`, default today in the user's time zone when absent (an empty value is not a date)."""
    raw = params.get(name)
    return local_today(user) if raw is None else parse_day(raw, name)


def range_params(
    params: Mapping[str, Any], *, default_to: date | None = None, default_days: int | None = None
) -> tuple[date, date]:
    """`?from=&to=`: both valid dates, from <= to, at most MAX_RANGE_DAYS days (both ends included).

    With `default_to` and `default_days`, missing ends default to the `default_days` days ending there;
    without them, both are required. A parameter that is present must be a date (an empty value is not).
    """
    raw_from, raw_to = params.get("from"), params.get("to")
    if default_to is None or default_days is None:
        missing = {
            n: ["This query parameter is required."]
            for n, v in (("from", raw_from), ("to", raw_to))
            if v is None
        }
        if missing:
            raise validation_error(missing)
    last = parse_day(raw_to, "to") if raw_to is not None else default_to
    assert last is not None
    if raw_from is not None:
        first = parse_day(raw_from, "from")
    else:
        assert default_days is not None
        first = last - timedelta(days=default_days - 1)
    if first > last:
        raise validation_error({"from": ["Must not be after `to`."]})
    if (last - first).days + 1 > MAX_RANGE_DAYS:
        raise validation_error({"to": [f"The range spans at most {MAX_RANGE_DAYS} days."]})
    return first, last


def days_of(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


@extend_schema_field(DAY_SCHEMA)
class DayField(serializers.Field):
    """A `YYYY-MM-DD` day in a body, with the same rules as the query parameters."""

    default_error_messages = {"invalid": "Must be a date as YYYY-MM-DD."}

    def to_internal_value(self, data: Any) -> date:
        try:
            return parse_day(data, self.field_name or "date")
        except drf_exceptions.ValidationError as error:
            detail = error.detail
            messages = detail.get(self.field_name or "date") if isinstance(detail, dict) else detail
            raise serializers.ValidationError(messages) from error

    def to_representation(self, value: date) -> str:
        return value.isoformat()

"""The iCalendar (RFC 5545) text of a feed (docs/api/calendar-feeds.md).

Values are encoded by `icalendar`: text escaping (`vText`), recurrence rules (`vRecur`) and the VTIMEZONE of
the user's time zone (`Timezone.from_tzid`, made once per process and zone). The content lines are written
and folded here: icalendar's own serializer folds every line character by character and took about 0.6 s
for a feed of 1,000 items, three times the feed's budget (docs/performance.md). tests/calendars hold the
two equal: each event we write parses with icalendar to the same values as the event icalendar builds from
the same item, and a strict line-level checker reads the whole feed.

One VEVENT per item: all-day (DTSTART and DTEND as dates) without a due time; 30 minutes at the due time in
the user's time zone with one. UID is the item's id, SEQUENCE its version, DTSTAMP and LAST-MODIFIED its last
change (RFC 5545 3.8.7.2: without METHOD, DTSTAMP is the last revision), so the same items always give the
same bytes, and the ETag can stand for them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icalendar import Timezone, vRecur, vText

# Part of every ETag: a change of what we write changes the ETag of every feed.
FORMAT_VERSION = "1"
PRODID = "-//Daymark//Calendar feed//EN"
EVENT_MINUTES = 30
# Calendar apps poll at their own pace (Google about every 8 to 24 hours); these suggest an hour.
REFRESH = "PT1H"
_UTC_NAMES = frozenset({"UTC", "Etc/UTC", "Etc/UCT", "UCT", "Etc/Zulu", "Zulu", "Universal", "Etc/Universal"})
# RFC 5545 TEXT allows no control characters but HTAB (and line breaks, which vText escapes).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_LINE_OCTETS = 75


@dataclass(frozen=True)
class Recurrence:
    """An item's rule as the feed writes it: `rule` an RRULE value of the accepted subset (COUNT counts the
    series from its first occurrence, numbered 1), `index` the item's number in its series."""

    rule: str
    index: int = 1


@dataclass(slots=True)
class Entry:
    """What a VEVENT shows of one item."""

    id: Any
    title: str
    notes: str
    due_date: date
    due_time: time | None
    version: int
    created_at: datetime
    updated_at: datetime
    recurrence: Recurrence | None = None


def fold(line: str) -> str:
    """One content line folded at 75 octets (RFC 5545 3.1): CRLF and a space before each continuation,
    never inside a UTF-8 character, and (as icalendar does, for clients that unfold badly) never between a
    backslash and the character it escapes."""
    if line.isascii():
        if len(line) <= _LINE_OCTETS:
            return line
        return _fold_ascii(line)
    parts: list[str] = []
    current: list[str] = []
    octets = 0
    limit = _LINE_OCTETS
    for char in line:
        size = len(char.encode())
        if current and octets + size > limit:
            carried = current.pop() if len(current) > 1 and _opens_escape(current) else None
            parts.append("".join(current))
            current = [carried] if carried else []
            octets = len(carried) if carried else 0
            limit = _LINE_OCTETS - 1  # the leading space of a continuation is one of its 75 octets
        current.append(char)
        octets += size
    parts.append("".join(current))
    return "\r\n ".join(parts)


def _fold_ascii(line: str) -> str:
    """`fold` of an ASCII line (one octet a character), by slices."""
    parts = []
    start, limit = 0, _LINE_OCTETS
    while len(line) - start > limit:
        end = start + limit
        if _opens_escape(line[start:end]):
            end -= 1
        parts.append(line[start:end])
        start, limit = end, _LINE_OCTETS - 1
    parts.append(line[start:])
    return "\r\n ".join(parts)


def _opens_escape(chars: list[str] | str) -> bool:
    """Whether the last character is a backslash that escapes the next one (an odd run of them)."""
    run = 0
    for char in reversed(chars):
        if char != "\\":
            break
        run += 1
    return run % 2 == 1


_SPECIAL = re.compile(r"[\\;,\n\r\x00-\x08\x0b-\x1f\x7f]")


def text(value: str) -> str:
    """A TEXT value: control characters dropped, then escaped by icalendar (a value with nothing to escape
    is itself: most titles, and the cost of a feed is mostly its titles)."""
    if _SPECIAL.search(value) is None:
        return value
    return vText(_CONTROL.sub("", value)).to_ical().decode()


# Formatted by hand: strftime was a third of a feed's cost.
def _utc(moment: datetime) -> str:
    return _local(moment.astimezone(UTC)) + "Z"


def _day(day: date) -> str:
    return f"{day.year:04d}{day.month:02d}{day.day:02d}"


def _local(moment: datetime) -> str:
    clock = f"{moment.hour:02d}{moment.minute:02d}{moment.second:02d}"
    return f"{moment.year:04d}{moment.month:02d}{moment.day:02d}T{clock}"


@lru_cache(maxsize=64)
def _vtimezone(tzid: str) -> str:
    """The VTIMEZONE of `tzid` (from the tz database, 1970 to 2038: calendar apps know the IANA names and
    use their own rules; this is for the others), folded. Made once per process: it takes tens of ms."""
    component = Timezone.from_tzid(tzid)
    return component.to_ical().decode().rstrip("\r\n")


def zone(name: str) -> ZoneInfo:
    """The user's zone; an unknown name (never stored: the profile validates it) reads as UTC."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


class _Writer:
    """Writes the events of one calendar; says whether any named the user's zone (which then needs its
    VTIMEZONE)."""

    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz
        self.utc = tz.key in _UTC_NAMES
        self.tzid_used = False
        self.lines: list[str] = []

    def event(self, entry: Entry) -> None:
        out = self.lines
        out.append("BEGIN:VEVENT")
        out.append(f"UID:{entry.id}")
        modified = _utc(entry.updated_at)
        out.append(f"DTSTAMP:{modified}")
        out.append(f"CREATED:{_utc(entry.created_at)}")
        out.append(f"LAST-MODIFIED:{modified}")
        out.append(f"SEQUENCE:{entry.version}")
        out.append(fold(f"SUMMARY:{text(entry.title)}"))
        if entry.notes:
            out.append(fold(f"DESCRIPTION:{text(entry.notes)}"))
        start = None
        if entry.due_time is None:
            out.append(f"DTSTART;VALUE=DATE:{_day(entry.due_date)}")
            out.append(f"DTEND;VALUE=DATE:{_day(entry.due_date + timedelta(days=1))}")
        else:
            start = datetime.combine(entry.due_date, entry.due_time, self.tz)
            # The end is 30 minutes later in absolute time, written in the same zone: near a daylight-saving
            # change its wall-clock time is not the start's plus 30 minutes.
            end = (start.astimezone(UTC) + timedelta(minutes=EVENT_MINUTES)).astimezone(self.tz)
            if self.utc:
                out.append(f"DTSTART:{_utc(start)}")
                out.append(f"DTEND:{_utc(end)}")
            else:
                tzid = self.tz.key
                out.append(fold(f"DTSTART;TZID={tzid}:{_local(start)}"))
                out.append(fold(f"DTEND;TZID={tzid}:{_local(end)}"))
                self.tzid_used = True
        if entry.recurrence is not None:
            rule = self.rrule(entry.recurrence, timed=start is not None)
            if rule:
                out.append(fold(f"RRULE:{rule}"))
        # A to-do takes no time on the calendar: it never makes its owner look busy.
        out.append("TRANSP:TRANSPARENT")
        out.append("END:VEVENT")

    def rrule(self, recurrence: Recurrence, *, timed: bool) -> str | None:
        """The rule from this occurrence on: COUNT becomes the occurrences left (this one included, since
        DTSTART counts as the first); a date UNTIL stays a date for an all-day event and becomes the end of
        that day in UTC for a timed one (RFC 5545 3.3.10: UNTIL has DTSTART's value type, in UTC when DTSTART
        names a zone). None when the rule cannot be read or nothing is left of it."""
        try:
            parts = vRecur.from_ical(recurrence.rule)
        except ValueError:
            return None
        if "FREQ" not in parts:
            return None
        if "COUNT" in parts:
            left = int(parts["COUNT"][0]) - max(1, recurrence.index) + 1
            if left < 1:
                return None
            parts["COUNT"] = [left]
        if "UNTIL" in parts and timed:
            until = parts["UNTIL"][0]
            if isinstance(until, date) and not isinstance(until, datetime):
                last = datetime.combine(until, time(23, 59, 59), self.tz)
                parts["UNTIL"] = [last.astimezone(UTC)]
        return str(parts.to_ical().decode())


def render(*, name: str, timezone_name: str, entries: Iterable[Entry]) -> bytes:
    """The whole calendar, CRLF line ends, UTF-8."""
    writer = _Writer(zone(timezone_name))
    for entry in entries:
        writer.event(entry)
    head = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        fold(f"NAME:{text(name)}"),
        fold(f"X-WR-CALNAME:{text(name)}"),
        f"REFRESH-INTERVAL;VALUE=DURATION:{REFRESH}",
        f"X-PUBLISHED-TTL:{REFRESH}",
    ]
    if writer.tzid_used:
        head.append(_vtimezone(writer.tz.key))
    return ("\r\n".join([*head, *writer.lines, "END:VCALENDAR"]) + "\r\n").encode()


def recurrence_of(row: Mapping[str, Any]) -> Recurrence | None:
    """The recurrence of an item row (`recurrence`: null or `{rule, mode}`; `series_index` its number in the
    series when the model has it)."""
    value = row.get("recurrence")
    if not isinstance(value, Mapping) or not isinstance(value.get("rule"), str):
        return None
    return Recurrence(rule=value["rule"], index=int(row.get("series_index") or 1))

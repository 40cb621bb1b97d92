"""A strict, line-level RFC 5545 checker, independent of the `icalendar` package that writes our feeds.

It reads the bytes as a calendar app's parser would and fails on what Google Calendar is known to drop a
whole feed for (bad line ends and folding) and on what the RFC requires of the components we write:
CRLF line ends, lines of at most 75 octets, folding, the content-line grammar, BEGIN/END nesting, required
and single properties, value formats (dates, UTC date-times, integers, TEXT escapes, RRULE parts), and a
VTIMEZONE for every TZID used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

NAME = r"[A-Za-z0-9-]+"
# paramtext: any character but CTLs, DQUOTE, ";", ":" and ","; a quoted-string: any but CTLs and DQUOTE.
PARAM_VALUE = r'(?:"[^"\x00-\x08\x0a-\x1f\x7f]*"|[^";:,\x00-\x08\x0a-\x1f\x7f]*)'
PARAM = rf"{NAME}={PARAM_VALUE}(?:,{PARAM_VALUE})*"
CONTENT_LINE = re.compile(
    rf"^(?P<name>{NAME})(?P<params>(?:;{PARAM})*):(?P<value>[^\x00-\x08\x0a-\x1f\x7f]*)$"
)
PARAM_SPLIT = re.compile(rf";({NAME})=({PARAM_VALUE}(?:,{PARAM_VALUE})*)")
DATE = re.compile(r"^\d{8}$")
LOCAL_DATETIME = re.compile(r"^\d{8}T\d{6}$")
UTC_DATETIME = re.compile(r"^\d{8}T\d{6}Z$")
OFFSET = re.compile(r"^[+-]\d{4}(\d{2})?$")
# TEXT (3.3.11): a backslash escapes only \ ; , n N; an unescaped ; or , is not TEXT.
TEXT = re.compile(r"^(?:[^\\;,]|\\[\\;,nN])*$")
DURATION = re.compile(r"^[+-]?P(?:\d+W|(?:\d+D)?(?:T(?:\d+H)?(?:\d+M)?(?:\d+S)?)?)$")

CONTAINERS = {None: {"VCALENDAR"}, "VCALENDAR": {"VEVENT", "VTIMEZONE", "VTODO", "VJOURNAL", "VFREEBUSY"}}
CONTAINERS["VTIMEZONE"] = {"STANDARD", "DAYLIGHT"}
CONTAINERS["VEVENT"] = {"VALARM"}
REQUIRED_ONCE = {
    "VCALENDAR": {"PRODID", "VERSION"},
    "VEVENT": {"UID", "DTSTAMP", "DTSTART"},  # DTSTART: required when the calendar has no METHOD
    "VTIMEZONE": {"TZID"},
    "STANDARD": {"DTSTART", "TZOFFSETTO", "TZOFFSETFROM"},
    "DAYLIGHT": {"DTSTART", "TZOFFSETTO", "TZOFFSETFROM"},
}
AT_MOST_ONCE = {
    "VCALENDAR": {"CALSCALE", "METHOD", "NAME", "REFRESH-INTERVAL"},
    "VEVENT": {
        "CLASS", "CREATED", "DESCRIPTION", "GEO", "LAST-MODIFIED", "LOCATION", "ORGANIZER", "PRIORITY",
        "SEQUENCE", "STATUS", "SUMMARY", "TRANSP", "URL", "RECURRENCE-ID", "DTEND", "DURATION", "RRULE",
    },
    "VTIMEZONE": {"LAST-MODIFIED", "TZURL"},
}  # fmt: skip
TEXT_PROPERTIES = {"SUMMARY", "DESCRIPTION", "LOCATION", "COMMENT", "NAME", "X-WR-CALNAME", "TZNAME"}
UTC_PROPERTIES = {"DTSTAMP", "CREATED", "LAST-MODIFIED"}
RRULE_PARTS = {
    "FREQ", "UNTIL", "COUNT", "INTERVAL", "BYSECOND", "BYMINUTE", "BYHOUR", "BYDAY", "BYMONTHDAY",
    "BYYEARDAY", "BYWEEKNO", "BYMONTH", "BYSETPOS", "WKST",
}  # fmt: skip


class Invalid(AssertionError):
    pass


@dataclass
class Property:
    name: str
    params: dict[str, str]
    value: str
    line: int


@dataclass
class Component:
    name: str
    properties: list[Property] = field(default_factory=list)
    children: list[Component] = field(default_factory=list)

    def all(self, name: str) -> list[Property]:
        return [p for p in self.properties if p.name == name]

    def one(self, name: str) -> Property:
        found = self.all(name)
        if len(found) != 1:
            raise Invalid(f"{self.name} has {len(found)} {name}")
        return found[0]

    def walk(self, name: str) -> list[Component]:
        found = [self] if self.name == name else []
        for child in self.children:
            found += child.walk(name)
        return found


def unfold(data: bytes) -> list[tuple[int, str]]:
    """The logical lines with the number of their first physical line; fails on any line-level fault."""
    if not data.endswith(b"\r\n"):
        raise Invalid("the calendar does not end with CRLF")
    text = data.decode("utf-8")  # raises on invalid UTF-8
    physical = text.split("\r\n")[:-1]
    logical: list[tuple[int, str]] = []
    for number, line in enumerate(physical, start=1):
        if "\r" in line or "\n" in line:
            raise Invalid(f"line {number}: a bare CR or LF")
        if len(line.encode()) > 75:
            raise Invalid(f"line {number}: {len(line.encode())} octets, more than 75")
        if not line:
            raise Invalid(f"line {number}: empty")
        if line[0] in " \t":
            if not logical:
                raise Invalid("the first line is a continuation")
            start, previous = logical[-1]
            logical[-1] = (start, previous + line[1:])
        else:
            logical.append((number, line))
    return logical


def parse(data: bytes) -> Component:
    """The calendar, checked line by line and component by component."""
    stack: list[Component] = []
    root: Component | None = None
    for number, line in unfold(data):
        match = CONTENT_LINE.match(line)
        if match is None:
            raise Invalid(f"line {number}: not a content line: {line[:80]!r}")
        name = match["name"].upper()
        params = {key.upper(): value for key, value in PARAM_SPLIT.findall(match["params"])}
        value = match["value"]
        if name == "BEGIN":
            parent = stack[-1].name if stack else None
            if root is not None and not stack:
                raise Invalid(f"line {number}: a second top-level component")
            if value.upper() not in CONTAINERS.get(parent, set()):
                raise Invalid(f"line {number}: {value} cannot be inside {parent}")
            component = Component(value.upper())
            if stack:
                stack[-1].children.append(component)
            else:
                root = component
            stack.append(component)
        elif name == "END":
            if not stack or stack[-1].name != value.upper():
                raise Invalid(
                    f"line {number}: END:{value} does not close {stack[-1].name if stack else None}"
                )
            stack.pop()
        else:
            if not stack:
                raise Invalid(f"line {number}: a property outside any component")
            stack[-1].properties.append(Property(name, params, value, number))
    if stack or root is None:
        raise Invalid("unbalanced BEGIN/END")
    check(root)
    return root


def check(calendar: Component) -> None:
    if calendar.name != "VCALENDAR":
        raise Invalid("not a VCALENDAR")
    if calendar.one("VERSION").value != "2.0":
        raise Invalid("VERSION is not 2.0")
    components = [calendar, *[c for name in REQUIRED_ONCE for c in calendar.walk(name) if c is not calendar]]
    for component in components:
        for name in REQUIRED_ONCE.get(component.name, ()):
            component.one(name)
        for name in AT_MOST_ONCE.get(component.name, ()):
            if len(component.all(name)) > 1:
                raise Invalid(f"{component.name} has {name} more than once")
        for prop in component.properties:
            _check_value(component, prop)
    if not calendar.walk("VEVENT") and not calendar.walk("VTODO"):
        return
    zones = {zone.one("TZID").value for zone in calendar.walk("VTIMEZONE")}
    for zone in calendar.walk("VTIMEZONE"):
        if not zone.children:
            raise Invalid("a VTIMEZONE without STANDARD or DAYLIGHT")
    for event in calendar.walk("VEVENT"):
        _check_event(event, zones)


def _check_value(component: Component, prop: Property) -> None:
    where = f"line {prop.line}: {prop.name}"
    if prop.name in TEXT_PROPERTIES and not TEXT.match(prop.value):
        raise Invalid(f"{where}: not an escaped TEXT value: {prop.value!r}")
    if prop.name in UTC_PROPERTIES and not UTC_DATETIME.match(prop.value):
        raise Invalid(f"{where}: not a UTC date-time: {prop.value!r}")
    if prop.name == "SEQUENCE" and not prop.value.isdigit():
        raise Invalid(f"{where}: not a non-negative integer")
    if prop.name in ("TZOFFSETTO", "TZOFFSETFROM") and not OFFSET.match(prop.value):
        raise Invalid(f"{where}: not a UTC offset")
    if prop.name == "UID" and not prop.value:
        raise Invalid(f"{where}: empty")
    if prop.name == "REFRESH-INTERVAL" and (
        prop.params.get("VALUE") != "DURATION" or not DURATION.match(prop.value)
    ):
        raise Invalid(f"{where}: not a DURATION")
    observance_start = component.name in ("STANDARD", "DAYLIGHT") and prop.name == "DTSTART"
    if observance_start and not LOCAL_DATETIME.match(prop.value):
        raise Invalid(f"{where}: an observance starts at a local date-time")


def _moment(prop: Property, zones: set[str]) -> tuple[str, str]:
    """(kind, value) of a DTSTART/DTEND: `date`, `utc`, `zoned` or `floating`."""
    where = f"line {prop.line}: {prop.name}"
    if prop.params.get("VALUE") == "DATE":
        if not DATE.match(prop.value):
            raise Invalid(f"{where}: VALUE=DATE but not a date")
        return "date", prop.value
    if "TZID" in prop.params:
        if prop.params["TZID"] not in zones:
            raise Invalid(f"{where}: TZID {prop.params['TZID']} has no VTIMEZONE")
        if not LOCAL_DATETIME.match(prop.value):
            raise Invalid(f"{where}: a TZID with a value that is not a local date-time")
        return "zoned", prop.value
    if UTC_DATETIME.match(prop.value):
        return "utc", prop.value
    if LOCAL_DATETIME.match(prop.value):
        return "floating", prop.value
    raise Invalid(f"{where}: not a date or date-time: {prop.value!r}")


def _check_event(event: Component, zones: set[str]) -> None:
    start_kind, start = _moment(event.one("DTSTART"), zones)
    if event.all("DTEND") and event.all("DURATION"):
        raise Invalid("a VEVENT with both DTEND and DURATION")
    if event.all("DTEND"):
        end_kind, end = _moment(event.one("DTEND"), zones)
        if (start_kind == "date") != (end_kind == "date"):
            raise Invalid("DTEND's value type differs from DTSTART's")
        if start_kind == end_kind and end <= start:
            raise Invalid("DTEND is not after DTSTART")
    for rule in event.all("RRULE"):
        parts = dict(part.split("=", 1) for part in rule.value.split(";"))
        if set(parts) - RRULE_PARTS or "FREQ" not in parts:
            raise Invalid(f"line {rule.line}: RRULE parts {sorted(parts)}")
        if "COUNT" in parts and "UNTIL" in parts:
            raise Invalid(f"line {rule.line}: RRULE with COUNT and UNTIL")
        if "COUNT" in parts and not (parts["COUNT"].isdigit() and int(parts["COUNT"]) >= 1):
            raise Invalid(f"line {rule.line}: COUNT")
        if "UNTIL" in parts:
            # 3.3.10: UNTIL has DTSTART's value type, and is in UTC when DTSTART is in UTC or names a zone.
            expected = {"date": DATE, "floating": LOCAL_DATETIME}.get(start_kind, UTC_DATETIME)
            if not expected.match(parts["UNTIL"]):
                raise Invalid(
                    f"line {rule.line}: UNTIL {parts['UNTIL']} does not match a {start_kind} DTSTART"
                )

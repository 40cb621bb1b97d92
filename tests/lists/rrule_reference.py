"""An independent expansion of the RRULE subset items accept, written from RFC 5545 section 3.3.10 for the
tests: it shares no code with lists.recurrence (nor dateutil), so the two agreeing on a table of rules and
on random ones means something.

It works on day numbers (`date.toordinal`): each period of the frequency is the list of its days, every
BYxxx part is a filter on them (BYDAY ordinals count that weekday's days in the month, or in the year for a
yearly rule without BYMONTH), BYSETPOS picks positions of what is left, and the periods advance by
INTERVAL from the one holding the anchor (RFC 5545's DTSTART, itself always the first occurrence).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from functools import cache

DAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]


def parse(text: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in text.split(";"))


def _days_in_month(year: int, month: int) -> int:
    following = date(year + (month == 12), month % 12 + 1, 1)
    return (following - date(year, month, 1)).days


@cache
def _period_days(freq: str, index: int) -> list[date]:
    """The days of the `index`-th period since year 1 (days, Monday weeks, months, years)."""
    if freq == "DAILY":
        return [date.fromordinal(index)]
    if freq == "WEEKLY":
        monday = date.fromordinal(index * 7 + 1)  # ordinal 1 (0001-01-01) is a Monday
        return [monday + timedelta(days=n) for n in range(7)]
    if freq == "MONTHLY":
        year, month = divmod(index, 12)
        return [date(year, month + 1, day) for day in range(1, _days_in_month(year, month + 1) + 1)]
    first, last = date(index, 1, 1), date(index, 12, 31)
    return [date.fromordinal(n) for n in range(first.toordinal(), last.toordinal() + 1)]


def _period_index(freq: str, day: date) -> int:
    if freq == "DAILY":
        return day.toordinal()
    if freq == "WEEKLY":
        return (day.toordinal() - 1) // 7
    if freq == "MONTHLY":
        return day.year * 12 + day.month - 1
    return day.year


@cache
def _nth(day: date, in_month: bool) -> tuple[int, int]:
    """`day`'s place among the days of its weekday in its month or year: (from the start, from the end)."""
    if in_month:
        scope = _period_days("MONTHLY", day.year * 12 + day.month - 1)
    else:
        scope = _period_days("YEARLY", day.year)
    same = [d for d in scope if d.weekday() == day.weekday()]
    place = same.index(day)
    return place + 1, place - len(same)


def _keep(parts: dict[str, str], anchor: date, day: date) -> bool:
    freq = parts["FREQ"]
    months = [int(m) for m in parts["BYMONTH"].split(",")] if "BYMONTH" in parts else []
    monthdays = [int(d) for d in parts["BYMONTHDAY"].split(",")] if "BYMONTHDAY" in parts else []
    byday = parts["BYDAY"].split(",") if "BYDAY" in parts else []
    # What the anchor fixes when the rule leaves the day open (RFC 5545: "derived from DTSTART").
    if not byday and not monthdays:
        if freq == "WEEKLY":
            byday = [DAYS[anchor.weekday()]]
        elif freq == "MONTHLY":
            monthdays = [anchor.day]
        elif freq == "YEARLY":
            months = months or [anchor.month]
            monthdays = [anchor.day]
    if months and day.month not in months:
        return False
    if monthdays:
        length = _days_in_month(day.year, day.month)
        if day.day not in monthdays and day.day - length - 1 not in monthdays:
            return False
    if byday:
        matching = [entry for entry in byday if entry[-2:] == DAYS[day.weekday()]]
        if not matching:
            return False
        ordinals = [int(entry[:-2]) for entry in matching if entry[:-2]]
        if ordinals and not set(_nth(day, freq == "MONTHLY" or bool(months))) & set(ordinals):
            return False
    return True


def occurrences(rule: str, anchor: date, last: date) -> Iterator[date]:
    """The series from `anchor` (the first occurrence) to `last`, COUNT and UNTIL applied."""
    parts = parse(rule)
    freq = parts["FREQ"]
    interval = int(parts.get("INTERVAL", "1"))
    count = int(parts["COUNT"]) if "COUNT" in parts else None
    until = (
        date(int(parts["UNTIL"][:4]), int(parts["UNTIL"][4:6]), int(parts["UNTIL"][6:]))
        if "UNTIL" in parts
        else None
    )
    positions = [int(p) for p in parts["BYSETPOS"].split(",")] if "BYSETPOS" in parts else []
    given = 1
    yield anchor
    index = _period_index(freq, anchor)
    while True:
        days = [day for day in _period_days(freq, index) if _keep(parts, anchor, day)]
        if positions:
            days = sorted({days[p - 1] if p > 0 else days[p] for p in positions if 0 < abs(p) <= len(days)})
        for day in days:
            if day <= anchor:
                continue
            if day > last or (until is not None and day > until):
                return
            given += 1
            if count is not None and given > count:
                return
            yield day
        index += interval
        if _period_days(freq, index)[0] > last:
            return


def next_date(
    rule: str, mode: str, *, due_date: date, index: int, completed_on: date, today: date
) -> tuple[date, int] | None:
    """API section "Recurring items": schedule mode takes the first rule date after the done occurrence's
    date that is not before today; after_completion the first after the completion day, from that day.
    COUNT counts the series' occurrences: the done one is number `index`."""
    horizon = max(due_date, completed_on, today) + timedelta(days=366 * 30)
    parts = parse(rule)
    if mode == "after_completion":
        if "COUNT" in parts and index + 1 > int(parts["COUNT"]):
            return None
        without_count = ";".join(f"{k}={v}" for k, v in parts.items() if k != "COUNT")
        series = occurrences(without_count, completed_on, horizon)
        following = next((day for day in series if day > completed_on and day > due_date), None)
        return None if following is None else (following, index + 1)
    remaining = ";".join(f"{k}={int(v) - index + 1 if k == 'COUNT' else v}" for k, v in parts.items())
    if "COUNT" in parts and int(parts["COUNT"]) - index + 1 < 1:
        return None
    for number, day in enumerate(occurrences(remaining, due_date, horizon)):
        if number and day >= today:
            return day, index + number
    return None

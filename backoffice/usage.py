"""Usage counters the database cannot answer: who used the API on a day, how many sync pulls and pushes.

The project records no such thing per request: `last_login` is only set by the admin's login (the API
issues JWTs with UPDATE_LAST_LOGIN off), refresh tokens show logins and refreshes but not API-key use or
the requests in between, pulls leave no row, and the access log is a stream of lines. So each process
counts in memory (a set of user ids and a few integers per UTC day, under a lock: nothing on the request
path touches the database or the cache), and a ticker thread of that process flushes them every
BACKOFFICE_TICK_SECONDS: one multi-row insert of the day's new active users (ActiveDay, at most one row per
user-day) and one upsert per counter (UsageCount). The rollup job turns them into DailyRollup rows. A
process killed between two flushes loses at most one interval of counts; a process that exits normally
flushes on the way out.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import date

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.db.models import F
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from backoffice.models import ActiveDay, UsageCount
from core.context import user_id_var
from core.middleware import route_pattern

logger = logging.getLogger("daymark.backoffice")

# The routes counted as a pull and as a push (core.middleware.route_pattern's form); a pull or push counts
# when it was answered 200.
SYNC_ROUTE = "api/v1/sync"
COUNTED = {("GET", SYNC_ROUTE): "sync_pulls", ("POST", SYNC_ROUTE): "sync_pushes"}
COUNTER_NAMES = ("sync_pulls", "sync_pushes", "api_requests")


class UsageBuffer:
    """What this process counted since its last flush."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active: dict[date, set[str]] = {}
        self._counts: Counter[tuple[date, str]] = Counter()
        # Users already written for a day by this process: they are not sent again until the day changes.
        self._written: dict[date, set[str]] = {}

    def record(self, *, day: date, user_id: str | None, counters: tuple[str, ...]) -> None:
        with self._lock:
            if user_id is not None and user_id not in self._written.get(day, ()):
                self._active.setdefault(day, set()).add(user_id)
            for name in counters:
                self._counts[(day, name)] += 1

    def take(self) -> tuple[dict[date, set[str]], Counter[tuple[date, str]]]:
        with self._lock:
            active, counts = self._active, self._counts
            self._active, self._counts = {}, Counter()
            return active, counts

    def put_back(self, active: dict[date, set[str]], counts: Counter[tuple[date, str]]) -> None:
        """A flush that failed (the database is down): its counts wait for the next one."""
        with self._lock:
            for day, users in active.items():
                self._active.setdefault(day, set()).update(users)
            self._counts.update(counts)

    def mark_written(self, active: dict[date, set[str]]) -> None:
        with self._lock:
            today = max(active, default=None)
            for day, users in active.items():
                self._written.setdefault(day, set()).update(users)
            # Only the newest day's set is worth keeping: requests of older days have ended.
            if today is not None:
                self._written = {d: u for d, u in self._written.items() if d >= today}


BUFFER = UsageBuffer()


def flush(buffer: UsageBuffer = BUFFER) -> int:
    """Writes what `buffer` holds; returns how many rows it touched. On a database error the counts are
    kept for the next flush."""
    active, counts = buffer.take()
    if not active and not counts:
        return 0
    try:
        with transaction.atomic():
            rows = [ActiveDay(day=day, user_id=uid) for day, users in active.items() for uid in users]
            ActiveDay.objects.bulk_create(rows, ignore_conflicts=True)
            for (day, name), count in sorted(counts.items()):
                _add(day, name, count)
    except Exception:
        buffer.put_back(active, counts)
        logger.warning("Could not flush the usage counters; they are kept for the next flush", exc_info=True)
        return 0
    buffer.mark_written(active)
    return len(rows) + len(counts)


def _add(day: date, name: str, count: int) -> None:
    """One counter's upsert: the first flush of a day creates the row, the others add to it in one UPDATE
    (never read-modify-write, so processes flushing at once never lose each other's counts)."""
    updated = UsageCount.objects.filter(day=day, name=name).update(count=F("count") + count)
    if updated:
        return
    _, created = UsageCount.objects.get_or_create(day=day, name=name, defaults={"count": count})
    if not created:  # another process created it between the two statements
        UsageCount.objects.filter(day=day, name=name).update(count=F("count") + count)


class UsageMiddleware:
    """Counts every answered API request: its user as active today, pulls and pushes. Reads the user id
    that authentication put in the request context (DRF authenticates inside the view), so it adds no
    query; sits inside core.middleware.RequestIdMiddleware, which resets that id after the request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not ticker.started:
            ticker.start()
        response = self.get_response(request)
        if request.path.startswith("/api/v1/"):
            user_id = user_id_var.get()
            counters: tuple[str, ...] = ("api_requests",)
            if response.status_code == 200:
                name = COUNTED.get((request.method or "", route_pattern(request)))
                if name:
                    counters += (name,)
            BUFFER.record(
                day=timezone.now().date(), user_id=None if user_id == "-" else user_id, counters=counters
            )
        return response


class Ticker:
    """One daemon thread per serving process that runs the back office's periodic in-process work: the
    usage flush and the metrics snapshot (backoffice.health). Started by the process's first request
    (so management commands and the worker never start it); BACKOFFICE_TICK_SECONDS = 0 turns it off
    (the tests call the steps themselves)."""

    def __init__(self) -> None:
        self.started = False
        self._lock = threading.Lock()
        self.steps: list[Callable[[], object]] = [flush]

    def start(self) -> None:
        """Starts the thread unless it runs or is turned off (then the next request asks again, so a
        setting changed at run time, as the tests do, is read)."""
        interval = float(settings.BACKOFFICE_TICK_SECONDS)
        with self._lock:
            if self.started or interval <= 0:
                return
            self.started = True
        thread = threading.Thread(target=self._run, args=(interval,), name="backoffice-ticker", daemon=True)
        thread.start()
        atexit.register(self._last_flush)

    def _run(self, interval: float) -> None:
        while True:
            time.sleep(interval)
            self.tick()

    def tick(self) -> None:
        close_old_connections()
        try:
            for step in self.steps:
                try:
                    step()
                except Exception:  # one failing step never stops the others or the thread
                    name = getattr(step, "__name__", step)
                    logger.warning("Back-office step %s failed", name, exc_info=True)
        finally:
            connection.close()

    def _last_flush(self) -> None:
        try:
            flush()
        except Exception:  # the process is exiting; nothing more to do
            logger.warning("Could not flush the usage counters at exit", exc_info=True)


ticker = Ticker()

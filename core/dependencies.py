"""The state of the services the app depends on (PostgreSQL, Redis), per process.

When a dependency fails, every request would otherwise log the same stack trace (Redis down once wrote 924
in 10 s). `Dependency.failed` logs one warning per `DEPENDENCY_LOG_INTERVAL_SECONDS` instead, counting the
failures it did not log, and one line when the dependency answers again. For an optional dependency (the
cache) `available` says whether to try it at all: after a failure the app leaves it alone for
`CACHE_RETRY_SECONDS` and then lets one call through, so a hung Redis costs one socket timeout per interval
instead of one per call.
"""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings

logger = logging.getLogger("daymark.dependencies")


class Dependency:
    def __init__(self, name: str, retry_setting: str | None = None) -> None:
        self.name = name
        self._retry_setting = retry_setting
        self._lock = threading.Lock()
        self._failing_since: float | None = None
        self._retry_at = 0.0
        self._logged_at = 0.0
        self._unlogged = 0

    def available(self) -> bool:
        """False while a failed optional dependency is left alone; then True for one caller at a time."""
        if self._failing_since is None:
            return True
        with self._lock:
            now = time.monotonic()
            if now < self._retry_at:
                return False
            self._retry_at = now + self._retry_seconds()
            return True

    def failed(self, error: BaseException) -> None:
        with self._lock:
            now = time.monotonic()
            if self._failing_since is None:
                self._failing_since = now
            self._retry_at = now + self._retry_seconds()
            if self._logged_at and now - self._logged_at < settings.DEPENDENCY_LOG_INTERVAL_SECONDS:
                self._unlogged += 1
                return
            unlogged, self._unlogged, self._logged_at = self._unlogged, 0, now
            failing_for = now - self._failing_since
        logger.warning(
            "%s unavailable for %.1fs (%s failures since the last line): %s: %s",
            self.name,
            failing_for,
            unlogged,
            type(error).__name__,
            str(error).strip().splitlines()[0] if str(error).strip() else "",
            extra={"dependency": self.name, "failures_not_logged": unlogged},
        )

    def succeeded(self) -> None:
        if self._failing_since is None:
            return
        with self._lock:
            if self._failing_since is None:
                return
            failing_for = time.monotonic() - self._failing_since
            self._failing_since = None
            self._retry_at = self._logged_at = 0.0
            self._unlogged = 0
        logger.warning(
            "%s available again after %.1fs", self.name, failing_for, extra={"dependency": self.name}
        )

    def _retry_seconds(self) -> float:
        return float(getattr(settings, self._retry_setting, 0)) if self._retry_setting else 0.0


DATABASE = Dependency("database")
CACHE = Dependency("cache", retry_setting="CACHE_RETRY_SECONDS")

"""Shared fixtures. Tests run against the real database named by DATABASE_URL (SQLite by default)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any, cast

import pytest
import time_machine
from django.conf import settings as django_settings
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import User
from accounts.services.sessions import session_tokens
from tests.factories import UserFactory
from tests.ratelimit_clock import hold_the_limiters_clock

# `make test` runs pytest-xdist workers with `--dist loadgroup`: the tests of one group run one after another
# on one worker. Servers and browsers that tests start, and the PostgreSQL races that rely on real timing,
# each have a group, so two of them never compete for the machine's cores (and their timeouts) at once.
LIVE_SERVERS = pytest.mark.xdist_group("live-servers")

RACES = pytest.mark.xdist_group("postgres-races")

# The back office's ticker thread (backoffice.usage) would write usage rows and metric snapshots into the
# test database at random moments, from servers that tests start in this process (module-scoped ones
# serve outside any test's settings) and in child processes (which inherit the environment);
# tests/backoffice calls its steps directly.
os.environ["BACKOFFICE_TICK_SECONDS"] = "0"
django_settings.BACKOFFICE_TICK_SECONDS = 0


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if connection.vendor == "postgresql":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


# The in-process pool of this test process (each xdist worker's): larger than a server process's 10.
TEST_POOL_SIZE = 20


def warm_database_pool() -> None:
    """On PostgreSQL with the pool: TEST_POOL_SIZE connections, all open. psycopg_pool grows by one
    connection at a time while requests wait, and in loaded CI runs a race test's threads waited past the
    pool's 1.5 s timeout (a 503) for their first connections; opening them first keeps the race tests to
    what they test. Also after a test that closed the pool (a new one has the settings' sizes)."""
    pool = getattr(connection, "pool", None)
    if pool is not None:
        pool.open()  # a new pool opens at its first connection (nothing if it is open)
        pool.resize(min_size=TEST_POOL_SIZE, max_size=TEST_POOL_SIZE)
        pool.wait(timeout=60)


@pytest.fixture(scope="session", autouse=True)
def _warm_database_pool(django_db_setup: Any, django_db_blocker: Any) -> None:
    with django_db_blocker.unblock():
        warm_database_pool()


_POOL_BEFORE = pytest.StashKey[tuple[Any, int] | None]()


def _pool_in_use() -> tuple[Any, int] | None:
    """The pool of this process's connections and how many of them are checked out, on PostgreSQL."""
    pool = getattr(connection, "_connection_pools", {}).get(connection.alias)
    if pool is None:
        return None
    stats = pool.get_stats()
    return pool, stats["pool_size"] - stats["pool_available"]


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    item.stash[_POOL_BEFORE] = _pool_in_use()


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Any:
    """A test whose threads ended holding pooled connections fails: a thread's connection goes back to the
    pool only when the thread closes it (`connection.close()`), and one that is never closed is lost to
    the pool for the rest of the process. Six lost this way once left a later race test's threads waiting
    past the pool's timeout (503s in CI)."""
    result = yield
    before, after = item.stash.get(_POOL_BEFORE, None), _pool_in_use()
    if before is not None and after is not None and after[0] is before[0] and after[1] > before[1]:
        raise AssertionError(
            f"{after[1] - before[1]} pooled database connection(s) were not given back by this test: a "
            "thread that used the ORM must call django.db.connection.close() before it ends"
        )
    return result


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    # Argon2 is the production hasher (tested in tests/accounts); tests hash thousands of passwords.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# A day before the fixed dates of tests whose items recur (a weekly item due on 2027-01-04): the next
# occurrence counts from the user's today, and an item created with a rule that has no date left after
# today is refused, so such tests would fail once the real date passed theirs. Noon UTC is a day before
# those dates in every time zone (UTC+14 included); the clock runs on from there.
BEFORE_THE_FIXED_DATES = "2026-12-01T12:00:00Z"


@pytest.fixture
def before_the_fixed_dates() -> Iterator[None]:
    with time_machine.travel(BEFORE_THE_FIXED_DATES, tick=True):
        yield


@pytest.fixture
def far_from_midnight(before_the_fixed_dates: None) -> None:
    """For a test that reads "today" both itself and through the code (UTC, or the user's zone when it is
    UTC): run at noon UTC, so no midnight falls between the two reads."""


@pytest.fixture(autouse=True)
def _rate_limit_windows_hold(monkeypatch: pytest.MonkeyPatch) -> None:
    # A window edge between a test's requests would start its count over (tests/ratelimit_clock.py).
    hold_the_limiters_clock(monkeypatch)


@pytest.fixture(autouse=True)
def _plain_static_storage(settings: Any) -> None:
    # The manifest storage needs `collectstatic`; tests render admin pages without it.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def _clear(cache: Any) -> None:
    # A Redis cache (tests/core/test_ratelimit.py's `redis_cache`) is shared by the pytest-xdist workers:
    # only this test's keys (its own prefix) go, never the whole database (`clear()` is FLUSHDB there).
    if hasattr(cache, "delete_pattern"):
        cache.delete_pattern("*")
    else:
        cache.clear()


@pytest.fixture(autouse=True)
def _clear_cache() -> Any:
    from django.core.cache import cache

    _clear(cache)
    yield
    _clear(cache)


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


def migrate_to(targets: list[tuple[str, str]] | None = None) -> MigrationExecutor:
    """Migrates the test database to `targets` (forwards or backwards), or to the latest migrations;
    the executor it used, whose loader knows the states on the way."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets or executor.loader.graph.leaf_nodes())
    return executor


def client_for(user: User) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {session_tokens(user=user)['access']}")
    return client


@pytest.fixture
def user(db: Any) -> User:
    return UserFactory.create()


@pytest.fixture
def other_user(db: Any) -> User:
    return UserFactory.create()


@pytest.fixture
def user_client(user: User) -> APIClient:
    """An API client authenticated as `user` with a real access token."""
    return client_for(user)


@pytest.fixture
def other_client(other_user: User) -> APIClient:
    return client_for(other_user)


@pytest.fixture
def make_client() -> Callable[[User], APIClient]:
    return client_for


@pytest.fixture
def staff() -> User:
    return cast(User, UserFactory(is_staff=True, is_superuser=True))


@pytest.fixture
def staff_client(staff: User) -> Client:
    """A browser session of `staff` in the admin."""
    client = Client()
    client.force_login(staff)
    return client

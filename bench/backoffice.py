"""The back office's dashboard over `seed_load` data: its query count and time, cold (cache cleared) and
cached, for 7, 30 and 90 days, and the whole admin index page. Run against a seeded PostgreSQL database:

    DATABASE_URL=postgres://... DJANGO_SECRET_KEY=... .venv/bin/python -m bench.backoffice

It adds what seed_load has no notion of (ActiveDay rows for 30 days of the seeded users, rolled up; 90
days of rollups) and a staff member, then leaves them (the database is a throwaway one)."""

from __future__ import annotations

import os
import random
import statistics
import time
from datetime import UTC, datetime, timedelta

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from django.contrib.auth.models import Permission  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from accounts.models import User  # noqa: E402
from backoffice import selectors  # noqa: E402
from backoffice.models import ActiveDay, DailyRollup  # noqa: E402
from backoffice.rollups import rollup  # noqa: E402

RUNS = 7


def _seed_usage() -> None:
    now = datetime.now(UTC)
    today = now.date()
    if not ActiveDay.objects.exists():
        rng = random.Random(1)
        ids = list(User.objects.values_list("pk", flat=True))
        rows = [
            ActiveDay(day=today - timedelta(days=d), user_id=uid)
            for d in range(30)
            for uid in ids
            if rng.random() < 0.4
        ]
        ActiveDay.objects.bulk_create(rows, batch_size=5000, ignore_conflicts=True)
        DailyRollup.objects.bulk_create(
            [
                DailyRollup(
                    day=today - timedelta(days=d),
                    active_users=400,
                    weekly_active_users=800,
                    monthly_active_users=950,
                    sync_pulls=5000,
                    sync_pushes=900,
                    computed_at=now,
                )
                for d in range(6, 90)
            ],
            ignore_conflicts=True,
        )
    rollup(now=now, days=6)


def _staff() -> User:
    staff, created = User.objects.get_or_create(
        email="bench-staff@example.com", defaults={"is_staff": True, "display_name": "Bench"}
    )
    if created:
        staff.user_permissions.add(Permission.objects.get(codename="view_dashboard"))
    return staff


def _measure(call: object, *, cold: bool) -> tuple[int, float]:
    times, queries = [], 0
    for _ in range(RUNS):
        if cold:
            cache.clear()
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            call()  # type: ignore[operator]
            times.append((time.perf_counter() - started) * 1000)
        queries = len(captured)
    return queries, statistics.median(times)


def main() -> None:
    _seed_usage()
    client = Client()
    client.force_login(_staff())
    print(f"users: {User.objects.count()}, database: {connection.vendor}, runs per figure: {RUNS} (median)")
    print("| what | days | queries | cold ms | cached ms |")
    print("| --- | --- | --- | --- | --- |")
    for days in selectors.RANGES:
        q_cold, cold = _measure(lambda d=days: selectors.dashboard(days=d), cold=True)
        q_warm, warm = _measure(lambda d=days: selectors.dashboard(days=d), cold=False)
        print(f"| dashboard numbers | {days} | {q_cold} (cached: {q_warm}) | {cold:.1f} | {warm:.2f} |")
    for days in selectors.RANGES:
        q_cold, cold = _measure(lambda d=days: client.get(f"/admin/?days={d}"), cold=True)
        q_warm, warm = _measure(lambda d=days: client.get(f"/admin/?days={d}"), cold=False)
        print(f"| admin index page | {days} | {q_cold} (cached: {q_warm}) | {cold:.1f} | {warm:.1f} |")


if __name__ == "__main__":
    main()

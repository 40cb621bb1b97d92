"""`python bench/reminders_fire.py [reminders] [users]`: how long two workers take to fire a minute's worth of
due reminders (docs/performance.md, "Firing reminders"). Defaults: 100,000 reminders of 10,000 users
(5 on each of 2 items per user), all due within the same minute.

It runs on a PostgreSQL database of its own, made and dropped here (BENCH_PG, default
postgres://postgres@127.0.0.1:5432). The data is inserted with SQL (users, spaces, lists, items, armed
reminders), not through the services: making 100,000 reminders one request at a time would take longer than
the rest of the bench. Then it starts two worker processes at once:

- BENCH_MODE=direct (the default): each process runs `reminders.firing_services.fire_due` until nothing
  due is left unclaimed, which is what each `fire_due_task` of the worker does;
- BENCH_MODE=worker: two `manage.py worker` processes, whose scheduler runs the `reminders.fire` job and
  whose task workers share the tasks it enqueues.

It prints how long until every reminder had fired (from when the processes were started), how many each
process settled (direct mode), and checks that each reminder fired exactly once (one notification each,
every reminder at version 2).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FIRE = """
import django, os, sys, time
django.setup()
from reminders.firing_services import fire_due
start = time.monotonic()
if os.environ.get("BENCH_CPROFILE"):
    import cProfile, pstats
    profile = cProfile.Profile()
    settled = profile.runcall(fire_due, budget_seconds=600)
    order = os.environ.get("BENCH_CPROFILE_SORT", "cumulative")
    pstats.Stats(profile, stream=sys.stderr).sort_stats(order).print_stats(30)
else:
    settled = fire_due(budget_seconds=600)
print(settled, round(time.monotonic() - start, 2), flush=True)
"""


def _seed(reminders: int, users: int) -> None:
    from django.db import connection

    per_user = max(1, reminders // users)
    items_per_user = 2
    per_item = max(1, per_user // items_per_user)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO accounts_user (id, password, is_superuser, email, display_name, timezone, is_active,"
            " is_staff, date_joined) SELECT md5('u' || g)::uuid, '!', false, 'bench' || g || '@example.com',"
            " 'Bench ' || g, 'UTC', true, false, now() FROM generate_series(1, %s) g",
            [users],
        )
        cursor.execute(
            "INSERT INTO sync_space (user_id, last_change_number, pruned_through, created_at)"
            " SELECT id, 3, 0, now() FROM accounts_user WHERE email LIKE 'bench%%'"
        )
        cursor.execute(
            "INSERT INTO lists_list (id, user_id, space_id, version, change_number, created_at, updated_at,"
            " name, position, archived) SELECT md5('l' || u.id::text)::uuid, u.id, s.id, 1, 1, now(), now(),"
            " 'Bench list', 0, false FROM accounts_user u JOIN sync_space s ON s.user_id = u.id"
            " WHERE u.email LIKE 'bench%%'"
        )
        cursor.execute(
            "INSERT INTO lists_item (id, user_id, space_id, version, change_number, created_at, updated_at,"
            " list_id, title, notes, status, priority, due_date, due_time, position, created_by_id)"
            " SELECT md5('i' || l.id::text || n)::uuid, l.user_id, l.space_id, 1, 1 + n, now(), now(), l.id,"
            " 'Bench item ' || n, '', 'open', 3, current_date, '12:00', n, l.user_id"
            " FROM lists_list l CROSS JOIN generate_series(1, %s) n",
            [items_per_user],
        )
        # Due within the minute that has just ended: everything is due when the workers start.
        cursor.execute(
            "INSERT INTO reminders_reminder (id, user_id, space_id, version, change_number, created_at,"
            " updated_at, item_id, remind_at, fires_at)"
            " SELECT md5('r' || i.id::text || m)::uuid, i.user_id, i.space_id, 1, 3, now(), now(), i.id,"
            " date_trunc('minute', now()) - interval '1 minute' + (m * 7 %% 60) * interval '1 second',"
            " date_trunc('minute', now()) - interval '1 minute' + (m * 7 %% 60) * interval '1 second'"
            " FROM lists_item i CROSS JOIN generate_series(1, %s) m",
            [per_item],
        )
        cursor.execute("ANALYZE")


def _pending() -> int:
    from reminders.models import Reminder

    return Reminder.objects.filter(fired_at__isnull=True).count()


def _check(expected: int) -> str:
    from django.db.models import Count

    from reminders.models import Notification, Reminder

    fired = Reminder.objects.filter(fired_at__isnull=False, version=2).count()
    twice = Notification.objects.values("data__reminder").annotate(n=Count("id")).filter(n__gt=1).count()
    notifications = Notification.objects.count()
    ok = fired == expected == notifications and twice == 0
    return f"fired {fired} of {expected}, notifications {notifications}, fired twice {twice}: " + (
        "OK" if ok else "WRONG"
    )


def main(reminders: int = 100_000, users: int = 10_000) -> None:
    pg = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
    name = f"daymark_bench_reminders_{os.getpid()}"
    mode = os.environ.get("BENCH_MODE", "direct")
    python = sys.executable
    subprocess.run([python, str(ROOT / "bench/db.py"), "create", pg, name], check=True)
    env = {
        **os.environ,
        "DATABASE_URL": f"{pg}/{name}",
        "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY", "bench-only"),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
    }
    os.environ.update(env)
    try:
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        started = time.monotonic()
        _seed(reminders, users)
        expected = _pending()
        print(f"seeded {expected} due reminders of {users} users in {time.monotonic() - started:.1f} s")
        from django.db import connection

        connection.close()
        worker = [python, str(ROOT / "manage.py"), "worker"]
        command = worker if mode == "worker" else [python, "-c", FIRE]
        started = time.monotonic()
        workers = [
            subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True) for _ in range(2)
        ]
        while _pending() and time.monotonic() - started < 600:
            connection.close()
            time.sleep(0.25)
        elapsed = time.monotonic() - started
        if mode == "worker":
            for process in workers:
                process.terminate()
        outputs = [process.communicate(timeout=120)[0].strip() for process in workers]
        print(f"mode {mode}: every reminder fired {elapsed:.1f} s after the two workers started")
        if mode == "direct":
            for n, output in enumerate(outputs):
                print(f"  worker {n + 1}: settled, seconds = {output}")
        print("  " + _check(expected))
        connection.close()
    finally:
        subprocess.run([python, str(ROOT / "bench/db.py"), "drop", pg, name], check=False)


if __name__ == "__main__":
    main(*(int(arg) for arg in sys.argv[1:3]))

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

The REST figures of the same run: a gunicorn server as `make serve` runs it (config/gunicorn.py, Redis)
serves BENCH_REST_USERS (8) other users, each with a list of 200 items and no reminders, to BENCH_REST_THREADS
(4) client threads in this process, each on its own keep-alive connection, alternating the items page
(`GET items?list=`) and an incremental sync 10 changes behind (`GET sync?cursor=`). The same load runs for
BENCH_REST_SECONDS (10) three times: alone before the burst, during it (from when the first reminder has
fired), and alone again after it; it prints each phase's throughput and latencies, and the burst's figures
against the mean of the two quiet phases (the machine is shared: the two quiet phases bracket whatever
else ran). BENCH_WORKER_NICE runs the two workers under `nice -n` that value (default 0: not at all).
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

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
cpu = os.times()
print(settled, round(time.monotonic() - start, 2), round(cpu.user + cpu.system, 2), flush=True)
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


def _any_pending() -> bool:
    """Cheaper than counting while the REST load is measured: one probe of the pending index."""
    from reminders.firing_services import pending

    return pending(_far_future()).exists()


def _any_fired() -> bool:
    from reminders.models import Notification

    return Notification.objects.exists()


def _far_future() -> Any:
    from datetime import UTC, datetime

    return datetime(9999, 1, 1, tzinfo=UTC)


# --- the REST load -------------------------------------------------------------------------------------

REST_USERS = int(os.environ.get("BENCH_REST_USERS", "8"))
REST_THREADS = int(os.environ.get("BENCH_REST_THREADS", "4"))
REST_SECONDS = float(os.environ.get("BENCH_REST_SECONDS", "10"))
REST_ITEMS = 200
# The incremental sync's cursor: this many changes behind each REST user's head.
REST_BEHIND = 10


def _seed_rest(users: int) -> list[tuple[str, str]]:
    """REST users with a list of REST_ITEMS items each (change numbers 2..REST_ITEMS + 1) and no reminders;
    returns (access token, list id) for each."""
    from django.db import connection

    from accounts.models import User
    from accounts.services.sessions import session_tokens

    head = REST_ITEMS + 1
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO accounts_user (id, password, is_superuser, email, display_name, timezone, is_active,"
            " is_staff, date_joined) SELECT md5('rest' || g)::uuid, '!', false,"
            " 'rest' || g || '@example.com', 'Rest ' || g, 'UTC', true, false, now()"
            " FROM generate_series(1, %s) g",
            [users],
        )
        cursor.execute(
            "INSERT INTO sync_space (user_id, last_change_number, pruned_through, created_at)"
            " SELECT id, %s, 0, now() FROM accounts_user WHERE email LIKE 'rest%%'",
            [head],
        )
        cursor.execute(
            "INSERT INTO lists_list (id, user_id, space_id, version, change_number, created_at, updated_at,"
            " name, position, archived) SELECT md5('l' || u.id::text)::uuid, u.id, s.id, 1, 1, now(), now(),"
            " 'Rest list', 0, false FROM accounts_user u JOIN sync_space s ON s.user_id = u.id"
            " WHERE u.email LIKE 'rest%%'"
        )
        cursor.execute(
            "INSERT INTO lists_item (id, user_id, space_id, version, change_number, created_at, updated_at,"
            " list_id, title, notes, status, priority, due_date, due_time, position, created_by_id)"
            " SELECT md5('i' || l.id::text || n)::uuid, l.user_id, l.space_id, 1, 1 + n, now(), now(), l.id,"
            " 'Rest item ' || n, 'Some notes', 'open', 3, current_date + n %% 30, NULL, n, l.user_id"
            " FROM lists_list l JOIN accounts_user u ON u.id = l.user_id CROSS JOIN generate_series(1, %s) n"
            " WHERE u.email LIKE 'rest%%'",
            [REST_ITEMS],
        )
        cursor.execute("ANALYZE")
        cursor.execute(
            "SELECT l.user_id, l.id FROM lists_list l JOIN accounts_user u ON u.id = l.user_id"
            " WHERE u.email LIKE 'rest%%' ORDER BY u.email"
        )
        lists = cursor.fetchall()
    users_by_id = User.objects.in_bulk([user_id for user_id, _ in lists])
    return [(session_tokens(user=users_by_id[user_id])["access"], str(list_id)) for user_id, list_id in lists]


def _rest_phase(port: int, users: list[tuple[str, str]], seconds: float) -> dict[str, Any]:
    """REST_THREADS clients for `seconds`: throughput and latencies of the fixed load (module docstring)."""
    from bench.load import API, Client, Failed

    latencies: dict[str, list[float]] = {"items": [], "sync": []}
    errors: list[str] = []
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds

    def client(index: int) -> None:
        token, list_id = users[index % len(users)]
        http = Client("127.0.0.1", port, token)
        cursor = REST_ITEMS + 1 - REST_BEHIND
        n = index
        while time.perf_counter() < stop_at:
            kind = "items" if n % 2 == 0 else "sync"
            n += 1
            started = time.perf_counter()
            try:
                if kind == "items":
                    answer = http.call("GET", f"{API}/items?list={list_id}")
                    if len(answer["results"]) != 50:
                        raise Failed(f"{len(answer['results'])} items")
                else:
                    answer = http.call("GET", f"{API}/sync?cursor={cursor}")
                    if len(answer["changes"]) != REST_BEHIND or answer["has_more"]:
                        raise Failed(f"{len(answer['changes'])} changes")
            except Exception as error:  # every failure counts, and the first one is shown
                with lock:
                    errors.append(f"{type(error).__name__}: {error}")
                continue
            elapsed = time.perf_counter() - started
            with lock:
                latencies[kind].append(elapsed)

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(REST_THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = latencies["items"] + latencies["sync"]
    return {
        "rate": len(every) / seconds,
        "items_p50": _ms(latencies["items"], 50),
        "sync_p50": _ms(latencies["sync"], 50),
        "p50": _ms(every, 50),
        "p95": _ms(every, 95),
        "errors": len(errors),
        "first_error": errors[0] if errors else "",
    }


def _ms(values: list[float], p: int) -> float:
    if not values:
        return float("nan")
    if p == 50:
        return statistics.median(values) * 1000
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] * 1000


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_server(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    import urllib.request

    server_env = {
        **env,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_MAX_REQUESTS": "0",
        "GUNICORN_LOG_LEVEL": "warning",
        "RATE_LIMIT_DEFAULT": "100000000/m",
        "DJANGO_LOG_LEVEL": "WARNING",
    }
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    server = subprocess.Popen(
        [gunicorn, "-c", "config/gunicorn.py", "config.wsgi"],
        env=server_env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(150):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2)
            return server
        except OSError:
            if server.poll() is not None:
                raise SystemExit("the REST server did not start") from None
            time.sleep(0.2)
    server.terminate()
    raise SystemExit("the REST server did not answer")


def _print_rest(phases: dict[str, dict[str, Any]]) -> None:
    quiet = {
        key: (phases["alone, before"][key] + phases["alone, after"][key]) / 2
        for key in ("rate", "items_p50", "sync_p50", "p50", "p95")
    }
    print(
        f"REST load: {REST_THREADS} client threads, {REST_USERS} users, {REST_SECONDS:.0f} s a phase"
        " (items page of 50 of 200 items; incremental sync 10 changes behind, alternately)"
    )
    print("  phase             req/s   items p50  sync p50   p50 ms   p95 ms  errors")
    for name, figures in [*phases.items(), ("alone (mean)", quiet)]:
        print(
            f"  {name:<15} {figures['rate']:7.1f} {figures['items_p50']:10.1f} {figures['sync_p50']:9.1f}"
            f" {figures['p50']:8.1f} {figures['p95']:8.1f}  {figures.get('errors', '')}"
        )
        if figures.get("first_error"):
            print(f"    first error: {figures['first_error']}")
    during = phases["during burst"]
    print(
        f"  during / alone: throughput {during['rate'] / quiet['rate']:.2f},"
        f" p50 {during['p50'] / quiet['p50']:.2f}, p95 {during['p95'] / quiet['p95']:.2f}"
        " (the target: throughput at least 0.90, latencies at most 1.10)"
    )


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
    redis = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/7")
    name = f"daymark_bench_reminders_{os.getpid()}"
    mode = os.environ.get("BENCH_MODE", "direct")
    nice = int(os.environ.get("BENCH_WORKER_NICE", "0"))
    python = sys.executable
    subprocess.run([python, str(ROOT / "bench/db.py"), "create", pg, name], check=True)
    env = {
        **os.environ,
        "DATABASE_URL": f"{pg}/{name}",
        "REDIS_URL": redis,
        "CACHE_KEY_PREFIX": name,
        "LIVE_KEY_PREFIX": f"{name}-live",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY", "bench-only"),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
    }
    os.environ.update(env)
    server = None
    try:
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        started = time.monotonic()
        _seed(reminders, users)
        rest_users = _seed_rest(REST_USERS)
        expected = _pending()
        print(f"seeded {expected} due reminders of {users} users in {time.monotonic() - started:.1f} s")
        from django.db import connection

        connection.close()
        port = _free_port()
        server = _start_server(env, port)
        _rest_phase(port, rest_users, 3)  # warm-up: connections, caches, the workers' first requests
        phases = {"alone, before": _rest_phase(port, rest_users, REST_SECONDS)}

        worker = [python, str(ROOT / "manage.py"), "worker"]
        command = worker if mode == "worker" else [python, "-c", FIRE]
        if nice:
            command = ["nice", "-n", str(nice), *command]
        started = time.monotonic()
        workers = [
            subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True) for _ in range(2)
        ]
        while not _any_fired() and time.monotonic() - started < 120:
            connection.close()
            time.sleep(0.1)
        burst_began = time.monotonic() - started
        phases["during burst"] = _rest_phase(port, rest_users, REST_SECONDS)
        overlapped = _any_pending()
        while _any_pending() and time.monotonic() - started < 600:
            connection.close()
            time.sleep(0.25)
        elapsed = time.monotonic() - started
        if mode == "worker":
            for process in workers:
                process.terminate()
        outputs = [process.communicate(timeout=120)[0].strip() for process in workers]
        phases["alone, after"] = _rest_phase(port, rest_users, REST_SECONDS)
        niced = f", under nice -n {nice}" if nice else ""
        print(f"mode {mode}{niced}: every reminder fired {elapsed:.1f} s after the two workers started")
        print(f"  the first had fired after {burst_began:.1f} s")
        if mode == "direct":
            for n, output in enumerate(outputs):
                print(f"  worker {n + 1}: settled, seconds, its own CPU seconds = {output}")
        print("  " + _check(expected))
        _print_rest(phases)
        if not overlapped:
            print("  (the burst ended before the REST phase did: the phase was not all under load)")
        connection.close()
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=60)
        subprocess.run([python, str(ROOT / "bench/db.py"), "drop", pg, name], check=False)
        subprocess.run([python, str(ROOT / "bench/db.py"), "clear-cache", redis, name], check=False)


if __name__ == "__main__":
    main(*(int(arg) for arg in sys.argv[1:3]))

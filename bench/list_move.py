"""`python bench/list_move.py [items] [rounds]`: how long moving a list with its items between a personal
space and a workspace takes (`lists.services.list_update` with a new `workspace`: both spaces locked, the
list and every item moved, a departure and an arrival recorded for each). Defaults: 1,000 items, 5 rounds
each way. Prints the median and the slowest move each way.

It runs on a PostgreSQL database of its own, made and dropped here (BENCH_PG, default
postgres://postgres@127.0.0.1:5432), in process (no server): the figure is the write itself. The goal
(docs/performance.md) is well under one second for 1,000 items.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _setup(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def _run(items: int, rounds: int) -> dict[str, list[float]]:
    from accounts.services.users import user_register
    from core.versioning import ANY_VERSION
    from lists.models import Item
    from lists.services import item_create, list_create, list_update
    from workspaces.services import workspace_create

    user = user_register(email="bench-move@example.com", password="a long bench passphrase")
    workspace, _ = workspace_create(user=user, data={"name": "Bench"})
    a_list, _ = list_create(user=user, data={"name": "Moving"})
    for n in range(items):
        item_create(user=user, data={"list": a_list.pk, "title": f"Item {n}", "position": n})
    timings: dict[str, list[float]] = {"personal -> workspace": [], "workspace -> personal": []}
    for _round in range(rounds):
        for label, target in (("personal -> workspace", workspace.pk), ("workspace -> personal", None)):
            started = time.perf_counter()
            list_update(user=user, list_id=a_list.pk, base=ANY_VERSION, data={"workspace": target})
            timings[label].append(time.perf_counter() - started)
    moved = Item.objects.filter(list=a_list).values_list("space_id", flat=True).distinct()
    assert list(moved) == [a_list.__class__.objects.get(pk=a_list.pk).space_id]
    return timings


def main(argv: list[str]) -> None:
    from bench import db

    items = int(argv[0]) if argv else 1000
    rounds = int(argv[1]) if len(argv) > 1 else 5
    server = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
    name = f"daymark_bench_move_{os.getpid()}"
    db.main("create", server, name)
    try:
        _setup(f"{server}/{name}")
        timings = _run(items, rounds)
        _close()
    finally:
        db.main("drop", server, name)
    print(f"moving a list of {items} items, {rounds} rounds each way")
    for label, values in timings.items():
        median, slowest = statistics.median(values) * 1000, max(values) * 1000
        print(f"  {label:24} median {median:7.1f} ms   max {slowest:7.1f} ms")


def _close() -> Any:
    from django.db import connections

    connections.close_all()


if __name__ == "__main__":
    main(sys.argv[1:])

"""Bulk data for load tests and the benchmark (`make bench`), in seconds.

One heavy user with 10,000 open items in 50 lists and a year of history (100,000 completed items, a focus
card for each past day, anti-todo entries); 8 "sync" users (`sync@`, then `sync-2@` to `sync-8@`), each
holding 10,000 open items in 50 lists and nothing else (a full sync reads exactly 10,000 items; 8 clients
of different users sync at once); 1,000 light users with a list and a few items each.

Rows are written with PostgreSQL's COPY (plain multi-row inserts on SQLite), not through the services, but
they are what the services would have written: every entity has version 1 and its own change number (in
the order of its `updated_at`), each user's personal space's counter is the last of them, and every entity has
its change record (the fields it set), so incremental sync, merges and the feed behave exactly as on data
made through the API. Every user has a profile and a sync state. Ids and choices come from `--seed`; times
are relative to now, so "the last 365 days" is always the year of history.

Without `--reset` a database that already holds the seeded users is left alone.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection, models, transaction
from django.utils import timezone

from accounts.models import Profile, User, default_onboarding, default_preferences
from antitodo.models import AntiTodoEntry
from focus.models import FocusCard, FocusCardItem
from lists.models import Item, List
from sync.models import ChangeRecord, Space

DOMAIN = "load.daymark.invalid"
HEAVY_EMAIL = f"heavy@{DOMAIN}"
SYNC_EMAIL = f"sync@{DOMAIN}"
DEFAULT_PASSWORD = "load-test-password"  # only for throwaway load-test databases

LIST_COUNT = 50
OPEN_ITEMS = 10_000
DONE_ITEMS = 100_000
HISTORY_DAYS = 365
LIGHT_USERS = 1_000
SYNC_USERS = 8
LIGHT_ITEMS = 5
CARD_SIZE = 3


def sync_email(n: int) -> str:
    """The n-th sync user (from 0): `sync@`, `sync-2@`, `sync-3@`, ..."""
    return SYNC_EMAIL if n == 0 else f"sync-{n + 1}@{DOMAIN}"


COLORS = ["#4A90D9", "#D94A4A", "#50B36B", "#E0A030", None]
WORDS = ["plan", "write", "call", "review", "book", "fix", "buy", "read", "send", "clean", "draft", "check"]


class Seeder:
    """Builds unsaved model instances for a set of users, numbers their changes, then writes them."""

    def __init__(self, rng: random.Random, now: datetime) -> None:
        self.rng = rng
        self.now = now
        self.rows: dict[type[models.Model], list[models.Model]] = {}
        # Per user: (updated_at, entity, recorded fields), numbered at the end.
        self.entities: dict[uuid.UUID, list[tuple[datetime, Any, list[str]]]] = {}

    def uuid(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def add(self, obj: models.Model) -> Any:
        self.rows.setdefault(type(obj), []).append(obj)
        return obj

    def owned(self, obj: Any, at: datetime, updated: datetime | None = None) -> Any:
        """A new entity, recorded with the fields a create records (all its `sync_fields`)."""
        obj.created_at = at
        obj.updated_at = updated or at
        obj.version = 1
        self.entities.setdefault(obj.user_id, []).append((obj.updated_at, obj, sorted(obj.sync_fields)))
        return self.add(obj)

    def title(self) -> str:
        return " ".join(self.rng.choice(WORDS) for _ in range(self.rng.randint(2, 5))).capitalize()

    # --- users -------------------------------------------------------------------------------------------
    def user(self, email: str, password_hash: str, joined: datetime, name: str = "") -> User:
        user = self.add(
            User(
                id=self.uuid(),
                email=email,
                password=password_hash,
                display_name=name,
                timezone="UTC",
                date_joined=joined,
            )
        )
        self.owned(
            Profile(
                id=self.uuid(),
                user_id=user.pk,
                preferences=default_preferences(),
                onboarding=default_onboarding(),
            ),
            joined,
        )
        return user

    def lists(self, user: User, count: int, at: datetime) -> list[List]:
        return [
            self.owned(
                List(
                    id=self.uuid(),
                    user_id=user.pk,
                    name=f"List {n + 1:02d}",
                    color=self.rng.choice(COLORS),
                    position=n,
                    archived=False,
                ),
                at + timedelta(seconds=n),
            )
            for n in range(count)
        ]

    def open_items(self, user: User, lists: Sequence[List], count: int, since: datetime) -> list[Item]:
        today = self.now.date()
        per_list = count // len(lists)
        items = []
        for n in range(count):
            created = since + (self.now - since) * self.rng.random()
            due = None if self.rng.random() < 0.3 else today + timedelta(days=self.rng.randint(-30, 60))
            items.append(
                self.owned(
                    Item(
                        id=self.uuid(),
                        user_id=user.pk,
                        list_id=lists[n // per_list % len(lists)].pk,
                        title=self.title(),
                        notes="",
                        status=Item.Status.OPEN,
                        priority=self.rng.randint(1, 4),
                        due_date=due,
                        position=n % per_list,
                        completed_at=None,
                        created_by_id=user.pk,
                    ),
                    created,
                )
            )
        return items

    def history(self, user: User, lists: Sequence[List], done: int, days: int) -> None:
        """`done` completed items over the `days` days before today, a focus card on each of those days
        holding some of that day's completions, and anti-todo entries on most days."""
        today = self.now.date()
        by_day: dict[date, list[Item]] = {}
        for n in range(done):
            day = today - timedelta(days=1 + n % days)
            completed = datetime.combine(day, datetime.min.time(), tzinfo=self.now.tzinfo) + timedelta(
                seconds=self.rng.randint(6 * 3600, 22 * 3600)
            )
            created = completed - timedelta(hours=self.rng.randint(0, 72))
            item = Item(
                id=self.uuid(),
                user_id=user.pk,
                list_id=self.rng.choice(lists).pk,
                title=self.title(),
                notes="",
                status=Item.Status.DONE,
                priority=self.rng.randint(1, 4),
                due_date=None if self.rng.random() < 0.5 else day,
                position=1000 + n,
                completed_at=completed,
                created_by_id=user.pk,
                completed_by_id=user.pk,
            )
            by_day.setdefault(day, []).append(self.owned(item, created, completed))
        for day, items in by_day.items():
            morning = datetime.combine(day, datetime.min.time(), tzinfo=self.now.tzinfo) + timedelta(hours=5)
            card = self.owned(
                FocusCard(
                    id=self.uuid(),
                    user_id=user.pk,
                    date=day,
                    intention="",
                    source=FocusCard.Source.GENERATED,
                ),
                morning,
            )
            for position, item in enumerate(items[:CARD_SIZE]):
                self.add(FocusCardItem(card_id=card.pk, item_id=item.pk, position=position))
            for _ in range(self.rng.choice([0, 1, 1, 2])):
                self.owned(
                    AntiTodoEntry(
                        id=self.uuid(),
                        user_id=user.pk,
                        date=day,
                        title=self.title(),
                        note="",
                        item_id=None,
                    ),
                    morning + timedelta(hours=self.rng.randint(1, 16)),
                )

    # --- change numbers and records ----------------------------------------------------------------------
    def number_changes(self) -> None:
        # Each user's personal space, with ids taken after the highest in use (the sequence follows, see
        # `write`): the entities are written with their space in one pass.
        next_space = (Space.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
        for offset, (user_id, entities) in enumerate(self.entities.items()):
            space_id = next_space + offset
            entities.sort(key=lambda row: row[0])
            for number, (updated, entity, fields) in enumerate(entities, start=1):
                entity.change_number = number
                entity.space_id = space_id
                self.add(
                    ChangeRecord(
                        space_id=space_id,
                        actor_id=user_id,
                        number=number,
                        entity_type=entity.sync_type,
                        entity_id=entity.pk,
                        version=1,
                        fields=fields,
                        deleted=False,
                        created_at=updated,
                    )
                )
            self.add(
                Space(
                    id=space_id,
                    user_id=user_id,
                    last_change_number=len(entities),
                    pruned_through=0,
                    created_at=self.now,
                )
            )

    def write(self) -> dict[str, int]:
        order = [User, Space, Profile, List, Item, FocusCard, FocusCardItem, AntiTodoEntry, ChangeRecord]
        counts = {}
        for model in order:
            rows = self.rows.get(model, [])
            insert_rows(model, rows)
            counts[model._meta.label] = len(rows)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT setval(pg_get_serial_sequence('sync_space', 'id'),"
                    " (SELECT max(id) FROM sync_space))"
                )
        return counts


def insert_rows(model: type[models.Model], objects: Sequence[models.Model]) -> None:
    """Writes the attribute values as they are (no `auto_now`): COPY on PostgreSQL, batched inserts
    elsewhere. An auto id left unset is given by the database."""
    if not objects:
        return
    fields = [
        f
        for f in model._meta.concrete_fields
        if not (isinstance(f, models.AutoField) and getattr(objects[0], f.attname) is None)
    ]
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # COPY's text format takes plain Python values; only JSON needs its wrapper.
            from psycopg.types.json import Jsonb

            attnames = [f.attname for f in fields]
            json_columns = {n for n, f in enumerate(fields) if isinstance(f, models.JSONField)}
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for obj in objects:
                    row = [getattr(obj, name) for name in attnames]
                    for n in json_columns:
                        # None is SQL NULL, as Django stores it, not the JSON value null.
                        row[n] = None if row[n] is None else Jsonb(row[n])
                    copy.write_row(row)
        else:
            rows: Iterable[list[Any]] = (
                [f.get_db_prep_save(getattr(obj, f.attname), connection) for f in fields] for obj in objects
            )
            placeholders = ", ".join(["%s"] * len(fields))
            batch: list[list[Any]] = []
            for row in rows:
                batch.append(row)
                if len(batch) == 5000:
                    cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", batch)  # noqa: S608
                    batch = []
            if batch:
                cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", batch)  # noqa: S608


def delete_seeded_users() -> int:
    """Removes the seeded users and everything they own, table by table (no per-row cascade)."""
    users = list(User.objects.filter(email__endswith=f"@{DOMAIN}").values_list("pk", flat=True))
    if not users:
        return 0
    from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

    from accounts.models import ApiKey, AuditEvent
    from core.models import IdempotencyKey
    from sync.models import ProcessedOperation

    owned_models: list[type[models.Model]] = [AntiTodoEntry, FocusCard, Item, List, Profile]
    owned_models += [ProcessedOperation, IdempotencyKey, ApiKey]
    for start in range(0, len(users), 500):
        chunk = users[start : start + 500]
        FocusCardItem.objects.filter(card__user_id__in=chunk)._raw_delete(connection.alias)
        for model in owned_models:
            model._default_manager.filter(user_id__in=chunk)._raw_delete(connection.alias)
        ChangeRecord.objects.filter(space__user_id__in=chunk).delete()
        Space.objects.filter(user_id__in=chunk)._raw_delete(connection.alias)
        BlacklistedToken.objects.filter(token__user_id__in=chunk).delete()
        OutstandingToken.objects.filter(user_id__in=chunk).delete()
        AuditEvent.objects.filter(user_id__in=chunk).update(user=None)
        User.objects.filter(pk__in=chunk)._raw_delete(connection.alias)
    return len(users)


class Command(BaseCommand):
    help = "Seed bulk load-test data: a heavy user with a year of history, a sync user, light users."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=1, help="Random seed (ids and choices).")
        parser.add_argument("--reset", action="store_true", help="Delete the seeded users first.")
        parser.add_argument("--password", default=DEFAULT_PASSWORD, help="Password of every seeded user.")
        parser.add_argument("--light-users", type=int, default=LIGHT_USERS)
        parser.add_argument("--sync-users", type=int, default=SYNC_USERS)
        parser.add_argument("--open-items", type=int, default=OPEN_ITEMS)
        parser.add_argument("--done-items", type=int, default=DONE_ITEMS)

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        with transaction.atomic():
            if options["reset"]:
                removed = delete_seeded_users()
                self.stdout.write(f"Removed {removed} seeded users.")
            elif User.objects.filter(email__endswith=f"@{DOMAIN}").exists():
                self.stdout.write("The load-test users exist already; nothing to do (use --reset to redo).")
                return
            counts = self._seed(options)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                # Fresh statistics and visibility map (index-only scans), as autovacuum keeps them in use.
                # VACUUM cannot run inside a transaction (a caller's, such as a test's).
                cursor.execute("ANALYZE" if connection.in_atomic_block else "VACUUM ANALYZE")
        elapsed = time.perf_counter() - started
        summary = ", ".join(f"{label} {count}" for label, count in counts.items())
        self.stdout.write(f"Seeded in {elapsed:.1f}s: {summary}")
        self.stdout.write(f"Heavy user {HEAVY_EMAIL}, sync user {SYNC_EMAIL}.")

    def _seed(self, options: dict[str, Any]) -> dict[str, int]:
        rng = random.Random(options["seed"])  # noqa: S311 (test data, not secrets)
        now = timezone.now()
        year_ago = now - timedelta(days=HISTORY_DAYS + 5)
        password_hash = make_password(options["password"])
        seeder = Seeder(rng, now)

        heavy = seeder.user(HEAVY_EMAIL, password_hash, year_ago, "Heavy")
        heavy_lists = seeder.lists(heavy, LIST_COUNT, year_ago)
        seeder.open_items(heavy, heavy_lists, options["open_items"], year_ago)
        seeder.history(heavy, heavy_lists, options["done_items"], HISTORY_DAYS)

        for n in range(options["sync_users"]):
            sync_user = seeder.user(sync_email(n), password_hash, year_ago, "Sync")
            seeder.open_items(
                sync_user, seeder.lists(sync_user, LIST_COUNT, year_ago), options["open_items"], year_ago
            )

        for n in range(options["light_users"]):
            joined = year_ago + (now - year_ago) * rng.random()
            light = seeder.user(f"light-{n:04d}@{DOMAIN}", password_hash, joined)
            seeder.open_items(light, seeder.lists(light, 1, joined), LIGHT_ITEMS, joined)

        seeder.number_changes()
        return seeder.write()

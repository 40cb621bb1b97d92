"""No lost update: two writers from the same base version cannot both win on a field (PostgreSQL)."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
from django.db import connection

from accounts.models import User
from lists.models import Item
from tests.conftest import RACES, client_for
from tests.factories import ItemFactory, ListFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True), RACES]

ROUNDS = 25


def test_two_writers_on_one_field_from_one_base_exactly_one_wins_each_round(user: User) -> None:
    item = ItemFactory.create(list=ListFactory.create(user=user))
    clients = [client_for(user), client_for(user)]
    accepted = 0
    for round_number in range(ROUNDS):
        base = Item.objects.get(pk=item.pk).version
        barrier = threading.Barrier(2)
        statuses: list[int] = []

        def write(n: int, base: int, barrier: threading.Barrier, statuses: list[int], title: str) -> None:
            try:
                barrier.wait()
                response = clients[n].patch(
                    f"/api/v1/items/{item.pk}", {"title": f"{title} {n}", "version": base}
                )
                statuses.append(response.status_code)
            finally:
                connection.close()

        title = f"round {round_number} writer"
        threads = [threading.Thread(target=write, args=(n, base, barrier, statuses, title)) for n in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(statuses) == [200, 409], f"round {round_number}: {statuses}"
        accepted += 1

    final = Item.objects.get(pk=item.pk)
    assert final.version == 1 + accepted
    assert final.title.startswith(f"round {ROUNDS - 1} writer")


def test_concurrent_merges_on_different_fields_all_land(user: User) -> None:
    item = ItemFactory.create(list=ListFactory.create(user=user))
    edits: list[dict[str, Any]] = [
        {"title": "T"},
        {"notes": "N"},
        {"priority": 1},
        {"due_date": "2026-12-24"},
    ]
    barrier = threading.Barrier(len(edits))
    statuses: list[int] = []

    def write(edit: dict[str, Any]) -> None:
        try:
            client = client_for(user)
            barrier.wait()
            statuses.append(client.patch(f"/api/v1/items/{item.pk}", {**edit, "version": 1}).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(edit,)) for edit in edits]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * len(edits)
    final = Item.objects.get(pk=item.pk)
    assert (final.title, final.notes, final.priority, str(final.due_date), final.version) == (
        "T",
        "N",
        1,
        "2026-12-24",
        5,
    )


def test_two_users_racing_for_one_client_chosen_id_get_201_and_409(user: User, other_user: User) -> None:
    for _ in range(10):
        chosen = str(uuid.uuid4())
        barrier = threading.Barrier(2)
        statuses: list[int] = []

        def create(owner: User, chosen: str, barrier: threading.Barrier, statuses: list[int]) -> None:
            try:
                client = client_for(owner)
                barrier.wait()
                statuses.append(client.post("/api/v1/lists", {"id": chosen, "name": "Mine"}).status_code)
            finally:
                connection.close()

        threads = [
            threading.Thread(target=create, args=(u, chosen, barrier, statuses)) for u in (user, other_user)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(statuses) == [201, 409]

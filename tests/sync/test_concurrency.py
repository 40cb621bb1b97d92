"""On PostgreSQL: writers commit while a reader pulls from its cursor; the reader misses nothing."""

from __future__ import annotations

import random
import threading
from typing import Any

import pytest
from django.db import connection

from core.versioning import BaseVersion
from lists.models import Item
from lists.services import item_create, item_delete, item_update, list_create
from tests.conftest import RACES, client_for
from tests.sync.helpers import apply_changes, pull, server_state

WRITERS = 4
WRITES_PER_WRITER = 40


def _write(user: Any, seed: int, errors: list[BaseException]) -> None:
    rng = random.Random(seed)
    try:
        lst, _ = list_create(user=user, data={"name": f"writer {seed}"})
        mine: list[Item] = []
        for _ in range(WRITES_PER_WRITER):
            roll = rng.random()
            if roll < 0.4 or not mine:
                item, _ = item_create(user=user, data={"list": lst.pk, "title": f"t{rng.random()}"})
                mine.append(item)
            elif roll < 0.85:
                item = rng.choice(mine)
                item, _ = item_update(
                    user=user,
                    item_id=item.pk,
                    base=BaseVersion(item.version),
                    data={"notes": str(rng.random())},
                )
                mine = [item if i.pk == item.pk else i for i in mine]
            else:
                item = mine.pop(rng.randrange(len(mine)))
                item_delete(user=user, item_id=item.pk, base=BaseVersion(item.version))
    except BaseException as error:  # reported to the test thread
        errors.append(error)
    finally:
        connection.close()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@RACES
def test_a_reader_following_its_cursor_misses_nothing_while_writers_commit(user: Any) -> None:
    api = client_for(user)
    replica: dict[tuple[str, str], dict[str, Any]] = {}
    versions_seen: dict[tuple[str, str], int] = {}
    errors: list[BaseException] = []
    done = threading.Event()

    def read() -> None:
        cursor = 0
        try:
            while True:
                finished = done.is_set()  # read before pulling, so the last pull sees every commit
                answer = pull(api, cursor, limit=7)
                for change in answer["changes"]:
                    key = (change["type"], change["id"])
                    if not change["deleted"]:
                        assert change["version"] > versions_seen.get(key, 0) or key not in replica, change
                        versions_seen[key] = change["version"]
                apply_changes(replica, answer["changes"])
                cursor = answer["cursor"]
                if finished and not answer["has_more"]:
                    return
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    writers = [threading.Thread(target=_write, args=(user, seed, errors)) for seed in range(WRITERS)]
    reader = threading.Thread(target=read)
    reader.start()
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(60)
    done.set()
    reader.join(60)

    assert not errors, errors
    server = server_state(user)
    assert replica == server
    assert len(server) > WRITERS

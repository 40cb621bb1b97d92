"""Deliveries by real `manage.py worker` processes to a real receiver on 127.0.0.1: a consumer verifies
each with the `standardwebhooks` library; on PostgreSQL two workers racing over the same due deliveries
send each exactly once."""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from standardwebhooks.webhooks import Webhook

from tests.conftest import LIVE_SERVERS
from tests.jobs.processes import WorkerDatabase, wait_for
from tests.webhooks.receiver import Received, running

pytestmark = LIVE_SERVERS

DELIVERIES = "webhooks_delivery"

# Run in the worker's database with `manage.py shell -c`: a user, a webhook to the receiver, `count` items
# (an event each). Prints the webhook's secret.
MAKE_EVENTS = """
from tests.factories import ItemFactory, ListFactory, UserFactory
from webhooks.services import endpoint_create
user = UserFactory.create()
endpoint, secret = endpoint_create(user=user, url={url!r}, events=["item.created"])
listed = ListFactory.create(user=user)
for n in range({count}):
    ItemFactory.create(list=listed, user=user, title=f"item {{n}}")
print(secret)
"""


@pytest.fixture
def database(tmp_path: Path) -> Iterator[WorkerDatabase]:
    database = WorkerDatabase(tmp_path)
    database.env["WEBHOOKS_ALLOW_INSECURE"] = "true"  # the receiver is on 127.0.0.1, over http
    try:
        yield database
    finally:
        database.drop()


def _events(database: WorkerDatabase, url: str, count: int) -> str:
    return database.manage("shell", "-c", MAKE_EVENTS.format(url=url, count=count)).strip().splitlines()[-1]


def test_a_worker_process_delivers_signed_events(database: WorkerDatabase) -> None:
    with running() as receiver:
        secret = _events(database, receiver.url, 3)
        assert secret.startswith("whsec_")
        with database.worker("manage.py", "worker"):
            requests = receiver.wait_for(3, timeout=60)
            wait_for(
                lambda: (
                    database.query(f"SELECT status, attempts FROM {DELIVERIES}")  # noqa: S608
                    == [("succeeded", 1)] * 3
                ),
                timeout=30,
                what="the deliveries to be recorded",
                log=database.log,
            )
    titles = sorted(Webhook(secret).verify(r.body, r.headers)["data"]["title"] for r in requests)
    assert titles == ["item 0", "item 1", "item 2"]


@pytest.mark.postgres
def test_two_workers_never_deliver_one_delivery_twice(database: WorkerDatabase) -> None:
    count = 300
    seen: Counter[str] = Counter()
    lock = threading.Lock()

    def answer(request: Received) -> int:
        with lock:
            seen[request.headers["webhook-id"]] += 1
        # An endpoint's deliveries go one after another: at 20 ms each, the first worker's batch of 200 takes
        # 4 s, well past the other's 1 s idle look, so the other claims the rest while it sends (on a fast
        # receiver the first worker could finish and claim the rest itself before the other looked).
        time.sleep(0.02)
        return 200

    with running(answer, keep=False) as receiver:
        secret = _events(database, receiver.url, count)
        # Nothing is due until both workers run: the claims race from the first batch on.
        database.query(f"UPDATE {DELIVERIES} SET next_attempt_at = now() + interval '1 hour'")  # noqa: S608
        with (
            database.worker("manage.py", "worker", "--worker-id", "a", name="a"),
            database.worker("manage.py", "worker", "--worker-id", "b", name="b"),
        ):
            wait_for(
                lambda: "worker a started" in database.log("a") and "worker b started" in database.log("b"),
                timeout=60,
                what="both workers to start",
                log=lambda: database.log("a") + database.log("b"),
            )
            database.query(f"UPDATE {DELIVERIES} SET next_attempt_at = now() + interval '1 second'")  # noqa: S608
            receiver.wait_for(count, timeout=120)
            wait_for(
                lambda: (
                    database.query(
                        f"SELECT count(*) FROM {DELIVERIES} WHERE status = 'succeeded'"  # noqa: S608
                    )
                    == [(count,)]
                ),
                timeout=60,
                what="every delivery to be recorded",
                log=lambda: database.log("a") + database.log("b"),
            )
            time.sleep(2)  # anything sent twice would show by now
    assert len(seen) == count
    # Both took part (a batch is 200 deliveries: one worker cannot have claimed them all at once).
    assert re.search(r"\b[1-9]\d* succeeded", database.log("a"))
    assert re.search(r"\b[1-9]\d* succeeded", database.log("b"))
    # No URL in the logs (they may hold their receiver's token).
    assert "/hook" not in database.log("a") + database.log("b")
    assert set(seen.values()) == {1}
    assert database.query(f"SELECT DISTINCT attempts FROM {DELIVERIES}") == [(1,)]  # noqa: S608
    assert secret.startswith("whsec_")

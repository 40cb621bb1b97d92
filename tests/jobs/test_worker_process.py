"""The worker as a real process: `manage.py worker` (what `make run` starts beside the development server and
`make worker` runs in production) runs queued tasks and due jobs and stops gracefully on SIGTERM; two
worker processes racing over the same due jobs on PostgreSQL run each once."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import LIVE_SERVERS
from tests.jobs.helpers import RACE_CRON
from tests.jobs.processes import WorkerDatabase, wait_for

pytestmark = LIVE_SERVERS

TASKS = "django_tasks_database_dbtaskresult"
JOBS = "jobs_periodicjob"


@pytest.fixture
def database(tmp_path: Path) -> Iterator[WorkerDatabase]:
    database = WorkerDatabase(tmp_path)
    try:
        yield database
    finally:
        database.drop()


def test_make_runs_worker_runs_a_queued_task_and_a_due_job_then_stops_on_sigterm(
    database: WorkerDatabase,
) -> None:
    database.manage(
        "shell",
        "-c",
        "from tests.jobs.helpers import record_run; record_run.enqueue('end-to-end')",
    )
    with database.worker("manage.py", "worker") as worker:
        wait_for(
            lambda: database.query(f"SELECT status FROM {TASKS}") == [("SUCCESSFUL",)],  # noqa: S608
            timeout=60,
            what="the queued task to run",
            log=database.log,
        )
        # The worker made its job rows at start; make one due now.
        wait_for(
            lambda: bool(database.query(f"SELECT 1 FROM {JOBS} WHERE name = 'jobs.prune_task_results'")),  # noqa: S608
            timeout=30,
            what="the job rows",
            log=database.log,
        )
        database.query(
            f"UPDATE {JOBS} SET next_run_at = ? WHERE name = 'jobs.prune_task_results'",  # noqa: S608
            datetime.now(UTC) - timedelta(seconds=1),
        )
        wait_for(
            lambda: (
                database.query(f"SELECT runs FROM {JOBS} WHERE name = 'jobs.prune_task_results'")  # noqa: S608
                == [(1,)]
            ),
            timeout=30,
            what="the due job to run",
            log=database.log,
        )

        started = time.monotonic()
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0
    assert time.monotonic() - started < 10
    assert "stopped" in database.log()


@pytest.mark.postgres
def test_two_workers_racing_over_the_same_due_jobs_run_each_once(database: WorkerDatabase) -> None:
    count = 20
    # Due a few seconds from now, when both processes poll: neither has a head start.
    due = datetime.now(UTC) + timedelta(seconds=8)
    for n in range(count):
        database.query(
            f"INSERT INTO {JOBS} (name, cron, description, next_run_at, claimed_by, last_error, runs, "  # noqa: S608
            "failures) VALUES (?, ?, '', ?, '', '', 0, 0)",
            f"tests.race.{n:02d}",
            RACE_CRON,
            due,
        )
    env = {"RACE_JOBS": str(count)}
    with (
        database.worker("-m", "tests.jobs.race_worker", "worker-a", name="a", **env),
        database.worker("-m", "tests.jobs.race_worker", "worker-b", name="b", **env),
    ):
        wait_for(
            lambda: (
                database.query(
                    f"SELECT count(*) FROM {TASKS} WHERE status = 'SUCCESSFUL'"  # noqa: S608
                )
                == [(count,)]
            ),
            timeout=90,
            what="every race job's task",
            log=lambda: database.log("a") + database.log("b"),
        )
        time.sleep(2)  # anything run twice would show by now

    runs = database.query(
        f"SELECT name, runs, failures FROM {JOBS} WHERE name LIKE ?",  # noqa: S608
        "tests.race.%",
    )
    assert sorted(runs) == [(f"tests.race.{n:02d}", 1, 0) for n in range(count)]
    tasks = database.query(f"SELECT args_kwargs, worker_ids FROM {TASKS}")  # noqa: S608
    assert len(tasks) == count
    # Each task ran once, on one worker.
    assert all(len(worker_ids) == 1 for _args, worker_ids in tasks)


MAKE_USERS = """
from accounts.profile_services import profile_update
from core.versioning import ANY_VERSION
from tests.factories import UserFactory
preferences = {{"focus_auto_generate": True, "focus_time": "00:00"}}
for n in range({count}):
    user = UserFactory.create(timezone="{zone}")
    profile_update(user=user, base=ANY_VERSION, data={{"preferences": preferences}})
"""


@pytest.mark.postgres
def test_two_workers_racing_over_the_same_morning_cards_make_each_once(database: WorkerDatabase) -> None:
    count = 40
    # Users for whom it is about noon: a local midnight within the test would make a second day's cards.
    utc_plus = 12 - datetime.now(UTC).hour  # -11 to 12; "Etc/GMT-5" is UTC+5
    zone = f"Etc/GMT{-utc_plus:+d}" if utc_plus else "UTC"
    database.manage("shell", "-c", MAKE_USERS.format(count=count, zone=zone))
    due = datetime.now(UTC) + timedelta(seconds=8)
    database.query("UPDATE focus_morningcardschedule SET next_at = ?", due)
    database.query(
        f"INSERT INTO {JOBS} (name, cron, description, next_run_at, claimed_by, last_error, runs, "  # noqa: S608
        "failures) VALUES ('focus.morning_cards', '* * * * *', '', ?, '', '', 0, 0)",
        due,
    )
    # Small batches: eight tasks, which both workers' task loops take.
    env = {"MORNING_CARDS_BATCH": "5"}
    with (
        database.worker("manage.py", "worker", "--worker-id", "worker-a", name="a", **env),
        database.worker("manage.py", "worker", "--worker-id", "worker-b", name="b", **env),
    ):
        wait_for(
            lambda: database.query("SELECT count(*) FROM focus_focuscard") == [(count,)],
            timeout=90,
            what="every user's card",
            log=lambda: database.log("a") + database.log("b"),
        )
        time.sleep(3)  # a second card, or a second creation, would show by now

    assert database.query("SELECT count(DISTINCT user_id) FROM focus_focuscard") == [(count,)]
    # One creation per card: no run made and then lost a card.
    assert database.query("SELECT count(*) FROM sync_changerecord WHERE entity_type = 'focus_card'") == [
        (count,)
    ]
    tasks = database.query(
        f"SELECT worker_ids, status FROM {TASKS} WHERE task_path LIKE ?",  # noqa: S608
        "%make_morning_cards",
    )
    assert len(tasks) == count // 5
    assert all(status == "SUCCESSFUL" and len(ids) == 1 for ids, status in tasks)

"""The scheduler: a due job runs once per due time, whoever polls; failures are recorded and retried."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from jobs import registry, scheduler
from jobs.models import PeriodicJob
from tests.jobs.helpers import make_due, registered

NOON = datetime(2026, 3, 2, 12, 0, 30, tzinfo=UTC)


class Counter:
    def __init__(self) -> None:
        self.calls: list[datetime] = []

    def __call__(self, now: datetime) -> int:
        self.calls.append(now)
        return 7


def _run_ours(**kwargs: Any) -> list[scheduler.Outcome]:
    """One scheduler pass; the outcomes of this module's jobs (the app's own may be due too)."""
    return [o for o in scheduler.run_due(**kwargs) if o.name.startswith("tests.")]


@pytest.fixture
def counter(db: Any) -> Any:
    run = Counter()
    with registered("tests.counter", "*/5 * * * *", run):
        scheduler.sync_rows(NOON)
        yield run


def test_a_new_job_is_scheduled_at_its_next_cron_time(counter: Counter) -> None:
    row = PeriodicJob.objects.get(name="tests.counter")

    assert row.next_run_at == datetime(2026, 3, 2, 12, 5, tzinfo=UTC)
    assert row.runs == 0


def test_a_job_runs_only_once_it_is_due(counter: Counter) -> None:
    assert _run_ours(now=NOON + timedelta(minutes=4)) == []

    outcomes = _run_ours(now=NOON + timedelta(minutes=5))

    assert [(o.name, o.ok, o.result) for o in outcomes] == [("tests.counter", True, 7)]
    row = PeriodicJob.objects.get(name="tests.counter")
    assert (row.runs, row.failures, row.last_result) == (1, 0, 7)
    assert row.last_run_at == NOON + timedelta(minutes=5)
    assert row.next_run_at == datetime(2026, 3, 2, 12, 10, tzinfo=UTC)
    assert row.claimed_by == ""
    assert row.started_at is None


def test_a_due_run_is_claimed_by_one_worker_only(counter: Counter) -> None:
    due = NOON + timedelta(minutes=5)

    first = scheduler.claim("tests.counter", worker_id="a", now=due)
    second = scheduler.claim("tests.counter", worker_id="b", now=due)

    assert first is not None
    assert second is None


def test_missed_times_are_run_once_not_caught_up(counter: Counter) -> None:
    _run_ours(now=NOON + timedelta(hours=3))

    assert len(counter.calls) == 1
    assert PeriodicJob.objects.get(name="tests.counter").next_run_at == datetime(
        2026, 3, 2, 15, 5, tzinfo=UTC
    )


def test_a_running_job_is_not_claimed_again_until_it_ends_or_its_claim_is_stale(
    counter: Counter, settings: Any
) -> None:
    settings.JOBS_CLAIM_TIMEOUT_SECONDS = 600
    held = scheduler.claim("tests.counter", worker_id="a", now=NOON + timedelta(minutes=5))
    assert held is not None

    assert scheduler.claim("tests.counter", worker_id="b", now=NOON + timedelta(minutes=10)) is None
    stale = scheduler.claim("tests.counter", worker_id="b", now=NOON + timedelta(minutes=16))

    assert stale is not None
    assert PeriodicJob.objects.get(name="tests.counter").claimed_by.startswith("b/")


def test_a_failure_is_recorded_and_retried_on_the_next_tick(db: Any, settings: Any) -> None:
    settings.JOBS_RETRY_SECONDS = 0
    attempts: list[datetime] = []

    def flaky(now: datetime) -> int:
        attempts.append(now)
        if len(attempts) == 1:
            raise RuntimeError("the mail server is down")
        return 1

    with registered("tests.flaky", "0 3 * * *", flaky):
        scheduler.sync_rows()
        make_due("tests.flaky", timezone.now() - timedelta(seconds=1))

        first = _run_ours()
        failed = PeriodicJob.objects.get(name="tests.flaky")
        second = _run_ours()

    assert [o.ok for o in first] == [False]
    assert (failed.runs, failed.failures) == (1, 1)
    assert "RuntimeError: the mail server is down" in failed.last_error
    assert failed.last_error_at == failed.last_run_at
    assert failed.next_run_at <= timezone.now()
    assert [o.ok for o in second] == [True]
    done = PeriodicJob.objects.get(name="tests.flaky")
    assert (done.runs, done.failures) == (2, 1)
    assert done.next_run_at.time().hour == 3  # back on its schedule


def test_a_failed_run_is_retried_no_later_than_its_next_time(db: Any, settings: Any) -> None:
    settings.JOBS_RETRY_SECONDS = 3600

    def broken(now: datetime) -> int:
        raise ValueError("broken")

    with registered("tests.broken", "* * * * *", broken):
        scheduler.sync_rows(NOON)
        _run_ours(now=NOON + timedelta(minutes=1))

    row = PeriodicJob.objects.get(name="tests.broken")
    assert row.next_run_at == datetime(2026, 3, 2, 12, 2, tzinfo=UTC)


def test_a_changed_cron_expression_reschedules_the_job(counter: Counter) -> None:
    registry.unregister("tests.counter")
    with registered("tests.counter", "0 * * * *", counter):
        scheduler.sync_rows(NOON)

    row = PeriodicJob.objects.get(name="tests.counter")
    assert (row.cron, row.next_run_at) == ("0 * * * *", datetime(2026, 3, 2, 13, 0, tzinfo=UTC))


def test_a_job_with_a_bad_cron_expression_is_refused() -> None:
    with pytest.raises(ValueError, match="not a cron expression"):
        registry.periodic("tests.bad", "every minute", lambda now: None)


def test_the_upkeep_jobs_are_registered() -> None:
    names = {job.name for job in registry.jobs()}

    assert {"sync.prune", "jobs.prune_task_results"} <= names


@pytest.mark.parametrize("name", ["sync.prune", "jobs.prune_task_results"])
def test_the_upkeep_jobs_run_clean(db: Any, name: str) -> None:
    scheduler.sync_rows()
    make_due(name, timezone.now() - timedelta(seconds=1))

    outcomes = [o for o in scheduler.run_due() if o.name == name]

    assert [o.ok for o in outcomes] == [True]

"""Jobs that tests register, in a module a worker process can import too (tests/jobs/race_worker.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

from django_tasks import task

from jobs import registry
from jobs.models import PeriodicJob


@task()
def record_run(name: str) -> str:
    """A background task a test job enqueues: the task rows count the job's runs, whichever process ran it."""
    return name


def enqueue_record(name: str) -> Callable[[datetime], int]:
    def run(now: datetime) -> int:
        record_run.enqueue(name)
        return 1

    return run


@contextmanager
def registered(name: str, cron: str, run: Callable[[datetime], int | None]) -> Iterator[None]:
    registry.periodic(name, cron, run)
    try:
        yield
    finally:
        registry.unregister(name)


def make_due(name: str, at: datetime) -> None:
    PeriodicJob.objects.filter(name=name).update(next_run_at=at)


def race_job(name: str) -> Callable[[datetime], int]:
    """A job that takes a moment (so runs overlap) and leaves one task row per run."""

    def run(now: datetime) -> int:
        import time

        time.sleep(0.1)
        record_run.enqueue(name)
        return 1

    return run


RACE_CRON = "0 0 1 1 *"


def register_race_jobs(count: int) -> list[str]:
    names = [f"tests.race.{n:02d}" for n in range(count)]
    for name in names:
        registry.periodic(name, RACE_CRON, race_job(name))
    return names

"""Periodic jobs: apps register them from their AppConfig.ready(), the worker runs them
(jobs/scheduler.py, `manage.py worker`).

    from jobs.registry import periodic
    periodic("reminders.fire", "* * * * *", fire_due_reminders, description="...")

`run(now)` gets the instant the run was claimed at and returns how many things it did (or None). It must be
idempotent and safe beside other workers: a run is claimed once, but a worker can die halfway, and the
next run then finds the rest. The cron expression is in UTC, five fields, or six with seconds last
(`* * * * * */15`: every 15 seconds).

A periodic job runs on one worker at a time. Work that every worker process should share as it arrives
(delivering webhooks) registers a loop instead:

    from jobs.registry import loop
    loop("webhooks.deliver", deliver_due, idle_seconds=1.0, description="...")

Each worker process runs each loop in a thread of its own: `run(now)` does one batch and returns how much
it did; when that is nothing the thread waits `idle_seconds` before it looks again. Loops claim their own
rows (`SELECT ... FOR UPDATE SKIP LOCKED`, or a conditional UPDATE), so any number of workers share them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from croniter import croniter  # type: ignore[import-untyped]

JobFunction = Callable[[datetime], "int | None"]


@dataclass(frozen=True)
class Job:
    name: str
    cron: str
    run: JobFunction
    description: str = ""

    def next_after(self, moment: datetime) -> datetime:
        """The first time the expression names strictly after `moment`."""
        next_time: datetime = croniter(self.cron, moment).get_next(datetime)
        return next_time


_jobs: dict[str, Job] = {}


def periodic(name: str, cron: str, run: JobFunction, *, description: str = "") -> Job:
    if not name or len(name) > 100:
        raise ValueError(f"A job name has 1..100 characters: {name!r}")
    if not croniter.is_valid(cron):
        raise ValueError(f"Job {name}: not a cron expression: {cron!r}")
    job = Job(name=name, cron=cron, run=run, description=description)
    existing = _jobs.get(name)
    if existing is not None and existing.run is not run:
        raise ValueError(f"Job {name} is registered twice with different functions")
    _jobs[name] = job
    return job


def unregister(name: str) -> None:
    """For tests that register jobs of their own."""
    _jobs.pop(name, None)


def get(name: str) -> Job | None:
    return _jobs.get(name)


def jobs() -> list[Job]:
    return sorted(_jobs.values(), key=lambda job: job.name)


@dataclass(frozen=True)
class Loop:
    name: str
    run: JobFunction
    idle_seconds: float = 1.0
    description: str = ""


_loops: dict[str, Loop] = {}


def loop(name: str, run: JobFunction, *, idle_seconds: float = 1.0, description: str = "") -> Loop:
    if not name or len(name) > 100:
        raise ValueError(f"A loop name has 1..100 characters: {name!r}")
    if idle_seconds <= 0:
        raise ValueError(f"Loop {name}: idle_seconds must be positive")
    existing = _loops.get(name)
    if existing is not None and existing.run is not run:
        raise ValueError(f"Loop {name} is registered twice with different functions")
    _loops[name] = Loop(name=name, run=run, idle_seconds=idle_seconds, description=description)
    return _loops[name]


def loops() -> list[Loop]:
    return sorted(_loops.values(), key=lambda registered: registered.name)

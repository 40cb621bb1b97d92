"""Running periodic jobs: each due run is claimed with one conditional UPDATE of the job's row, so any number
of workers polling the same table run it once.

The claim moves `next_run_at` to the job's next time after now and records who holds the run; only the
worker whose UPDATE changed the row runs it. That works the same on PostgreSQL (the losing UPDATE waits for
the winner's commit, then finds the row changed) and SQLite (writers are serialised), with no session or
advisory locks, so it is safe behind PgBouncer. A job still running is not claimed again until it ends or
its claim is older than JOBS_CLAIM_TIMEOUT_SECONDS (a worker that died mid-run). A failed run is recorded
on the row and retried JOBS_RETRY_SECONDS later (or at its next time, when that is sooner).
"""

from __future__ import annotations

import logging
import time
import traceback
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import uuid4

from django.conf import settings
from django.db import connections
from django.db.models import F, Q
from django.utils import timezone

from jobs import registry
from jobs.models import PeriodicJob
from jobs.registry import Job

logger = logging.getLogger("daymark.jobs")

ERROR_CHARS = 4000


@dataclass(frozen=True)
class Claim:
    job: Job
    token: str
    started_at: datetime
    next_run_at: datetime


@dataclass(frozen=True)
class Outcome:
    name: str
    ok: bool
    result: int | None
    duration: float


def sync_rows(now: datetime | None = None) -> None:
    """A row for every registered job; a job whose cron expression changed is rescheduled by it."""
    now = now or timezone.now()
    registered = {job.name: job for job in registry.jobs()}
    existing = dict(PeriodicJob.objects.filter(name__in=registered).values_list("name", "cron"))
    PeriodicJob.objects.bulk_create(
        [
            PeriodicJob(
                name=job.name, cron=job.cron, description=job.description, next_run_at=job.next_after(now)
            )
            for name, job in registered.items()
            if name not in existing
        ],
        # Several workers start at once: the first one's rows stand.
        ignore_conflicts=True,
    )
    for name, cron in existing.items():
        job = registered[name]
        if cron != job.cron:
            PeriodicJob.objects.filter(name=name, cron=cron).update(
                cron=job.cron, description=job.description, next_run_at=job.next_after(now)
            )


def due_names(now: datetime) -> list[str]:
    """Registered jobs whose time has come, the most overdue first."""
    names = [job.name for job in registry.jobs()]
    return list(
        PeriodicJob.objects.filter(name__in=names, next_run_at__lte=now)
        .order_by("next_run_at")
        .values_list("name", flat=True)
    )


def claim(name: str, *, worker_id: str, now: datetime) -> Claim | None:
    """Takes the due run of `name` for this worker, or None when another worker has it (or it is not due)."""
    job = registry.get(name)
    if job is None:
        return None
    row = PeriodicJob.objects.filter(name=name).values("next_run_at").first()
    if row is None or row["next_run_at"] > now:
        return None
    token = f"{worker_id}/{uuid4().hex[:8]}"
    next_run_at = job.next_after(now)
    stale = now - timedelta(seconds=settings.JOBS_CLAIM_TIMEOUT_SECONDS)
    taken = (
        PeriodicJob.objects.filter(name=name, next_run_at=row["next_run_at"])
        .filter(Q(claimed_by="") | Q(started_at__lt=stale))
        .update(next_run_at=next_run_at, claimed_by=token, started_at=now)
    )
    if not taken:
        return None
    return Claim(job=job, token=token, started_at=now, next_run_at=next_run_at)


def run_claimed(claim: Claim) -> Outcome:
    """Runs a claimed job and records how it went on its row (a failure is caught, recorded and logged)."""
    name, began = claim.job.name, time.monotonic()
    try:
        result = claim.job.run(claim.started_at)
    except Exception as error:
        duration = time.monotonic() - began
        logger.exception("job %s failed after %.3fs", name, duration)
        _record_failure(claim, duration, error)
        return Outcome(name=name, ok=False, result=None, duration=duration)
    duration = time.monotonic() - began
    count = result if isinstance(result, int) else None
    PeriodicJob.objects.filter(name=name).update(
        runs=F("runs") + 1, last_run_at=claim.started_at, last_duration=duration, last_result=count
    )
    _release(claim)
    logger.info("job %s done in %.3fs", name, duration, extra={"job": name, "result": count})
    return Outcome(name=name, ok=True, result=count, duration=duration)


def _record_failure(claim: Claim, duration: float, error: BaseException) -> None:
    text = "".join(traceback.format_exception(error))[-ERROR_CHARS:]
    name = claim.job.name
    PeriodicJob.objects.filter(name=name).update(
        runs=F("runs") + 1,
        failures=F("failures") + 1,
        last_run_at=claim.started_at,
        last_duration=duration,
        last_result=None,
        last_error=text,
        last_error_at=claim.started_at,
    )
    retry_at = min(claim.next_run_at, timezone.now() + timedelta(seconds=settings.JOBS_RETRY_SECONDS))
    # Only while nobody has claimed a later run since (a run longer than the job's interval).
    PeriodicJob.objects.filter(name=name, claimed_by=claim.token, next_run_at=claim.next_run_at).update(
        next_run_at=retry_at
    )
    _release(claim)


def _release(claim: Claim) -> None:
    PeriodicJob.objects.filter(name=claim.job.name, claimed_by=claim.token).update(
        claimed_by="", started_at=None
    )


def run_due(*, worker_id: str = "inline", now: datetime | None = None) -> list[Outcome]:
    """One pass in this thread: every due job this worker manages to claim, one after another. The worker
    process runs claimed jobs in threads instead (jobs/worker.py); tests and `manage.py worker --once` use
    this."""
    now = now or timezone.now()
    outcomes = []
    for name in due_names(now):
        taken = claim(name, worker_id=worker_id, now=now)
        if taken is not None:
            outcomes.append(run_claimed(taken))
    return outcomes


def close_thread_connections() -> None:
    """Connections are per thread: a thread that ran a job gives its own back (to the pool, on PostgreSQL)."""
    connections.close_all()

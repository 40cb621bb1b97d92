"""What the worker is doing and what is late, read from the database (the same whichever process asks): the
back office's health panel, /metrics (jobs/metrics.py) and docs/operations.md use it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import Count, Min, Q
from django.utils import timezone
from django_tasks_db.models import DBTaskResult, get_date_max

from jobs import registry
from jobs.models import PeriodicJob

TASK_STATUSES = ("READY", "RUNNING", "SUCCESSFUL", "FAILED")


def _seconds_since(moment: datetime | None, now: datetime) -> float:
    return max(0.0, (now - moment).total_seconds()) if moment is not None else 0.0


def queue(now: datetime | None = None) -> dict[str, Any]:
    """The task queue: rows by status, and the lag (how long the oldest task that could run has waited)."""
    now = now or timezone.now()
    counts = dict.fromkeys(TASK_STATUSES, 0)
    for row in DBTaskResult.objects.values("status").annotate(n=Count("id")).order_by():
        counts[row["status"]] = row["n"]
    # A task is due from its enqueueing, or from its run_after when it was deferred (the far-future value
    # means "not deferred").
    oldest = DBTaskResult.objects.filter(status="READY").aggregate(
        enqueued=Min("enqueued_at", filter=Q(run_after=get_date_max())),
        deferred=Min("run_after", filter=Q(run_after__lte=now)),
    )
    candidates = [moment for moment in (oldest["enqueued"], oldest["deferred"]) if moment is not None]
    oldest_due = min(candidates) if candidates else None
    return {
        "ready": counts["READY"],
        "running": counts["RUNNING"],
        "successful": counts["SUCCESSFUL"],
        "failed": counts["FAILED"],
        "oldest_due_at": oldest_due,
        "lag_seconds": _seconds_since(oldest_due, now),
    }


def jobs(now: datetime | None = None) -> list[dict[str, Any]]:
    """Every registered periodic job with its row's state (one query)."""
    now = now or timezone.now()
    registered = {job.name: job for job in registry.jobs()}
    rows = {row.name: row for row in PeriodicJob.objects.filter(name__in=registered)}
    late_after = settings.JOBS_LATE_SECONDS
    answer = []
    for name, job in registered.items():
        row = rows.get(name)
        lag = _seconds_since(row.next_run_at, now) if row is not None else 0.0
        answer.append(
            {
                "name": name,
                "cron": job.cron,
                "description": job.description,
                "next_run_at": row.next_run_at if row else None,
                "running_since": row.started_at if row and row.claimed_by else None,
                "running_on": row.claimed_by if row else "",
                "last_run_at": row.last_run_at if row else None,
                "last_duration": row.last_duration if row else None,
                "last_result": row.last_result if row else None,
                "last_error": row.last_error if row else "",
                "last_error_at": row.last_error_at if row else None,
                "runs": row.runs if row else 0,
                "failures": row.failures if row else 0,
                # The last run failed (a retry is due JOBS_RETRY_SECONDS later).
                "failing": bool(row and row.last_error_at and row.last_error_at == row.last_run_at),
                "lag_seconds": lag,
                # Never started by a worker, or its run is overdue: no worker is running, or all are busy.
                "late": row is None or lag > late_after,
            }
        )
    return answer


def health(now: datetime | None = None) -> dict[str, Any]:
    """Queue depth, job runs and failures, and lag (now minus the oldest thing due), for the back office."""
    now = now or timezone.now()
    tasks = queue(now)
    periodic = jobs(now)
    job_lag = max((job["lag_seconds"] for job in periodic), default=0.0)
    return {
        "checked_at": now,
        "queue": tasks,
        "jobs": periodic,
        "job_runs": sum(job["runs"] for job in periodic),
        "job_failures": sum(job["failures"] for job in periodic),
        "lag_seconds": max(tasks["lag_seconds"], job_lag),
        "late_jobs": [job["name"] for job in periodic if job["late"]],
        "failing_jobs": [job["name"] for job in periodic if job["failing"]],
    }

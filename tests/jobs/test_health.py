"""What the worker is doing and what is late: jobs.selectors.health() (for the back office), /metrics and
the admin."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from jobs import scheduler, selectors
from jobs.models import PeriodicJob
from jobs.tasks import run_queued_tasks
from tests.jobs.helpers import make_due, record_run, registered


def _boom(now: Any) -> int:
    raise RuntimeError("boom")


@pytest.fixture
def failing_job(db: Any) -> Any:
    with registered("tests.boom", "0 4 * * *", _boom):
        scheduler.sync_rows()
        yield "tests.boom"


def test_health_counts_the_queue_and_its_lag(db: Any) -> None:
    record_run.enqueue("a")
    record_run.enqueue("b")
    DBTaskResult.objects.update(enqueued_at=timezone.now() - timedelta(seconds=90))

    before = selectors.health()
    ran = run_queued_tasks()
    after = selectors.health()

    assert (before["queue"]["ready"], before["queue"]["successful"]) == (2, 0)
    assert 89 < before["queue"]["lag_seconds"] < 120
    assert ran == 2
    assert (after["queue"]["ready"], after["queue"]["successful"], after["queue"]["lag_seconds"]) == (0, 2, 0)


def test_a_deferred_task_is_not_late_before_its_time(db: Any) -> None:
    record_run.using(run_after=timezone.now() + timedelta(hours=1)).enqueue("later")

    queue = selectors.health()["queue"]

    assert (queue["ready"], queue["lag_seconds"]) == (1, 0)


def test_health_shows_runs_failures_and_late_jobs(failing_job: str, settings: Any) -> None:
    settings.JOBS_LATE_SECONDS = 60
    make_due(failing_job, timezone.now() - timedelta(seconds=1))
    scheduler.run_due()
    make_due(failing_job, timezone.now() - timedelta(minutes=5))

    state = selectors.health()

    job = next(job for job in state["jobs"] if job["name"] == failing_job)
    assert (job["runs"], job["failures"], job["failing"], job["late"]) == (1, 1, True, True)
    assert "RuntimeError: boom" in job["last_error"]
    assert failing_job in state["late_jobs"]
    assert failing_job in state["failing_jobs"]
    assert state["lag_seconds"] >= 300
    assert state["job_failures"] >= 1


def test_metrics_show_queue_depth_runs_failures_and_lag(failing_job: str, settings: Any) -> None:
    settings.METRICS_TOKEN = ""
    record_run.enqueue("waiting")
    make_due(failing_job, timezone.now() - timedelta(seconds=1))
    scheduler.run_due()

    text = Client().get("/metrics").content.decode()

    assert "daymark_tasks_queue_depth 1.0" in text
    assert 'daymark_job_runs_total{job="tests.boom"} 1.0' in text
    assert 'daymark_job_failures_total{job="tests.boom"} 1.0' in text
    assert "daymark_tasks_lag_seconds " in text
    assert 'daymark_job_lag_seconds{job="tests.boom"} 0.0' in text
    assert "daymark_jobs_metrics_up 1.0" in text


def test_the_admin_lists_the_jobs_read_only(failing_job: str, staff_client: Client) -> None:
    make_due(failing_job, timezone.now() - timedelta(seconds=1))
    scheduler.run_due()

    listing = staff_client.get("/admin/jobs/periodicjob/")
    page = staff_client.get(f"/admin/jobs/periodicjob/{failing_job}/change/")

    assert listing.status_code == 200
    assert "tests.boom" in listing.content.decode()
    assert "sync.prune" in listing.content.decode()
    assert page.status_code == 200
    assert "RuntimeError: boom" in page.content.decode()
    assert staff_client.get("/admin/jobs/periodicjob/add/").status_code == 403
    assert PeriodicJob.objects.filter(name=failing_job).exists()


def test_the_admin_lists_recent_task_results(db: Any, staff_client: Client) -> None:
    record_run.enqueue("shown")
    run_queued_tasks()

    listing = staff_client.get("/admin/django_tasks_database/dbtaskresult/")

    assert listing.status_code == 200
    assert "record_run" in listing.content.decode()

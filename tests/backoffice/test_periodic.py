"""The rollup is the worker's periodic job `backoffice.rollup` (where the worker app is installed), and the
health panel shows the worker's queue as the worker reports it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from accounts.models import User
from backoffice.models import ActiveDay, DailyRollup
from backoffice.periodic import ROLLUP_JOB, run_rollup
from tests.factories import UserFactory


def test_the_job_writes_todays_rollup(db: Any) -> None:
    now = datetime.now(UTC)
    user = UserFactory.create()
    ActiveDay.objects.create(day=now.date(), user_id=user.pk)
    assert run_rollup(now) == 2
    assert DailyRollup.objects.get(day=now.date()).active_users == 1


def test_the_rollup_is_registered_with_the_worker() -> None:
    registry = pytest.importorskip("jobs.registry")
    jobs = {job.name: job for job in registry.jobs()}
    assert jobs[ROLLUP_JOB].run is run_rollup


def test_the_health_panel_shows_the_workers_queue(
    db: Any, make_staff: Callable[..., User], browser_of: Callable[[User], Any]
) -> None:
    pytest.importorskip("jobs.selectors")
    page = browser_of(make_staff("backoffice.view_health")).get("/admin/backoffice/health/")
    assert page.status_code == 200
    assert b'id="worker-ready"' in page.content
    assert ROLLUP_JOB.encode() in page.content

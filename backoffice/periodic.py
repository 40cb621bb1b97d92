"""The back office's work for the worker (`manage.py worker`): the daily rollups, every ten minutes, so
today's numbers are at most that old. In-process work of each serving process (the usage flush, the metrics
snapshot) is the ticker's (backoffice.usage.Ticker)."""

from __future__ import annotations

import importlib
from datetime import datetime

from backoffice import health, rollups, usage

ROLLUP_JOB = "backoffice.rollup"
ROLLUP_CRON = "*/10 * * * *"


def run_rollup(now: datetime) -> int:
    return rollups.rollup(now=now)


def register() -> None:
    """Registers the rollup with the worker's scheduler, and the ticker's steps."""
    usage.ticker.steps = [usage.flush, health.snapshot]
    try:
        registry = importlib.import_module("jobs.registry")
    except ImportError:  # the worker app is not installed: the rollup is run by calling it
        return
    registry.periodic(
        ROLLUP_JOB,
        ROLLUP_CRON,
        run_rollup,
        description="Daily usage rollups (active users, sync pulls and pushes) of yesterday and today",
    )

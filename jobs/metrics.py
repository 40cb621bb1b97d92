"""The worker's figures in /metrics (docs/operations.md): read from the database at scrape time, so they are
totals over every worker process and the same whichever web process answers."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

logger = logging.getLogger("daymark.jobs")


def _families() -> dict[str, GaugeMetricFamily | CounterMetricFamily]:
    return {
        "depth": GaugeMetricFamily(
            "daymark_tasks_queue_depth", "Background tasks ready to run (not yet claimed by a worker)."
        ),
        "tasks": GaugeMetricFamily(
            "daymark_tasks", "Stored background task rows by status.", labels=["status"]
        ),
        "task_lag": GaugeMetricFamily(
            "daymark_tasks_lag_seconds", "Seconds the oldest task that could run has waited (0: none)."
        ),
        "runs": CounterMetricFamily("daymark_job_runs", "Runs of each periodic job.", labels=["job"]),
        "failures": CounterMetricFamily(
            "daymark_job_failures", "Failed runs of each periodic job.", labels=["job"]
        ),
        "job_lag": GaugeMetricFamily(
            "daymark_job_lag_seconds", "Seconds a periodic job has been due.", labels=["job"]
        ),
        "duration": GaugeMetricFamily(
            "daymark_job_last_duration_seconds", "How long the last run of a job took.", labels=["job"]
        ),
        "up": GaugeMetricFamily("daymark_jobs_metrics_up", "1 when the worker figures could be read."),
    }


class JobsCollector:
    def describe(self) -> Iterator[Metric]:
        yield from _families().values()

    def collect(self) -> Iterator[Metric]:
        from jobs.selectors import health

        families = _families()
        try:
            state = health()
        except Exception:
            # A scrape while the database is down still answers, and says so.
            logger.exception("worker metrics could not be read")
            families["up"].add_metric([], 0)
            yield families["up"]
            return
        queue = state["queue"]
        families["depth"].add_metric([], queue["ready"])
        for status in ("ready", "running", "successful", "failed"):
            families["tasks"].add_metric([status], queue[status])
        families["task_lag"].add_metric([], queue["lag_seconds"])
        for job in state["jobs"]:
            families["runs"].add_metric([job["name"]], job["runs"])
            families["failures"].add_metric([job["name"]], job["failures"])
            families["job_lag"].add_metric([job["name"]], job["lag_seconds"])
            if job["last_duration"] is not None:
                families["duration"].add_metric([job["name"]], job["last_duration"])
        families["up"].add_metric([], 1)
        yield from families.values()

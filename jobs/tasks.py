"""Running queued background tasks in this process: `manage.py worker --once` and tests, which run what a
worker would run without starting one."""

from __future__ import annotations

from django_tasks_db.management.commands.db_worker import Worker as TaskWorker


def run_queued_tasks(*, worker_id: str = "inline", max_tasks: int | None = None) -> int:
    """Runs the ready tasks of every queue until none is left (or `max_tasks`); returns how many ran."""
    worker = TaskWorker(
        queue_names=["*"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=max_tasks,
        worker_id=worker_id,
        excluded_queue_names=[],
    )
    worker.run()
    return worker._run_tasks

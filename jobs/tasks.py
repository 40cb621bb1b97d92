"""Running queued background tasks in this process: `manage.py worker --once` and tests, which run what a
worker would run without starting one."""

from __future__ import annotations

from django_tasks_db.management.commands.db_worker import Worker as TaskWorker
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import exclusive_transaction


def run_queued_tasks(*, worker_id: str = "inline", max_tasks: int | None = None) -> int:
    """Runs the ready tasks of every queue until none is left (or `max_tasks`); returns how many ran.

    The claim and the run are django_tasks_db's own; its loop is not used because it recycles the database
    connection between tasks, which a test's transaction cannot allow."""
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
    ran = 0
    while max_tasks is None or ran < max_tasks:
        ready = DBTaskResult.objects.ready().filter(backend_name="default")
        with exclusive_transaction(ready.db):
            result = ready.get_locked()
            if result is not None:
                result.claim(worker_id)
        if result is None:
            return ran
        worker.run_task(result)
        ran += 1
    return ran

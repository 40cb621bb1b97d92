"""`manage.py worker`: background tasks and scheduled jobs in one process (jobs/worker.py). Run as many as
you like (docs/deployment.md): tasks and job runs are claimed so that each runs once."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from jobs import registry, scheduler
from jobs.worker import WorkerProcess


class Command(BaseCommand):
    help = "Run the worker: background tasks (django-tasks, database backend) and periodic jobs."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--worker-id", default=None, help="Unique per process (default host:pid).")
        parser.add_argument("--no-tasks", action="store_true", help="Only the scheduler.")
        parser.add_argument("--no-jobs", action="store_true", help="Only the task worker.")
        parser.add_argument(
            "--once",
            action="store_true",
            help="Run the due jobs and the queued tasks once, then exit (for cron or a test).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["once"]:
            self._once(options)
            return
        process = WorkerProcess(
            worker_id=options["worker_id"], tasks=not options["no_tasks"], jobs=not options["no_jobs"]
        )
        process.install_signals()
        process.run()

    def _once(self, options: Any) -> None:
        from jobs.tasks import run_queued_tasks

        ran: list[str] = []
        if not options["no_jobs"]:
            scheduler.sync_rows()
            outcomes = scheduler.run_due(worker_id=options["worker_id"] or "once")
            ran += [f"{o.name}: {'ok' if o.ok else 'failed'}" for o in outcomes]
            for registered in registry.loops():
                # One pass of each loop: what is due now.
                while registered.run(timezone.now()):
                    pass
                ran.append(f"{registered.name}: ok")
        tasks = 0 if options["no_tasks"] else run_queued_tasks(worker_id=options["worker_id"] or "once")
        self.stdout.write(f"worker --once: {len(ran)} jobs ({', '.join(ran) or 'none due'}), {tasks} tasks")

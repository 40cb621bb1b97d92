from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "Worker and scheduled jobs"

    def ready(self) -> None:
        from core import metrics
        from jobs.metrics import JobsCollector
        from jobs.registry import periodic
        from jobs.upkeep import prune_task_results

        # Read from the database at scrape time, so /metrics answers the same whichever process serves it
        # and however many workers run (docs/operations.md, "The worker").
        metrics.add_collector(JobsCollector())
        periodic(
            "jobs.prune_task_results",
            "17 * * * *",
            prune_task_results,
            description="Removes finished background task results older than TASK_RESULT_RETENTION_DAYS.",
        )

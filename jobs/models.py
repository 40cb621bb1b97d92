"""The scheduler's state: one row per periodic job (jobs/registry.py), shared by every worker."""

from __future__ import annotations

from django.db import models


class PeriodicJob(models.Model):
    """When a registered job runs next and how its runs went. A worker runs a due job only after moving
    `next_run_at` on with a conditional UPDATE (jobs/scheduler.py), so each due run happens once however many
    workers poll. The counters are totals over every worker, which /metrics and the back office read."""

    name = models.CharField(max_length=100, primary_key=True)
    cron = models.CharField(max_length=100)
    description = models.CharField(max_length=300, blank=True)
    next_run_at = models.DateTimeField()
    # The worker that holds the current run and since when (cleared when it ends): what is running now.
    claimed_by = models.CharField(max_length=100, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_duration = models.FloatField(null=True, blank=True, help_text="Seconds.")
    last_result = models.BigIntegerField(null=True, blank=True, help_text="How many things the run did.")
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    runs = models.PositiveBigIntegerField(default=0)
    failures = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["next_run_at"], name="periodicjob_next_run")]

    def __str__(self) -> str:
        return self.name

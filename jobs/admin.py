"""Read-only admin of the periodic jobs (what runs, when next, how it went). Task results have
django_tasks_db's own read-only admin ("Task results"), newest first."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils import timezone

from jobs.models import PeriodicJob


@admin.register(PeriodicJob)
class PeriodicJobAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "cron",
        "next_run_at",
        "lag",
        "running_on",
        "last_run_at",
        "last_duration",
        "last_result",
        "runs",
        "failures",
        "last_failed",
    )
    search_fields = ("name",)
    ordering = ("name",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in PeriodicJob._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="late by")
    def lag(self, obj: PeriodicJob) -> str:
        seconds = (timezone.now() - obj.next_run_at).total_seconds()
        return f"{seconds:.0f} s" if seconds > 0 else "-"

    @admin.display(description="running on")
    def running_on(self, obj: PeriodicJob) -> str:
        if not obj.claimed_by or obj.started_at is None:
            return "-"
        return f"{obj.claimed_by} since {obj.started_at:%H:%M:%S}"

    @admin.display(boolean=True, description="last run failed")
    def last_failed(self, obj: PeriodicJob) -> bool:
        return bool(obj.last_error_at and obj.last_error_at == obj.last_run_at)

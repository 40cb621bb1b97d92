"""The periodic jobs of reminders, registered with the worker's scheduler (jobs.registry)."""

from __future__ import annotations

from reminders import firing_services as firing

# Every 15 seconds, not every minute: a reminder must fire within 60 seconds of its `fires_at`, which is
# any instant (an absolute `remind_at` need not fall on a minute), and a run finds nothing due in one index
# probe.
FIRE_CRON = "* * * * * */15"
PRUNE_CRON = "17 3 * * *"


def register_all() -> None:
    try:
        from jobs.registry import periodic
    except ImportError:  # the worker's app is not installed yet: nothing schedules the jobs
        return
    periodic(
        "reminders.fire",
        FIRE_CRON,
        firing.fire_job,
        description="Fires due reminders: a notification each, emails, the reminder_fired signal.",
    )
    periodic(
        "reminders.prune_notifications",
        PRUNE_CRON,
        firing.prune_job,
        description="Deletes notifications older than 90 days (with tombstones, so replicas drop them).",
    )

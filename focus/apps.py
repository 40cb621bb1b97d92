from django.apps import AppConfig


class FocusConfig(AppConfig):
    name = "focus"
    verbose_name = "Focus cards"

    def ready(self) -> None:
        from focus import morning, sync_types
        from jobs.registry import periodic
        from sync.registry import on_changes

        sync_types.register_all()
        on_changes(morning.on_profile_changes)
        periodic(
            "focus.morning_cards",
            "* * * * *",
            morning.lease_due,
            description="Enqueues the morning focus cards of the users whose local focus_time has come.",
        )

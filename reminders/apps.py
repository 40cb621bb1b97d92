from django.apps import AppConfig


class RemindersConfig(AppConfig):
    name = "reminders"
    verbose_name = "Reminders and notifications"

    def ready(self) -> None:
        from reminders import periodic, sync_types

        sync_types.register_all()
        periodic.register_all()

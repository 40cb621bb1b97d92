from django.apps import AppConfig


class FocusConfig(AppConfig):
    name = "focus"
    verbose_name = "Focus cards"

    def ready(self) -> None:
        from focus import sync_types

        sync_types.register_all()

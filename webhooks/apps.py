from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Webhooks"

    def ready(self) -> None:
        from webhooks import checks, outbox, periodic

        checks.register_all()
        outbox.register_all()
        periodic.register_all()

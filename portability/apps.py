from django.apps import AppConfig


class PortabilityConfig(AppConfig):
    """Export and import of everything a user owns (`user/export`, `user/import`)."""

    name = "portability"
    verbose_name = "Portability"

from django.apps import AppConfig
from django.core import checks


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Core API plumbing"

    def ready(self) -> None:
        from core.checks import rate_limit_settings  # here: it reads settings and the rate-limit module

        checks.register(rate_limit_settings)

from typing import Any

from django.apps import AppConfig
from django.core import checks
from django.db.backends.signals import connection_created


def _database_answered(**kwargs: Any) -> None:
    from core.dependencies import DATABASE

    DATABASE.succeeded()


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Core API plumbing"

    def ready(self) -> None:
        from core.checks import rate_limit_settings  # here: it reads settings and the rate-limit module

        checks.register(rate_limit_settings)
        # A connection handed out (each request's checkout from the pool) ends a database outage's record.
        connection_created.connect(_database_answered, dispatch_uid="daymark-database-answered")

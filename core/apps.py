from typing import Any

from django.apps import AppConfig
from django.db.backends.signals import connection_created


def _database_answered(**kwargs: Any) -> None:
    from core.dependencies import DATABASE

    DATABASE.succeeded()


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Core API plumbing"

    def ready(self) -> None:
        # A connection handed out (each request's checkout from the pool) ends a database outage's record.
        connection_created.connect(_database_answered, dispatch_uid="daymark-database-answered")

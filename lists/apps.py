from typing import Any

from django.apps import AppConfig
from django.db import connections
from django.db.models.signals import post_migrate


def _repair_search_index(using: str = "default", **kwargs: Any) -> None:
    # Schema maintenance, not business logic: Django rebuilds SQLite tables for most migrations, and the
    # rebuilt table has lost the search triggers (lists/search_index.py).
    from lists.search_index import ensure_sqlite_index

    ensure_sqlite_index(connections[using])


class ListsConfig(AppConfig):
    name = "lists"
    verbose_name = "Lists and items"

    def ready(self) -> None:
        from lists import sync_types

        sync_types.register_all()
        post_migrate.connect(_repair_search_index, sender=self, dispatch_uid="lists.search_index")

from django.apps import AppConfig


class SyncConfig(AppConfig):
    name = "sync"
    verbose_name = "Sync"

    def ready(self) -> None:
        from core import models as core_models
        from sync.spaces import visible_space_ids

        # OwnedQuerySet.for_user reads spaces through this (core imports no app).
        core_models.visible_spaces[:] = [visible_space_ids]

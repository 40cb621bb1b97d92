from django.apps import AppConfig


class SyncConfig(AppConfig):
    name = "sync"
    verbose_name = "Sync"

    def ready(self) -> None:
        from core import models as core_models
        from jobs.registry import periodic
        from sync.pruning import prune_job
        from sync.spaces import visible_space_ids

        # OwnedQuerySet.for_user reads spaces through this (core imports no app).
        core_models.visible_spaces[:] = [visible_space_ids]
        # Hourly, in batches: each run removes little, and a missed run costs nothing but a later one.
        periodic(
            "sync.prune",
            "23 * * * *",
            prune_job,
            description="Removes change records, tombstones, processed operations, idempotency keys and "
            "what apps add with sync.registry.on_prune (workspace activity) past their retention.",
        )

from django.apps import AppConfig


class LiveConfig(AppConfig):
    name = "live"
    verbose_name = "Live updates"

    def ready(self) -> None:
        from accounts.signals import credentials_revoked
        from core import metrics
        from live import pokes
        from live.metrics import AllSocketsCollector
        from sync import registry

        # Integrations learn of writes from change records (docs/architecture.md): inside the transaction
        # the hook notes which spaces it wrote; after commit one poke goes to each socket that sees them.
        registry.on_changes(pokes.collect)
        credentials_revoked.connect(pokes.close_sockets_of, dispatch_uid="live.close_sockets_of")
        metrics.add_collector(AllSocketsCollector(), panel=True)

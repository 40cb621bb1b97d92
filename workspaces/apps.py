from django.apps import AppConfig


class WorkspacesConfig(AppConfig):
    name = "workspaces"
    verbose_name = "Workspaces"

    def ready(self) -> None:
        from sync import registry as sync_registry
        from workspaces import activity_services, sync_types
        from workspaces.models import Member

        sync_types.register_all()
        sync_registry.set_membership(Member)
        sync_registry.on_changes(activity_services.record_activity)
        sync_registry.on_prune(activity_services.activity_prune)

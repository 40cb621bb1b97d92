import importlib
import importlib.util

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in
        from django.db.models.signals import pre_save
        from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

        # schema registers the OpenAPI security schemes, checks the deploy checks.
        from accounts import checks, schema, sync_types  # noqa: F401
        from accounts.audit import audit_workspace_action
        from accounts.signals import digest_refresh_token, record_admin_login
        from workspaces import registry as workspaces_registry

        sync_types.register_all()
        workspaces_registry.set_audit(audit_workspace_action)
        user_logged_in.connect(record_admin_login, dispatch_uid="accounts.record_admin_login")
        pre_save.connect(
            digest_refresh_token, sender=OutstandingToken, dispatch_uid="accounts.digest_refresh_token"
        )
        _register_jobs()


def _register_jobs() -> None:
    """The worker prunes the passkey ceremonies that expired unfinished. Until the worker's registry exists
    (app `jobs`), the function is there to call by hand and nothing is registered."""
    if importlib.util.find_spec("jobs") is None:
        return
    from accounts.services.passkey_ceremonies import passkey_ceremonies_prune

    registry = importlib.import_module("jobs.registry")
    registry.periodic(
        "accounts.passkey_ceremonies_prune",
        "*/15 * * * *",
        passkey_ceremonies_prune,
        description="Deletes passkey ceremonies that expired unfinished.",
    )

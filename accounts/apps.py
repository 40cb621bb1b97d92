import importlib
import importlib.util

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in
        from django.db.models.signals import post_delete, post_save, pre_save
        from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

        # schema registers the OpenAPI security schemes, checks the deploy checks.
        from accounts import checks, schema, sync_types  # noqa: F401
        from accounts.audit import audit_workspace_action
        from accounts.models import User
        from accounts.signals import digest_refresh_token, record_admin_login
        from accounts.user_cache import on_user_changed
        from workspaces import registry as workspaces_registry

        sync_types.register_all()
        workspaces_registry.set_audit(audit_workspace_action)
        user_logged_in.connect(record_admin_login, dispatch_uid="accounts.record_admin_login")
        pre_save.connect(
            digest_refresh_token, sender=OutstandingToken, dispatch_uid="accounts.digest_refresh_token"
        )
        # The cached user row (accounts/user_cache.py) follows every save and delete of the row.
        post_save.connect(on_user_changed, sender=User, dispatch_uid="accounts.user_cache.saved")
        post_delete.connect(on_user_changed, sender=User, dispatch_uid="accounts.user_cache.deleted")
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

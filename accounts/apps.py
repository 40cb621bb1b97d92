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
        from accounts.signals import digest_refresh_token, record_admin_login

        sync_types.register_all()
        user_logged_in.connect(record_admin_login, dispatch_uid="accounts.record_admin_login")
        pre_save.connect(
            digest_refresh_token, sender=OutstandingToken, dispatch_uid="accounts.digest_refresh_token"
        )

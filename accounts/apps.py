from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from accounts import schema, sync_types  # noqa: F401  (schema registers the OpenAPI security schemes)
        from accounts.signals import record_admin_login

        sync_types.register_all()
        user_logged_in.connect(record_admin_login, dispatch_uid="accounts.record_admin_login")

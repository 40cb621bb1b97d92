from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from accounts import schema, sync_types  # noqa: F401  (schema registers the OpenAPI security schemes)

        sync_types.register_all()

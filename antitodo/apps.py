from django.apps import AppConfig


class AntitodoConfig(AppConfig):
    name = "antitodo"
    verbose_name = "Anti-todo"

    def ready(self) -> None:
        from antitodo import sync_types

        sync_types.register_all()

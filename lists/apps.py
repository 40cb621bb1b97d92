from django.apps import AppConfig


class ListsConfig(AppConfig):
    name = "lists"
    verbose_name = "Lists and items"

    def ready(self) -> None:
        from lists import sync_types

        sync_types.register_all()

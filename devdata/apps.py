from django.apps import AppConfig


class DevdataConfig(AppConfig):
    """The demo and load seeders: the only app allowed to import every other, and imported by none."""

    name = "devdata"
    verbose_name = "Development data"

from django.apps import AppConfig


class AntitodoConfig(AppConfig):
    name = "antitodo"
    verbose_name = "Anti-todo"

"""The dashboard as a Django app: adds the `tasks_tui` management command."""

from django.apps import AppConfig


class TuiConfig(AppConfig):
    """`tui` in INSTALLED_APPS gives `manage.py tasks_tui`."""

    name = "tui"
    label = "tui"
    verbose_name = "Tasks dashboard"

"""Django application configuration for tasks_google."""

from django.apps import AppConfig


class TasksGoogleConfig(AppConfig):
    name = "tasks_google"
    label = "tasks_google"
    verbose_name = "Tasks on Google Cloud"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.core import checks

        from tasks_google.config import sqlite
        from tasks_google.framework import register_checks_and_signals
        from tasks_google.scheduling.checks import TAG, check_declared_schedules

        register_checks_and_signals()
        checks.register(check_declared_schedules, TAG)

        sqlite.configure_new_connections()

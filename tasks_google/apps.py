"""Django application configuration for tasks_google."""

from django.apps import AppConfig


class TasksGoogleConfig(AppConfig):
    name = "tasks_google"
    label = "tasks_google"
    verbose_name = "Tasks on Google Cloud"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # django.tasks registers its system checks (which call our backends' check()) on import.
        import django.tasks  # noqa: F401
        from django.core import checks

        from tasks_google.config import sqlite
        from tasks_google.scheduling.checks import TAG, check_declared_schedules

        checks.register(check_declared_schedules, TAG)

        sqlite.configure_new_connections()

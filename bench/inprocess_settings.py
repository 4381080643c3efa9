"""Django settings of the in-process benchmark (bench/inprocess.py): the smallest project a
Cloud Tasks backend runs in. The database file is set by the benchmark (BENCH_DB)."""

import importlib.util
import os

SECRET_KEY = "bench-only"
DEBUG = False
USE_TZ = True
ALLOWED_HOSTS = ["app.test"]
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "tasks_google"]
if importlib.util.find_spec("django.tasks") is None:
    # Django 5.2: the task framework is the django-tasks backport's app.
    INSTALLED_APPS.insert(0, "django_tasks")
DATABASES = {
    "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["BENCH_DB"]},
}
ROOT_URLCONF = "inprocess_app"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
TASKS = {
    "default": {
        "BACKEND": "tasks_google.backends.CloudTasksBackend",
        "QUEUES": ["default"],
        "OPTIONS": {
            "project_id": "bench-project",
            "location": "us-central1",
            "base_url": "http://app.test/tasks/",
            "transport": "inprocess",
            "oidc_service_account": "tasks-invoker@bench-project.iam.gserviceaccount.com",
        },
    },
}

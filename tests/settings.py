"""Django settings for the test suite."""

import importlib.util
import os
import sys
import tempfile
from pathlib import Path

SECRET_KEY = "tests-only"
DEBUG = False
USE_TZ = True
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1", "app.test"]
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.admin",
    # The browser tests' live server serves the admin's stylesheets through it.
    "django.contrib.staticfiles",
    "tasks_google",
    "tests.testapp",
]
if importlib.util.find_spec("django.tasks") is None:
    # Django 5.2: the task framework is the django-tasks backport, installed as its docs say.
    INSTALLED_APPS.insert(INSTALLED_APPS.index("tasks_google"), "django_tasks")
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
# A file database (one per xdist worker), so tests see SQLite as production does: WAL, real
# locking between threads. Under `python -m tests.postgres_server`, a real PostgreSQL instead.
_TMP = Path(tempfile.gettempdir())
_POSTGRES = os.environ.get("TASKS_GOOGLE_TEST_POSTGRES")
# Subprocesses of a test (e.g. `manage.py execute_task`) use the test's own database.
_TEST_DB_NAME = os.environ.get("TASKS_GOOGLE_TEST_DB_NAME")
if _POSTGRES:
    _host, _port = _POSTGRES.rsplit(":", 1)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": _TEST_DB_NAME or "postgres",
            "USER": "postgres",
            "HOST": _host,
            "PORT": _port,
            "TEST": {"NAME": "tasks_google_test"},
        }
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": _TEST_DB_NAME or str(_TMP / "tasks_google.sqlite3"),
            # One file per test process, so concurrent test runs never share a database.
            "TEST": {"NAME": str(_TMP / f"tasks_google_test_{os.getpid()}.sqlite3")},
        }
    }
ROOT_URLCONF = "tests.urls"
STATIC_URL = "static/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
SERVICE_ACCOUNT = "tasks-invoker@demo-project.iam.gserviceaccount.com"
TASKS = {
    # Long work: executions are real `manage.py execute_task` subprocesses of the emulator.
    "jobs": {
        "BACKEND": "tasks_google.backends.CloudRunJobsBackend",
        "QUEUES": ["batch"],
        "OPTIONS": {
            "project_id": "demo-project",
            "location": "us-central1",
            "transport": "inprocess",
            "command": [sys.executable, "-m", "django", "execute_task"],
            "cancel_poll_interval_seconds": 0.1,
        },
    },
    "default": {
        "BACKEND": "tasks_google.backends.CloudTasksBackend",
        "QUEUES": ["default", "emails", "slow"],
        "OPTIONS": {
            "project_id": "demo-project",
            "location": "us-central1",
            "base_url": "http://app.test/tasks/",
            "transport": "inprocess",
            "oidc_service_account": SERVICE_ACCOUNT,
            "queue_aliases": {"slow": "slow-lane"},
        },
    },
}

"""Settings of the example project that `just dev` runs against the local emulator.

The backend uses the production `gcp` transport; `just dev` sets CLOUD_TASKS_EMULATOR_HOST, so
the official client talks to the emulator. Unset it (and use a real project) to run on Google.
"""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
PORT = os.environ.get("DEV_PORT", "8000")

SECRET_KEY = "example-only-not-secret"
DEBUG = True
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
USE_TZ = True
TIME_ZONE = "UTC"

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.admin",
    # runserver serves the admin's and the shop page's stylesheets (DEBUG only).
    "django.contrib.staticfiles",
    "tasks_google",
    "tui",
    "shop",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
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
ROOT_URLCONF = "exampleproject.urls"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("EXAMPLE_DB", str(BASE_DIR / "db.sqlite3")),
        # tasks_google puts SQLite in WAL mode; with it, NORMAL syncs at checkpoints rather
        # than at every commit: still safe from corruption, faster for a local loop of tasks.
        "OPTIONS": {"init_command": "PRAGMA synchronous = NORMAL"},
        # One connection per kept-alive HTTP connection of tasks_runserver (which closes it
        # when that ends), instead of one per request.
        "CONN_MAX_AGE": 60,
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
STATIC_URL = "static/"

TASKS = {
    "default": {
        "BACKEND": "tasks_google.backends.CloudTasksBackend",
        "QUEUES": ["default", "emails", "reports"],
        "OPTIONS": {
            "project_id": "demo-project",
            "location": "us-central1",
            "base_url": f"http://127.0.0.1:{PORT}/tasks/",
            "oidc_service_account": "tasks-invoker@demo-project.iam.gserviceaccount.com",
        },
    },
    # Long batch work: each execution is a Cloud Run Jobs execution running
    # `manage.py execute_task` (in the emulator: a real subprocess, cancellable by force).
    "jobs": {
        "BACKEND": "tasks_google.backends.CloudRunJobsBackend",
        "QUEUES": ["batch"],
        "OPTIONS": {
            "project_id": "demo-project",
            "location": "us-central1",
            "cancel_poll_interval_seconds": 0.5,
        },
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "django.tasks": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "tasks_google": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}

"""Django settings for the test suite."""

import tempfile
from pathlib import Path

SECRET_KEY = "tests-only"
DEBUG = False
USE_TZ = True
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1", "app.test"]
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "tasks_google",
]
# A file database (one per xdist worker), so tests see SQLite as production does: WAL, real
# locking between threads.
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(Path(tempfile.gettempdir()) / "tasks_google_tests.sqlite3"),
        "TEST": {"NAME": str(Path(tempfile.gettempdir()) / "tasks_google_test_db.sqlite3")},
    }
}
ROOT_URLCONF = "tests.urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
TASKS = {
    "default": {
        "BACKEND": "tasks_google.backends.CloudTasksBackend",
        "QUEUES": ["default", "emails", "slow"],
        "OPTIONS": {
            "project_id": "demo-project",
            "location": "us-central1",
            "base_url": "http://app.test/tasks/",
            "transport": "inprocess",
            "queue_aliases": {"slow": "slow-lane"},
        },
    }
}

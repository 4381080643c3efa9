"""Django settings for the test suite."""

SECRET_KEY = "tests-only"
DEBUG = False
USE_TZ = True
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1", "app.test"]
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "tasks_google",
]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
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

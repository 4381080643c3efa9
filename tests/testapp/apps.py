from django.apps import AppConfig


class TestAppConfig(AppConfig):
    """An installed app whose `tasks` module the schedule admin discovers."""

    name = "tests.testapp"
    label = "testapp"

"""Deliveries of the in-process emulator reach the app whatever ALLOWED_HOSTS says.

A new project's tests run with DEBUG=False and `ALLOWED_HOSTS` empty (or without `base_url`'s
host); the emulated network must not turn that into deliveries refused with DisallowedHost.
"""

import pytest
from django.test import override_settings

from tasks_google.framework import TaskResultStatus
from tests.tasks_google import tasks

pytestmark = pytest.mark.django_db

#: A new project's middleware: CommonMiddleware validates the host of every request.
STARTPROJECT_MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]


@pytest.mark.parametrize(
    "allowed_hosts",
    [
        ["testserver"],  # what a test environment adds to an empty setting
        [],  # outside a test environment (a script using emulated())
        ["www.example.com"],
    ],
)
def test_tasks_run_when_base_url_host_is_not_allowed(tasks_emulator, allowed_hosts):
    with override_settings(
        ALLOWED_HOSTS=allowed_hosts, DEBUG=False, MIDDLEWARE=STARTPROJECT_MIDDLEWARE
    ):
        result = tasks.calculate_meaning_of_life.enqueue()
        tasks_emulator.run_until_idle()
        result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == 42


def test_allowed_hosts_is_left_as_it_was(tasks_emulator, settings):
    settings.ALLOWED_HOSTS = []
    settings.MIDDLEWARE = STARTPROJECT_MIDDLEWARE
    tasks.calculate_meaning_of_life.enqueue()
    tasks_emulator.run_until_idle()
    assert settings.ALLOWED_HOSTS == []

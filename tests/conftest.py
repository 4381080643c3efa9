"""Fixtures shared by every test package."""

import pytest

from tests.settings import TASKS


@pytest.fixture
def fast_cancel_poll(settings):
    """Attempts see a cancellation within 0.05 s."""
    # A long heartbeat: the cancellation must not wait for it.
    options = {
        **TASKS["default"]["OPTIONS"],
        "heartbeat_interval_seconds": 30,
        "heartbeat_timeout_seconds": 120,
        "cancel_poll_interval_seconds": 0.05,
    }
    settings.TASKS = {"default": {**TASKS["default"], "OPTIONS": options}}

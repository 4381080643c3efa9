"""Pytest fixtures shared by the emulator server's integration tests: a local app recording the
requests it gets, and an emulator server with its defaults. Import them into a test module."""

from __future__ import annotations

import pytest

from emulator.server import start_server
from tests.emulator.http_target import RecordingTarget


@pytest.fixture
def app():
    target = RecordingTarget()
    yield target
    target.close()


@pytest.fixture
def server():
    with start_server() as server:
        yield server

"""pytest plugin (registered by entry point): the `tasks_emulator` fixture."""

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tasks_google.testing import EmulatedCloud


@pytest.fixture
def tasks_emulator() -> Iterator["EmulatedCloud"]:
    """An in-process emulator serving every tasks_google backend for one test.

    See `tasks_google.testing.emulated()`; the test still needs database access (e.g. `db`).
    """
    from tasks_google.testing import emulated

    with emulated() as cloud:
        yield cloud

"""The time tasks_google records: Django's clock, or the emulator's virtual clock in tests.

Under `tasks_google.testing.emulated()` every timestamp tasks_google writes (enqueued, started,
lease expiry, ...) follows the in-process emulator's virtual clock, so leases expire and retries
fall due when a test advances that clock.
"""

from collections.abc import Callable
from datetime import datetime

from django.utils import timezone

_source: Callable[[], datetime] | None = None


def now() -> datetime:
    """The current time as tasks_google sees it (aware)."""
    return _source() if _source is not None else timezone.now()


def use_source(source: Callable[[], datetime] | None) -> Callable[[], datetime] | None:
    """Install a time source (None: Django's clock); return the previous one."""
    global _source
    previous, _source = _source, source
    return previous

"""The time tasks_google records: Django's clock, or the emulator's virtual clock in tests.

Under `tasks_google.testing.emulated()` every timestamp tasks_google writes (enqueued, started,
lease expiry, ...) follows the in-process emulator's virtual clock, so leases expire and retries
fall due when a test advances that clock.

Times cross between two conventions here. Google's APIs and the emulator speak aware UTC; Django
stores what `django.utils.timezone.now()` gives: aware UTC under `USE_TZ = True`, naive local time
(the process's time zone, which Django sets from `TIME_ZONE`) under `USE_TZ = False`.
`for_django()` and `as_utc()` convert between them; every time passed from one side to the other
goes through one of them.
"""

from collections.abc import Callable
from datetime import UTC, datetime

from django.conf import settings
from django.utils import timezone

_source: Callable[[], datetime] | None = None


def now() -> datetime:
    """The current time as tasks_google sees it, in the form `timezone.now()` gives."""
    return for_django(_source()) if _source is not None else timezone.now()


def for_django(moment: datetime) -> datetime:
    """An aware time (from the emulator or a Google API) in the form Django stores: unchanged
    under USE_TZ, naive local time otherwise."""
    if settings.USE_TZ or moment.tzinfo is None:
        return moment
    # astimezone() without an argument converts to local time, the time datetime.now() gives.
    return moment.astimezone().replace(tzinfo=None)


def as_utc(value: datetime) -> datetime:
    """A time Django handed over (naive means local time) as aware UTC, for Google's APIs."""
    # A naive datetime is taken as local time by astimezone(), as Django means it.
    return value.astimezone(UTC)


def use_source(source: Callable[[], datetime] | None) -> Callable[[], datetime] | None:
    """Install a time source (None: Django's clock); return the previous one."""
    global _source
    previous, _source = _source, source
    return previous

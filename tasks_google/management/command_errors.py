"""What tasks_google's management commands print when the configuration or the cloud stops them.

A user's mistake (invalid OPTIONS, no Google credentials, an emulator that is not running, a
permission Google refuses) is one line on stderr and exit status 1, not a traceback; anything
else is a bug and keeps its traceback. `--traceback` shows it anyway.
"""

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError
from google.api_core import exceptions as api_exceptions
from google.auth import exceptions as auth_exceptions

from tasks_google.exceptions import EmulatorUnavailableError, QueueDoesNotExist

#: What to do when Google has no credentials for this machine.
NO_CREDENTIALS_HINT = (
    "run `gcloud auth application-default login`, or point the backends at an emulator "
    "(`python manage.py tasks_dev`, or CLOUD_TASKS_EMULATOR_HOST and friends)"
)


def require_at_least(options: dict[str, Any], flag: str, minimum: int, unit: str = "") -> None:
    """Refuse the value of `flag` (e.g. `--batch-size`) if it is below `minimum` (or NaN)."""
    value = options[flag.removeprefix("--").replace("-", "_")]
    if not value >= minimum:
        bound = "0 or more" if minimum == 0 else f"at least {minimum}"
        raise CommandError(f"{flag} must be {bound}{unit} (got {value:g}).")


def user_error_message(exc: BaseException) -> str | None:
    """The line to print for an error the user can fix; None for anything else."""
    if isinstance(exc, ImproperlyConfigured | EmulatorUnavailableError | QueueDoesNotExist):
        return str(exc)
    if isinstance(exc, auth_exceptions.DefaultCredentialsError):
        return f"No Google credentials were found: {NO_CREDENTIALS_HINT}."
    if isinstance(exc, api_exceptions.PermissionDenied | api_exceptions.Unauthenticated):
        return f"Google refused the call ({type(exc).__name__}): {exc.message}"
    return None


class TasksCommand(BaseCommand):
    """A management command whose user errors are one line and exit status 1."""

    def execute(self, *args: Any, **options: Any) -> str | None:
        try:
            return super().execute(*args, **options)
        except CommandError:
            raise
        except Exception as exc:
            message = user_error_message(exc)
            if message is None or options.get("traceback"):
                raise
            raise CommandError(message, returncode=1) from exc

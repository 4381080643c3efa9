"""Exceptions users raise or catch."""


class PermanentTaskError(Exception):
    """Raise from a task to fail its execution now, without further retries."""


class LostAttemptError(Exception):
    """Recorded for an attempt that ended without writing its outcome (process killed,
    lease expired); the next delivery records it and runs the task again."""


class NonJSONReturnValueError(TypeError):
    """Recorded when a task returns a value that cannot be stored as JSON."""


class EmulatorUnavailableError(ConnectionError):
    """The configured emulator does not answer (it is not running, or on another port)."""

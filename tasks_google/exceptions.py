"""Exceptions users raise or catch."""


class PermanentTaskError(Exception):
    """Raise from a task to fail its execution now, without further retries."""


class LostAttemptError(Exception):
    """Recorded for an attempt that ended without writing its outcome (process killed,
    lease expired); the next delivery records it and runs the task again."""


class RunOnceError(Exception):
    """Recorded for an execution of a backend with `run_once` on when an attempt comes after one
    that had already started (a redelivery after a crash or a lost attempt, a retry after a
    failure): the task is not run again, and the execution is recorded FAILED."""


class AbandonedExecutionError(Exception):
    """Recorded for an execution that had not finished when its remote work ended (its Cloud
    Task is gone, its Run Jobs execution is over): nothing would ever run it again, so
    `reconcile_tasks` records it FAILED. Re-enqueue it with `tasks_google.retry_task`."""


class NonJSONReturnValueError(TypeError):
    """Recorded when a task returns a value that cannot be stored as JSON."""


class EmulatorUnavailableError(ConnectionError):
    """The configured emulator does not answer (it is not running, or on another port). The
    message names the host tried and how to start the emulator."""


class TaskCancelledError(Exception):
    """The execution was cancelled. Raised inside a task by a forced cancel (Run Jobs: SIGTERM),
    so its `try`/`except`/`finally` cleanup runs; also recorded in the errors of every cancelled
    execution. A task may raise it itself after `is_task_cancelled(context)` turned true."""


class CancellationNotSupported(ValueError):
    """The requested kind of cancellation is impossible on this backend (e.g. a forced cancel of
    an HTTP request on Cloud Tasks)."""


class QueueDoesNotExist(LookupError):
    """The Cloud Tasks queue a queue call names does not exist (on Google, queues are created
    by you, never behind your back)."""

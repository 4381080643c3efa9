"""tests.settings with `run_once` on the Run Jobs backend and short leases: the settings of the
`execute_task` processes in test_run_jobs' run_once tests (a Run Jobs process reads its own
settings, as a deployed container does)."""

import sys

from tests.settings import *  # noqa: F403
from tests.settings import TASKS as _TASKS

_OPTIONS = {
    **_TASKS["jobs"]["OPTIONS"],
    "run_once": True,
    # A dead attempt's lease expires within a second, so the retry does not wait a minute.
    "heartbeat_interval_seconds": 0.2,
    "heartbeat_timeout_seconds": 1,
    "command": [sys.executable, "-m", "django", "execute_task", "--settings", __name__],
}
TASKS = {**_TASKS, "jobs": {**_TASKS["jobs"], "OPTIONS": _OPTIONS}}

"""The attempt timeline of an execution: one entry per attempt in `TaskExecution.attempts`.

An entry is a dict:

- `number`: the attempt's number, from 1 (the execution's `attempt_count` once it took the lease);
- `worker`: the id of the process that ran it (`leases.worker_id()`, "host:pid");
- `started_at`, `finished_at`: ISO 8601 UTC; `finished_at` is None while it runs;
- `outcome`: one of OUTCOMES;
- `error`: the class path of the exception it ended with, or None.

Only the attempt holding the lease writes them, in the same conditional UPDATE as the rest of its
bookkeeping: it appends its `running` entry when it takes the lease and records its outcome with
the execution's status. An attempt taking over an expired lease marks the previous one `lost`.
The most recent entries are kept: as many as the backend's `max_history_entries` option says.
"""

from datetime import UTC, datetime
from typing import Any

from tasks_google.executions import exception_class_path

RUNNING = "running"
SUCCEEDED = "succeeded"
#: Failed, and no retry will come (the execution is FAILED).
FAILED = "failed"
#: Failed, and the service retries (the execution went back to READY).
RETRY = "retry"
CANCELLED = "cancelled"
#: Ended without recording an outcome; a later attempt took its expired lease over.
LOST = "lost"
OUTCOMES = (RUNNING, SUCCEEDED, FAILED, RETRY, CANCELLED, LOST)

Attempt = dict[str, Any]


def timestamp(moment: datetime) -> str:
    """How entries store a time: ISO 8601 in UTC."""
    return moment.astimezone(UTC).isoformat()


def parse_timestamp(value: str | None) -> datetime | None:
    """A time stored by `timestamp` (None stays None)."""
    return datetime.fromisoformat(value) if value else None


def started(
    attempts: list[Attempt], number: int, worker: str, at: datetime, *, keep: int
) -> list[Attempt]:
    """`attempts` plus a `running` entry for attempt `number`, keeping the `keep` most recent."""
    entry = {
        "number": number,
        "worker": worker,
        "started_at": timestamp(at),
        "finished_at": None,
        "outcome": RUNNING,
        "error": None,
    }
    return [*attempts, entry][-keep:]


def ended(
    attempts: list[Attempt],
    number: int,
    outcome: str,
    at: datetime,
    error: BaseException | None = None,
) -> list[Attempt]:
    """`attempts` with attempt `number` ended with `outcome` at `at`, if its entry is still
    `running` (an entry that already ended, or is not recorded, is left as it is)."""
    if outcome not in OUTCOMES or outcome == RUNNING:
        raise ValueError(f"An attempt ends with one of {OUTCOMES[1:]}, not {outcome!r}.")
    ending = {
        "finished_at": timestamp(at),
        "outcome": outcome,
        "error": exception_class_path(error) if error is not None else None,
    }
    return [
        {**entry, **ending}
        if entry.get("number") == number and entry.get("outcome") == RUNNING
        else entry
        for entry in attempts
    ]


def lost(
    attempts: list[Attempt],
    number: int,
    at: datetime,
    error: BaseException,
    *,
    worker: str,
    started_at: datetime | None,
    keep: int,
) -> list[Attempt]:
    """`attempts` with attempt `number`, whose expired lease was taken over at `at`, ended `lost`.

    An attempt that died before it could record its entry gets one (with `worker` and
    `started_at`, as the row knew them); one that ended with an outcome is left as it is.
    The `keep` most recent entries are kept.
    """
    if number < 1:
        return attempts
    if any(entry.get("number") == number for entry in attempts):
        return ended(attempts, number, LOST, at, error)
    entry = {
        "number": number,
        "worker": worker,
        "started_at": timestamp(started_at) if started_at is not None else None,
        "finished_at": timestamp(at),
        "outcome": LOST,
        "error": exception_class_path(error),
    }
    return [*attempts, entry][-keep:]

"""SQLite tuning for concurrent workers: WAL journal and a generous busy timeout.

Several processes (runserver threads, heartbeats, `execute_task`) write the same rows; with SQLite's
defaults a writer that meets a lock fails at once with "database is locked".
"""

import time
from collections.abc import Callable
from typing import Any

from django.db import DEFAULT_DB_ALIAS, OperationalError, connections
from django.db.backends.signals import connection_created

#: Milliseconds a statement waits for a lock before SQLite gives up.
BUSY_TIMEOUT_MS = 20_000


def _tune(sender: Any, connection: Any, **kwargs: Any) -> None:
    if connection.vendor != "sqlite":
        return
    # On the DB-API connection itself: these run at every new connection (every request under
    # CONN_MAX_AGE 0), and Django's cursor would log and time each of them under DEBUG.
    raw = connection.connection
    (current,) = raw.execute("PRAGMA busy_timeout").fetchone()
    if current < BUSY_TIMEOUT_MS:
        raw.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    if not connection.is_in_memory_db():
        raw.execute("PRAGMA journal_mode = WAL")


def configure_new_connections() -> None:
    """Tune every SQLite connection Django opens from now on."""
    connection_created.connect(_tune, dispatch_uid="tasks_google.config.sqlite")


def retry_if_locked[T](operation: Callable[[], T], attempts: int = 6) -> T:
    """Run `operation`, retrying SQLite's transient "database is locked" a few times.

    Only outside a transaction: inside one the failed statement has already spoiled it.
    """
    for attempt in range(attempts - 1):
        try:
            return operation()
        except OperationalError as exc:
            transient = "locked" in str(exc) or "busy" in str(exc)
            if not transient or connections[DEFAULT_DB_ALIAS].in_atomic_block:
                raise
            time.sleep(0.05 * 2**attempt)
    return operation()

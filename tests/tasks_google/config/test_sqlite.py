"""SQLite under concurrent writers: transient locks are retried, never lost."""

import pytest
from django.db import OperationalError, connection

from tasks_google.config.sqlite import BUSY_TIMEOUT_MS, retry_if_locked


def test_database_locked_is_retried():
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise OperationalError("database is locked")
        return "written"

    assert retry_if_locked(flaky) == "written"
    assert len(calls) == 3


def test_other_database_errors_are_not_retried():
    def broken():
        raise OperationalError("no such table: nope")

    with pytest.raises(OperationalError):
        retry_if_locked(broken)


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite only")
def test_connections_wait_for_locks():
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA busy_timeout")
        assert cursor.fetchone()[0] >= BUSY_TIMEOUT_MS

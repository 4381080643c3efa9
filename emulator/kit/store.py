"""Where the emulated services keep their state: in memory, or a SQLite file in a data directory.

A store holds JSON-able records, each under a ``kind`` (``"cloudtasks.task"``, ...) and a key (the
resource name), optionally with an expiry (tombstones). Engines keep their working state in memory
and write every change through to the store in one transaction, before the RPC that caused it
returns; on start they rebuild from it. With SQLite (WAL) a committed change survives ``kill -9``
of the emulator, so an acknowledged CreateTask is never lost.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

logger = logging.getLogger(__name__)

EXPORT_FORMAT = "tasks-google-emulator/1"
DATABASE_FILE = "emulator.sqlite3"
LOCK_FILE = "emulator.lock"


@dataclass(frozen=True, slots=True)
class Record:
    """One stored resource: ``value`` is JSON-able; ``expires`` makes it disappear on prune.

    ``value`` may also be a function returning it (a live resource's ``to_record``): the memory
    store keeps the function and calls it only when the record is read or exported, so a
    resource held in memory anyway is not held twice; the SQLite store calls it when writing.
    """

    kind: str
    key: str
    value: dict[str, Any] | Callable[[], dict[str, Any]]
    expires: datetime | None = None

    def resolved(self) -> Record:
        """This record with its value computed, if it was given as a function."""
        if callable(self.value):
            return replace(self, value=self.value())
        return self


@dataclass(frozen=True)
class Put:
    """Create or replace a record."""

    record: Record


@dataclass(frozen=True)
class Delete:
    """Remove one record (nothing happens if it is absent)."""

    kind: str
    key: str


@dataclass(frozen=True)
class DeletePrefix:
    """Remove every record of ``kind`` whose key starts with ``prefix`` (e.g. a queue's tasks)."""

    kind: str
    prefix: str


@dataclass(frozen=True)
class DeleteKind:
    """Remove every record of ``kind``."""

    kind: str


Change = Put | Delete | DeletePrefix | DeleteKind


class Store(Protocol):
    """Record storage shared by the engines of one emulated cloud."""

    @property
    def persistent(self) -> bool:
        """True when the records outlive the process."""
        ...

    def records(self, kind: str) -> dict[str, Record]:
        """Every record of ``kind`` (expired ones included until pruned), by key."""
        ...

    def write(self, *changes: Change) -> None:
        """Apply ``changes`` atomically, in order."""
        ...

    def prune(self, now: datetime) -> int:
        """Drop records that expired at or before ``now``; return how many."""
        ...

    def reset(self) -> None:
        """Remove every record."""
        ...

    def export(self) -> dict[str, Any]:
        """Every record as a JSON-able dict that ``import_state`` accepts."""
        ...

    def import_state(self, data: dict[str, Any]) -> None:
        """Replace every record with those of an ``export()`` dict (ValueError if malformed)."""
        ...

    def close(self) -> None:
        """Release the store; later writes are ignored (the process is going away)."""
        ...


class MemoryStore:
    """Records in a dict: the default, gone with the process."""

    persistent = False

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kinds: dict[str, dict[str, Record]] = {}

    def records(self, kind: str) -> dict[str, Record]:
        with self._lock:
            return {key: record.resolved() for key, record in self._kinds.get(kind, {}).items()}

    def write(self, *changes: Change) -> None:
        with self._lock:
            for change in changes:
                self._apply(change)

    def prune(self, now: datetime) -> int:
        with self._lock:
            dropped = 0
            for records in self._kinds.values():
                expired = [k for k, r in records.items() if r.expires and r.expires <= now]
                for key in expired:
                    del records[key]
                dropped += len(expired)
            return dropped

    def reset(self) -> None:
        with self._lock:
            self._kinds.clear()

    def export(self) -> dict[str, Any]:
        with self._lock:
            records = [r for kind in sorted(self._kinds) for r in self._kinds[kind].values()]
        return _export(record.resolved() for record in records)

    def import_state(self, data: dict[str, Any]) -> None:
        records = _parse_export(data)
        with self._lock:
            self._kinds.clear()
            for record in records:
                self._apply(Put(record))

    def close(self) -> None:
        pass

    def _apply(self, change: Change) -> None:
        match change:
            case Put(record):
                self._kinds.setdefault(record.kind, {})[record.key] = record
            case Delete(kind, key):
                self._kinds.get(kind, {}).pop(key, None)
            case DeletePrefix(kind, prefix):
                records = self._kinds.get(kind, {})
                for key in [k for k in records if k.startswith(prefix)]:
                    del records[key]
            case DeleteKind(kind):
                self._kinds.pop(kind, None)


class DataDirInUse(RuntimeError):
    """Another emulator process holds the data directory."""


class SqliteStore:
    """Records in a SQLite file (WAL), each write committed before it returns.

    ``synchronous=NORMAL`` under WAL keeps every committed transaction across a crash of the
    process (only an OS crash or power loss can drop the last ones), at a fraction of the cost of
    a full fsync per write.
    """

    persistent = True

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._closed = False
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS records ("
            " kind TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, expires TEXT,"
            " PRIMARY KEY (kind, key))"
        )
        self._db.execute(
            "CREATE INDEX IF NOT EXISTS records_expires ON records (expires) "
            "WHERE expires IS NOT NULL"
        )

    def records(self, kind: str) -> dict[str, Record]:
        with self._lock:
            rows = self._db.execute(
                "SELECT key, value, expires FROM records WHERE kind = ?", (kind,)
            ).fetchall()
        return {key: _record(kind, key, value, expires) for key, value, expires in rows}

    def write(self, *changes: Change) -> None:
        with self._lock:
            if self._closed:
                logger.debug("Ignoring %d change(s) written after the store closed.", len(changes))
                return
            self._transaction(lambda: [self._apply(change) for change in changes])

    def prune(self, now: datetime) -> int:
        with self._lock:
            if self._closed:
                return 0
            cursor = self._db.execute(
                "DELETE FROM records WHERE expires IS NOT NULL AND expires <= ?",
                (_timestamp(now),),
            )
            return cursor.rowcount

    def reset(self) -> None:
        with self._lock:
            self._db.execute("DELETE FROM records")

    def export(self) -> dict[str, Any]:
        with self._lock:
            rows = self._db.execute(
                "SELECT kind, key, value, expires FROM records ORDER BY kind, key"
            ).fetchall()
        return _export(_record(*row) for row in rows)

    def import_state(self, data: dict[str, Any]) -> None:
        records = _parse_export(data)

        def replace_all() -> None:
            self._db.execute("DELETE FROM records")
            for record in records:
                self._apply(Put(record))

        with self._lock:
            self._transaction(replace_all)

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._db.close()

    def _transaction(self, body: Any) -> None:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            body()
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _apply(self, change: Change) -> None:
        match change:
            case Put(record):
                self._db.execute(
                    "INSERT OR REPLACE INTO records (kind, key, value, expires)"
                    " VALUES (?, ?, ?, ?)",
                    (
                        record.kind,
                        record.key,
                        json.dumps(record.resolved().value, separators=(",", ":")),
                        _timestamp(record.expires) if record.expires else None,
                    ),
                )
            case Delete(kind, key):
                self._db.execute("DELETE FROM records WHERE kind = ? AND key = ?", (kind, key))
            case DeletePrefix(kind, prefix):
                # A range instead of LIKE: keys may contain LIKE's wildcards.
                self._db.execute(
                    "DELETE FROM records WHERE kind = ? AND key >= ? AND key < ?",
                    (kind, prefix, prefix + "\U0010ffff"),
                )
            case DeleteKind(kind):
                self._db.execute("DELETE FROM records WHERE kind = ?", (kind,))


class DataDirectory:
    """A data directory held by this process: its SQLite store and an exclusive lock file.

    The lock (``flock``) is released by the OS when the process dies, even by ``kill -9``.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self._lock_file = open(self.path / LOCK_FILE, "a+")  # noqa: SIM115 - held until close()
        try:
            _lock_exclusively(self._lock_file)
        except OSError:
            self._lock_file.close()
            raise DataDirInUse(
                f"The data directory {self.path} is in use by another emulator process."
            ) from None
        self.store = SqliteStore(self.path / DATABASE_FILE)

    def close(self) -> None:
        """Close the store and release the lock."""
        self.store.close()
        self._lock_file.close()


def _lock_exclusively(handle: Any) -> None:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: no cross-process guard
        return
    fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)


def _timestamp(when: datetime) -> str:
    """Fixed-width UTC text, which sorts like the times it stands for (pruning relies on it)."""
    if when.tzinfo is None:
        raise ValueError("Store timestamps must be timezone-aware.")
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def _record(kind: str, key: str, value: str, expires: str | None) -> Record:
    return Record(
        kind, key, json.loads(value), datetime.fromisoformat(expires) if expires else None
    )


def _export(records: Iterable[Record]) -> dict[str, Any]:
    return {
        "format": EXPORT_FORMAT,
        "records": [
            {
                "kind": r.kind,
                "key": r.key,
                "value": r.value,
                "expires": _timestamp(r.expires) if r.expires else None,
            }
            for r in records
        ],
    }


def _parse_export(data: object) -> list[Record]:
    if not isinstance(data, dict) or data.get("format") != EXPORT_FORMAT:
        raise ValueError(
            f"Not an emulator export: expected an object with format {EXPORT_FORMAT!r}."
        )
    rows = data.get("records")
    if not isinstance(rows, list):
        raise ValueError("An emulator export needs a 'records' list.")
    records = []
    for index, row in enumerate(rows):
        try:
            kind, key, value = row["kind"], row["key"], row["value"]
            expires = row.get("expires")
            if not (isinstance(kind, str) and isinstance(key, str) and isinstance(value, dict)):
                raise TypeError
            expiry = datetime.fromisoformat(expires) if expires else None
            if expiry is not None and expiry.tzinfo is None:
                raise ValueError
            records.append(Record(kind, key, value, expiry))
        except (KeyError, TypeError, ValueError):
            raise ValueError(
                f"records[{index}] must be an object with string 'kind' and 'key', an object "
                "'value' and an optional ISO 8601 'expires' with a UTC offset."
            ) from None
    return records

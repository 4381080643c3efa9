"""How the engines write times: ISO 8601 in store records, and UTC with a ``Z`` for display."""

from __future__ import annotations

from datetime import UTC, datetime

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def time_to_record(value: datetime | None) -> str | None:
    """A time as stored in a record (ISO 8601 with its offset), or None."""
    return value.isoformat() if value is not None else None


def time_from_record(value: str) -> datetime:
    """A time read back from a record."""
    return datetime.fromisoformat(value)


def optional_time_from_record(value: str | None) -> datetime | None:
    """A time read back from a record, or None when the record has none."""
    return datetime.fromisoformat(value) if value else None


def iso_utc(value: datetime | None) -> str | None:
    """A time in UTC as ``YYYY-MM-DDTHH:MM:SS[.ffffff]Z`` (for the control API), or None."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None

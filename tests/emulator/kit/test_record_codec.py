"""``RecordCodec``: a dataclass written as a store record by its fields' types, and read back."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone

import pytest

from emulator.kit.records import Field, RecordCodec, Stored, nested

WHEN = datetime(2025, 1, 6, 9, 0, 30, 250000, tzinfo=UTC)


class Colour(enum.StrEnum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


@dataclass
class Item(Stored):
    created: datetime
    name: str
    ended: datetime | None = None
    colour: Colour | None = None
    level: Level = Level.HIGH
    count: int = 0
    ratio: float | None = None
    scratch: int = 0


Item.RECORD = RecordCodec(Item, skip=("scratch",))


@dataclass
class Box:
    label: bytes
    items: list[Item] = field(default_factory=list)


BOX_RECORD = RecordCodec(
    Box,
    special={
        "label": Field(write=bytes.decode, read=str.encode, key="text"),
        "items": nested(Item.RECORD),
    },
)


def test_fields_are_written_in_declared_order_by_type_and_skipped_ones_left_out():
    item = Item(WHEN, "a", ended=WHEN + timedelta(hours=1), colour=Colour.RED, scratch=9)

    assert list(item.to_record().items()) == [
        ("created", "2025-01-06T09:00:30.250000+00:00"),
        ("name", "a"),
        ("ended", "2025-01-06T10:00:30.250000+00:00"),
        ("colour", "red"),  # a StrEnum as its string
        ("level", "HIGH"),  # any other enum by name
        ("count", 0),
        ("ratio", None),
    ]


def test_a_record_reads_back_into_an_equal_value_keeping_the_time_zone():
    berlin = timezone(timedelta(hours=1))
    item = Item(WHEN.astimezone(berlin), "a", colour=Colour.RED, count=2, ratio=0.5)

    read = Item.from_record(item.to_record())

    assert read == item
    assert read.created.utcoffset() == timedelta(hours=1)


def test_missing_keys_leave_the_defaults_and_empty_optional_values_read_as_none():
    read = Item.from_record({"created": WHEN.isoformat(), "name": "a", "ended": "", "colour": ""})

    assert read == Item(WHEN, "a")


def test_a_field_without_a_default_needs_its_key():
    with pytest.raises(KeyError, match="name"):
        Item.from_record({"created": WHEN.isoformat()})


def test_special_fields_use_their_converters_and_key_and_nest_records():
    box = Box(b"tools", [Item(WHEN, "a"), Item(WHEN, "b", count=1)])

    record = BOX_RECORD.to_record(box)

    assert list(record) == ["text", "items"]
    assert record["text"] == "tools"
    assert [r["name"] for r in record["items"]] == ["a", "b"]
    assert BOX_RECORD.from_record(record) == box


def test_listed_fields_are_written_in_the_order_given_and_the_others_come_from_the_caller():
    codec = RecordCodec(Item, fields=("count", "created"))

    record = codec.to_record(Item(WHEN, "a", count=4))

    assert record == {"count": 4, "created": WHEN.isoformat()}
    assert codec.from_record(record, name="b") == Item(WHEN, "b", count=4)


def test_a_field_its_type_cannot_store_is_refused_when_the_codec_is_built():
    with pytest.raises(TypeError, match=r"Box\.label: a <class 'bytes'>"):
        RecordCodec(Box, skip=("items",))
    with pytest.raises(TypeError, match="no init field"):
        RecordCodec(Item, skip=("colours",))

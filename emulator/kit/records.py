"""Store records of the engines' dataclasses, written and read field by field from their types.

A ``RecordCodec`` turns a dataclass into the JSON-able dict the store keeps and back. Each field
is stored under its name, in the order the fields are declared (or the order given), by its
type hint:

- ``datetime`` and ``datetime | None``: the ISO 8601 text of ``emulator.kit.timestamps``;
- an ``Enum``: a ``StrEnum`` as its string, any other (e.g. a protobuf enum) as its name;
- ``str``, ``int``, ``float``, ``bool`` (and ``| None`` of them): as they are.

Anything else (names, protos, nested records, bytes, ...) is the model's: it passes a ``Field``
saying how to write and read it, or leaves it out of the record (``skip``). A codec refuses, when
built, a field it cannot store. Reading, a key missing from the record leaves the dataclass
default (a field without one needs its key), and an empty value of an optional time or enum
reads as None.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar, Self

from emulator.kit.timestamps import time_from_record, time_to_record

_PLAIN = frozenset({str, int, float, bool, type(None)})


@dataclasses.dataclass(frozen=True, slots=True)
class Field:
    """How the model stores one field: ``write`` makes the stored value from the attribute,
    ``read`` the attribute from the stored value; ``key`` names it in the record when that is
    not the attribute's name."""

    write: Callable[[Any], Any]
    read: Callable[[Any], Any]
    key: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class _Stored:
    attribute: str
    key: str
    write: Callable[[Any], Any] | None  # None: stored as it is
    read: Callable[[Any], Any] | None
    required: bool  # the dataclass has no default for it


class RecordCodec[T]:
    """Writes ``cls`` instances as store records and reads them back (see the module doc).

    ``fields`` lists the fields to store, in record order (default: every init field in declared
    order, less ``skip``); ``special`` says how to store those the types cannot (see ``Field``).
    """

    def __init__(
        self,
        cls: type[T],
        *,
        fields: Sequence[str] | None = None,
        skip: Collection[str] = (),
        special: Mapping[str, Field] | None = None,
    ) -> None:
        self._cls = cls
        declared = {f.name: f for f in dataclasses.fields(cls) if f.init}  # type: ignore[arg-type]
        hints = typing.get_type_hints(cls)
        special = special or {}
        names = fields if fields is not None else [n for n in declared if n not in skip]
        unknown = (set(names) | set(special) | set(skip)) - set(declared)
        if unknown:
            raise TypeError(f"{cls.__name__} has no init field(s) {sorted(unknown)}.")
        self._stored = [
            _stored(cls, declared[name], hints[name], special.get(name)) for name in names
        ]

    def to_record(self, value: T) -> dict[str, Any]:
        """The record of ``value``."""
        record: dict[str, Any] = {}
        for stored in self._stored:
            attribute = getattr(value, stored.attribute)
            record[stored.key] = attribute if stored.write is None else stored.write(attribute)
        return record

    def values(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """The stored fields' values read from ``record``, by attribute name.

        KeyError if a field without a default has no key in ``record``.
        """
        values: dict[str, Any] = {}
        for stored in self._stored:
            if stored.key not in record:
                if stored.required:
                    raise KeyError(stored.key)
                continue
            raw = record[stored.key]
            values[stored.attribute] = raw if stored.read is None else stored.read(raw)
        return values

    def from_record(self, record: Mapping[str, Any], **others: Any) -> T:
        """The instance ``record`` stands for; ``others`` gives the fields it does not hold."""
        return self._cls(**self.values(record), **others)


class Stored:
    """A dataclass written to the store by its ``RECORD`` codec, set once the class exists::

    class Attempt(Stored): ...

    Attempt.RECORD = RecordCodec(Attempt)
    """

    __slots__ = ()
    RECORD: ClassVar[RecordCodec[Any]]

    def to_record(self) -> dict[str, Any]:
        """The record the store keeps for this value."""
        return self.RECORD.to_record(self)

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Self:
        """The value ``record`` stands for."""
        return cls.RECORD.from_record(record)


def nested[N](codec: RecordCodec[N]) -> Field:
    """A field holding a list of records of ``codec``'s type."""
    return Field(
        write=lambda items: [codec.to_record(item) for item in items],
        read=lambda records: [codec.from_record(record) for record in records],
    )


def full_name(parse: Callable[[str], Any]) -> Field:
    """A resource name field, stored as its full name and read back with ``parse``."""
    return Field(write=lambda name: name.full, read=parse)


def _stored(cls: type, field: dataclasses.Field, hint: Any, special: Field | None) -> _Stored:
    required = field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING
    if special is not None:
        key = special.key or field.name
        return _Stored(field.name, key, special.write, special.read, required)
    write, read = _by_type(cls, field.name, hint)
    return _Stored(field.name, field.name, write, read, required)


def _by_type(cls: type, name: str, hint: Any) -> tuple[Callable | None, Callable | None]:
    """The writer and reader for a field of type ``hint`` (None, None: stored as it is)."""
    members = _union_members(hint)
    optional = type(None) in members
    kinds = [m for m in members if m is not type(None)]
    if all(m in _PLAIN for m in kinds):
        return None, None
    if len(kinds) == 1 and kinds[0] is datetime:
        return time_to_record, _optional(time_from_record) if optional else time_from_record
    if len(kinds) == 1 and isinstance(kinds[0], type) and issubclass(kinds[0], enum.Enum):
        write, read = _enum_converters(kinds[0])
        return (_skip_none(write), _optional(read)) if optional else (write, read)
    raise TypeError(
        f"{cls.__name__}.{name}: a {hint!r} is not stored by type; give it a Field or skip it."
    )


def _union_members(hint: Any) -> Iterable[Any]:
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return typing.get_args(hint)
    return (hint,)


def _enum_converters(kind: type[enum.Enum]) -> tuple[Callable, Callable]:
    if issubclass(kind, str):
        return (lambda member: kind(member).value), kind
    return (lambda member: kind(member).name), (lambda name: kind[name])


def _skip_none(write: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda value: None if value is None else write(value)


def _optional(read: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``read``, with an empty stored value (None, "") reading as None."""
    return lambda value: read(value) if value else None

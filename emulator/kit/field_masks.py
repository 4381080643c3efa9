"""Update RPCs' field masks: merging the masked fields of an update into the current message."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from google.api_core.exceptions import InvalidArgument
from google.protobuf import field_mask_pb2


def merge_masked_fields(
    message_type: Any, current: Any, update: Any, kept: Sequence[str], paths: Sequence[str]
) -> Any:
    """A copy of ``current`` with the fields at ``kept`` (the request's ``paths`` less those the
    caller ignores) replaced by ``update``'s; INVALID_ARGUMENT naming ``paths`` if one is unknown.

    ``message_type`` is the proto-plus class of the messages, e.g. ``tasks_v2.Queue``.
    """
    mask = field_mask_pb2.FieldMask(paths=list(kept))
    if not mask.IsValidForDescriptor(message_type.pb().DESCRIPTOR):
        raise InvalidArgument(f"Invalid update_mask paths: {', '.join(paths)}.")
    merged_pb = message_type.pb(message_type(current))
    mask.MergeMessage(
        message_type.pb(update),
        merged_pb,
        replace_message_field=True,
        replace_repeated_field=True,
    )
    return message_type.wrap(merged_pb)


def apply_update(
    message_type: Any,
    current: Any,
    update: Any,
    paths: Sequence[str],
    *,
    user_fields: Sequence[str],
    output_only: Collection[str],
    replace_all: bool = False,
) -> Any:
    """``current`` updated by ``update`` as an Update RPC with field mask ``paths`` does it.

    Paths at or under an ``output_only`` path are ignored. Without a mask the ``user_fields`` set
    in ``update`` replace ``current``'s; with ``replace_all`` the result holds those alone (what
    is not sent is reset, as UpdateQueue does, T36).
    """
    if not paths:
        merged = message_type() if replace_all else message_type(current)
        for name in user_fields:
            if name in update:
                setattr(merged, name, getattr(update, name))
        return merged
    kept = [path for path in paths if not _is_under(path, output_only)]
    return merge_masked_fields(message_type, current, update, kept, paths)


def _is_under(path: str, prefixes: Collection[str]) -> bool:
    return any(path == prefix or path.startswith(prefix + ".") for prefix in prefixes)

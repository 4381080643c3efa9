"""Update RPCs' field masks: merging the masked fields of an update into the current message."""

from __future__ import annotations

from collections.abc import Sequence
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

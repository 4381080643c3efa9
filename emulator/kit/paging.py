"""List RPC paging shared by the engines: page sizes and opaque page tokens (T32).

A page token is the sort key of the last item of the previous page (URL-safe base64), so pages
stay consistent when items are added or removed between calls.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable

from google.api_core.exceptions import InvalidArgument


def page_size(requested: int, maximum: int) -> int:
    """The page size to use: ``requested`` capped at ``maximum``, 0 meaning the maximum."""
    if requested < 0:
        raise InvalidArgument("page_size must not be negative.")
    return min(requested or maximum, maximum)


def decode_page_token(token: str) -> str | None:
    """The sort key a page token stands for (None for the first page); INVALID_ARGUMENT if bad."""
    if not token:
        return None
    try:
        return base64.urlsafe_b64decode(token.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidArgument("Invalid page_token.") from None


def paginate[T](
    items: list[T], key: Callable[[T], str], after: str | None, size: int
) -> tuple[list[T], str]:
    """One page of ``items`` (sorted by ``key``) after the key ``after``, and the next token."""
    if after is not None:
        items = [item for item in items if key(item) > after]
    page = items[:size]
    if len(items) <= size:
        return page, ""
    return page, base64.urlsafe_b64encode(key(page[-1]).encode()).decode()

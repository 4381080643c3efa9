"""Command-line specs of the form ``ID[:key=value,...]`` (``--queue``, ``--job``).

The caller checks the id itself; the settings are parsed here against a table of allowed keys and
the type each value has, with errors that name the problem and the allowed keys.
"""

from __future__ import annotations

from collections.abc import Mapping


def split_spec(text: str) -> tuple[str, str]:
    """Split ``ID[:key=value,...]`` into the id and the (possibly empty) settings text."""
    resource_id, _, rest = text.strip().partition(":")
    return resource_id, rest


def parse_settings(
    text: str, rest: str, kinds: Mapping[str, type], wording: Mapping[type, str]
) -> dict[str, int | float]:
    """Parse the ``key=value,...`` part ``rest`` of the spec ``text``; ValueError if bad.

    ``kinds`` maps each allowed key to the type of its value: ``int`` is read as an integer,
    anything else as a float. ``wording`` says what a value of each type should be, for errors
    (e.g. ``"an integer"``).
    """
    settings: dict[str, int | float] = {}
    for item in filter(None, (part.strip() for part in rest.split(","))):
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or key not in kinds:
            raise ValueError(
                f"invalid setting {item!r} in {text!r}: use key=value with key one of "
                f"{', '.join(kinds)}."
            )
        kind = kinds[key]
        try:
            settings[key] = int(raw) if kind is int else float(raw)
        except ValueError:
            raise ValueError(
                f"invalid value for {key} in {text!r}: {raw!r} is not {wording[kind]}."
            ) from None
    return settings

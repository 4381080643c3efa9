"""Command-line specs of the form ``ID[:key=value,...]`` (``--queue``, ``--job``).

A ``SpecFormat`` checks the id with the service's own rule and parses the settings against a table
of allowed keys and the type each value has, with errors that name the problem and the allowed keys.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from google.api_core.exceptions import GoogleAPICallError


@dataclass(frozen=True)
class SpecFormat:
    """The ``ID[:key=value,...]`` specs of one kind of resource.

    ``check_id`` raises the service's GoogleAPICallError for an id it refuses; the ValueError then
    says ``id_rule`` (what an id may be). ``kinds`` maps each allowed key to the type of its value:
    ``int`` is read as an integer, anything else as a float. ``wording`` says what a value of each
    type should be, for errors (e.g. ``"an integer"``).
    """

    noun: str  # "queue", "job"
    check_id: Callable[[str], object]
    id_rule: str
    kinds: Mapping[str, type]
    wording: Mapping[type, str]

    def parse(self, text: str) -> tuple[str, dict[str, int | float]]:
        """The id and settings of ``text``; ValueError naming the problem (and the allowed keys)."""
        resource_id, _, rest = text.strip().partition(":")
        try:
            self.check_id(resource_id)
        except GoogleAPICallError:
            raise ValueError(
                f"invalid {self.noun} id {resource_id!r} in {text!r}: {self.id_rule}"
            ) from None
        return resource_id, self._settings(text, rest)

    def _settings(self, text: str, rest: str) -> dict[str, int | float]:
        settings: dict[str, int | float] = {}
        for item in filter(None, (part.strip() for part in rest.split(","))):
            key, sep, raw = item.partition("=")
            key = key.strip()
            if not sep or key not in self.kinds:
                raise ValueError(
                    f"invalid setting {item!r} in {text!r}: use key=value with key one of "
                    f"{', '.join(self.kinds)}."
                )
            kind = self.kinds[key]
            try:
                settings[key] = int(raw) if kind is int else float(raw)
            except ValueError:
                raise ValueError(
                    f"invalid value for {key} in {text!r}: {raw!r} is not {self.wording[kind]}."
                ) from None
        return settings

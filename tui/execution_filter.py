"""What the execution list shows: a status, a backend, a queue, a task path and free text.

The search line takes the same filters as words: ``backend:NAME``, ``queue:NAME``,
``task:PART``, ``status:NAME``; every other word is free text. So ``queue:emails send``
shows the executions of the ``emails`` queue whose task path (or id, or progress message)
contains ``send``.
"""

from dataclasses import dataclass, replace

from django.db.models import Q, QuerySet

from tui.status_labels import CANCELLED, DISPLAY_ORDER

#: The words that name a field filter, and the field each one narrows.
FIELD_WORDS = ("backend", "queue", "task", "status")


class FilterError(ValueError):
    """A search line that names a filter wrongly (e.g. an unknown status)."""


@dataclass(frozen=True)
class ExecutionFilter:
    """One status (or all), exact backend and queue, a task path part, and free text."""

    status: str | None = None  # a key of DISPLAY_ORDER, or None for all
    text: str = ""
    backend: str = ""
    queue: str = ""
    task: str = ""

    @classmethod
    def parse(cls, line: str, status: str | None = None) -> "ExecutionFilter":
        """The filter a search line asks for; `status` applies unless the line names one.

        Raises FilterError for an unknown status or a field word without a value.
        """
        flt, problems = cls.parse_leniently(line, status)
        if problems:
            raise FilterError("; ".join(problems))
        return flt

    @classmethod
    def parse_leniently(
        cls, line: str, status: str | None = None
    ) -> tuple["ExecutionFilter", list[str]]:
        """Like `parse`, but a bad word is left out (and described) instead of raising, so a
        line still being typed (``status:``) filters by the rest of it."""
        fields: dict[str, str] = {}
        words: list[str] = []
        problems: list[str] = []
        for word in line.split():
            name, colon, value = word.partition(":")
            name = name.lower()
            if not colon or name not in FIELD_WORDS:
                words.append(word)
            elif not value:
                problems.append(f"{name}: needs a value, e.g. {name}:default")
            elif name == "status":
                try:
                    status = _status(value)
                except FilterError as error:
                    problems.append(str(error))
            else:
                fields[name] = value
        return cls(status=status, text=" ".join(words), **fields), problems

    def with_status(self, status: str | None) -> "ExecutionFilter":
        return replace(self, status=status)

    def apply(self, rows: QuerySet) -> QuerySet:
        """Narrow a TaskExecution queryset to this filter."""
        if self.status == CANCELLED:
            rows = rows.filter(status="FAILED", cancelled_at__isnull=False)
        elif self.status == "FAILED":
            rows = rows.filter(status="FAILED", cancelled_at__isnull=True)
        elif self.status:
            rows = rows.filter(status=self.status)
        if self.backend:
            rows = rows.filter(backend=self.backend)
        if self.queue:
            rows = rows.filter(queue=self.queue)
        if self.task:
            rows = rows.filter(task_path__icontains=self.task)
        text = self.text.strip()
        if text:
            rows = rows.filter(
                Q(task_path__icontains=text)
                | Q(id__startswith=text.lower())
                | Q(queue__iexact=text)
                | Q(backend__iexact=text)
                | Q(progress_message__icontains=text)
            )
        return rows

    def describe(self) -> str:
        """The filter in words, as the header shows it."""
        parts = [f"status={self.status}" if self.status else "all statuses"]
        for name in ("backend", "queue", "task"):
            value = getattr(self, name)
            if value:
                parts.append(f"{name}={value}")
        if self.text.strip():
            parts.append(f"text={self.text.strip()!r}")
        return ", ".join(parts)


def _status(value: str) -> str | None:
    wanted = value.upper()
    if wanted == "ALL":
        return None
    matches = [s for s in DISPLAY_ORDER if s.startswith(wanted)]
    if len(matches) != 1:
        allowed = ", ".join(s.lower() for s in DISPLAY_ORDER)
        what = "is ambiguous" if matches else "is not a status"
        raise FilterError(f"status:{value} {what}; use one of {allowed} (or all)")
    return matches[0]

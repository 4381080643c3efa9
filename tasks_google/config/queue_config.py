"""`OPTIONS["queue_config"]`: each Cloud Tasks queue's retry and rate settings, and their rules.

The keys are those of the emulator's `--queue` spec (`emulator/cloud_tasks/queue_specs.py`); the
bounds are Google's (FIDELITY T5, T6). The emulator keeps its own copy of Google's bounds
(`emulator/cloud_tasks/retry.py`), which tasks_google may not import outside its test API; this
module is the one place tasks_google defines them, and a test holds the two copies equal.
"""

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

#: Cloud Tasks' fastest dispatch rate, per queue (tasks per second).
MAX_DISPATCHES_PER_SECOND = 500.0
#: Cloud Tasks' most concurrent dispatches, per queue.
MAX_CONCURRENT_DISPATCHES = 5000
#: `max_attempts` that never gives up.
UNLIMITED_ATTEMPTS = -1

#: The value kinds of the settings: what the type check accepts and the words that say so.
INT, SECONDS, NUMBER = "int", "seconds", "number"
_KIND_WORDS = {INT: "a whole number", SECONDS: "a number of seconds", NUMBER: "a number"}


@dataclass(frozen=True)
class QueueSetting:
    """One key of a queue's settings: the Queue field it sets, its kind, Google's rule."""

    key: str
    path: str  # the UpdateQueue field mask path
    kind: str  # INT, SECONDS or NUMBER
    allows: Callable[[int | float], bool]
    rule: str

    @property
    def kind_words(self) -> str:
        return _KIND_WORDS[self.kind]


#: Every key a queue's settings may hold, in the order plans and specs list them.
QUEUE_SETTINGS: Mapping[str, QueueSetting] = {
    setting.key: setting
    for setting in (
        QueueSetting(
            "max_attempts", "retry_config.max_attempts", INT,
            lambda v: v == UNLIMITED_ATTEMPTS or v >= 1,
            "at least 1, or -1 for unlimited (0 reads as unset: Cloud Tasks' default, 100)",
        ),
        QueueSetting(
            "min_backoff", "retry_config.min_backoff", SECONDS, lambda v: v >= 0, "0 or more"
        ),
        QueueSetting(
            "max_backoff", "retry_config.max_backoff", SECONDS, lambda v: v >= 0, "0 or more"
        ),
        QueueSetting(
            "max_doublings", "retry_config.max_doublings", INT, lambda v: v >= 1,
            "at least 1 (0 reads as unset: Cloud Tasks' default, 16)",
        ),
        QueueSetting(
            "max_retry_duration", "retry_config.max_retry_duration", SECONDS, lambda v: v >= 0,
            "0 or more (0: no time limit)",
        ),
        QueueSetting(
            "max_dispatches_per_second", "rate_limits.max_dispatches_per_second", NUMBER,
            lambda v: 0 < v <= MAX_DISPATCHES_PER_SECOND,
            f"above 0 and at most {MAX_DISPATCHES_PER_SECOND:g}",
        ),
        QueueSetting(
            "max_concurrent_dispatches", "rate_limits.max_concurrent_dispatches", INT,
            lambda v: 1 <= v <= MAX_CONCURRENT_DISPATCHES,
            f"from 1 to {MAX_CONCURRENT_DISPATCHES}",
        ),
    )
}  # fmt: skip

#: One queue's settings, validated: key -> int or float (durations in seconds).
QueueSettings = Mapping[str, int | float]


def _has_kind(value: Any, kind: str) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return isinstance(value, int) if kind == INT else math.isfinite(value)


def is_queue_config(value: Any) -> bool:
    """Whether `value` has the shape of `queue_config`: queue names (str) to dicts."""
    return isinstance(value, Mapping) and all(
        isinstance(name, str) and isinstance(settings, Mapping) for name, settings in value.items()
    )


#: Reports one problem: its system-check id, message and hint (`options._Reading.report`).
Report = Callable[[str, str, str | None], None]


def report_queue_config_problems(
    where: str, config: Mapping[str, Mapping[str, Any]], queues: set[str], report: Report
) -> None:
    """Report the problems of a `queue_config` of the right shape (`where`: its OPTIONS)."""
    allowed_queues = ", ".join(repr(q) for q in sorted(queues))
    for name, settings in config.items():
        source = f"{where}['queue_config'][{name!r}]"
        if name not in queues:
            report(
                "tasks_google.E023",
                f"{source} names a queue that is not in the backend's QUEUES.",
                f"Allowed queues: {allowed_queues}.",
            )
        _report_settings_problems(source, settings, report)


def _report_settings_problems(source: str, settings: Mapping[str, Any], report: Report) -> None:
    for key, value in settings.items():
        setting = QUEUE_SETTINGS.get(key)
        if setting is None:
            report(
                "tasks_google.E024",
                f"{source} has an unknown key {key!r}.",
                "Allowed keys: " + ", ".join(QUEUE_SETTINGS) + ".",
            )
        elif not _has_kind(value, setting.kind):
            message = f"{source}[{key!r}] = {value!r} must be {setting.kind_words}."
            report("tasks_google.E025", message, None)
        elif not setting.allows(value):
            message = f"{source}[{key!r}] = {value!r} is outside what Cloud Tasks allows"
            report("tasks_google.E026", f"{message}: {setting.rule}.", None)
    low, high = settings.get("min_backoff"), settings.get("max_backoff")
    if _has_kind(low, SECONDS) and _has_kind(high, SECONDS) and low > high:
        report(
            "tasks_google.E026",
            f"{source}['min_backoff'] ({low!r}) must not be greater than 'max_backoff' ({high!r}).",
            "Cloud Tasks refuses a queue whose min_backoff is above its max_backoff.",
        )


def queue_spec(queue_id: str, settings: QueueSettings) -> str:
    """The emulator's `--queue` spec for a queue: `QUEUE_ID[:key=value,...]`."""
    if not settings:
        return queue_id
    return f"{queue_id}:" + ",".join(f"{key}={value!r}" for key, value in settings.items())

"""`sync_queues`' plan: what Cloud Tasks must change for its queues to match `queue_config`.

For every Cloud Tasks backend in TASKS, each queue of its `OPTIONS["queue_config"]` is compared,
in the configured keys only, with the queue Cloud Tasks has: created if missing, updated (with a
field mask naming only the configured keys) if a key differs. Queues of the same locations that
no `queue_config` names are listed and left alone: a sync never deletes a queue.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from django.core.exceptions import ImproperlyConfigured
from google.api_core.exceptions import GoogleAPICallError

from tasks_google.backends.stored import StoredExecutionBackend, configured_backends
from tasks_google.config.options import CLOUD_TASKS
from tasks_google.config.queue_config import QUEUE_SETTINGS, SECONDS, QueueSettings
from tasks_google.transports import Transport
from tasks_google.transports.queue_messages import queue_settings


@dataclass(frozen=True)
class QueueLine:
    """One queue of the plan: "+" create, "~" update, "=" unchanged, "?" not configured."""

    action: str
    path: str
    #: The configured settings ("+", "~", "="); empty for "?".
    settings: QueueSettings = field(default_factory=dict)
    #: "key: old -> new" for each configured key that differs ("~").
    changes: tuple[str, ...] = ()
    transport: Transport | None = field(default=None, compare=False, repr=False)

    def __str__(self) -> str:
        if self.action == "+":
            shown = ", ".join(f"{key}={show(key, value)}" for key, value in self.settings.items())
            return f"[+] {self.path}  {shown}"
        if self.action == "~":
            return f"[~] {self.path}  {', '.join(self.changes)}"
        if self.action == "?":
            return f"[?] {self.path} (not in queue_config; left alone)"
        return f"[=] {self.path}"


class QueueSyncFailed(Exception):
    """Cloud Tasks refused a change of the plan."""


def show(key: str, value: int | float) -> str:
    """A setting's value as a plan prints it: whole floats without '.0', durations with 's'."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"{value}s" if QUEUE_SETTINGS[key].kind == SECONDS else str(value)


def _same(key: str, wanted: int | float, current: int | float) -> bool:
    if QUEUE_SETTINGS[key].kind == SECONDS:
        return timedelta(seconds=wanted) == timedelta(seconds=current)
    return wanted == current


def cloud_tasks_backends() -> list[StoredExecutionBackend]:
    """Every Cloud Tasks backend of TASKS; ImproperlyConfigured, naming the problems, if one of
    them has invalid OPTIONS (a sync must not skip a queue it was told to configure)."""
    from tasks_google.backends.cloud_tasks import CloudTasksBackend
    from tasks_google.framework import task_backends

    for alias in task_backends:
        try:
            backend = task_backends[alias]
        except Exception:
            continue  # an alias that cannot be built: `manage.py check` reports it
        if isinstance(backend, CloudTasksBackend) and backend._parsed[0] is None:
            backend.config  # noqa: B018 - raises ImproperlyConfigured naming every problem
    return configured_backends(CLOUD_TASKS)


def wanted_queues() -> dict[str, tuple[QueueSettings, StoredExecutionBackend]]:
    """Queue path -> its configured settings and the backend configuring it."""
    wanted: dict[str, tuple[QueueSettings, StoredExecutionBackend]] = {}
    for backend in cloud_tasks_backends():
        config = backend.config
        for name, settings in sorted(config.queue_config.items()):
            path = config.queue_path(name)
            if path in wanted and dict(wanted[path][0]) != dict(settings):
                raise ImproperlyConfigured(
                    f"TASKS[{wanted[path][1].alias!r}] and TASKS[{backend.alias!r}] configure "
                    f"the Cloud Tasks queue {path} with different settings in 'queue_config'."
                )
            wanted.setdefault(path, (settings, backend))
    return wanted


def differences(settings: QueueSettings, current: Mapping[str, int | float]) -> tuple[str, ...]:
    """ "key: current -> configured" for each configured key in which the queue differs."""
    return tuple(
        f"{key}: {show(key, current[key])} -> {show(key, value)}"
        for key, value in settings.items()
        if not _same(key, value, current[key])
    )


def _line(
    path: str, settings: QueueSettings, current: Mapping[str, int | float] | None, t: Transport
) -> QueueLine:
    if current is None:
        return QueueLine("+", path, settings, transport=t)
    changes = differences(settings, current)
    return QueueLine("~" if changes else "=", path, settings, changes, t)


def plan() -> list[QueueLine]:
    """Compare every configured queue with Cloud Tasks; list the locations' other queues."""
    wanted = wanted_queues()
    locations: dict[tuple[str, str], StoredExecutionBackend] = {}
    for backend in cloud_tasks_backends():
        target = backend.target
        key = (f"{target.kind}:{target.emulator_host}", backend.config.location_path)
        locations.setdefault(key, backend)
    lines = []
    for (_, location), backend in sorted(locations.items()):
        transport = backend.transport
        existing = {queue.name: queue for queue in transport.list_queues(location)}
        for path in sorted(set(existing) | {p for p in wanted if p.startswith(location + "/")}):
            if path not in wanted:
                lines.append(QueueLine("?", path))
                continue
            settings, owner = wanted[path]
            queue = existing.get(path)
            current = None if queue is None else queue_settings(queue, settings)
            lines.append(_line(path, settings, current, owner.transport))
    return lines


_VERBS = {"+": "create", "~": "update"}


def apply(lines: list[QueueLine]) -> int:
    """Create the missing queues and update those that differ; return how many changed.

    Raises QueueSyncFailed, naming the queue and how much was applied before, if Cloud Tasks
    refuses a change.
    """
    applied = 0
    for line in lines:
        if line.action not in _VERBS:
            continue
        assert line.transport is not None
        try:
            if line.action == "+":
                line.transport.create_queue(line.path, line.settings)
            else:
                line.transport.update_queue(line.path, line.settings)
        except GoogleAPICallError as exc:
            raise QueueSyncFailed(
                f"Cloud Tasks refused to {_VERBS[line.action]} queue {line.path}: {exc.message} "
                f"({applied} change(s) applied before it, none after)."
            ) from exc
        applied += 1
    return applied

"""Fault injection: an ordered list of rules that make the emulated cloud misbehave on purpose.

A rule names a service, an operation (``"dispatch"`` for a delivery, or an RPC name such as
``"CreateTask"``), optionally a queue, and an effect. When an operation happens, the first enabled
rule that matches it, still has firings left (``count``) and wins its ``probability`` roll
decides what goes wrong; a rule that loses its roll lets the next rules try. The roll uses a
seedable random generator, so a seeded run misbehaves the same way every time.

The rules and their JSON form are shared by ``LocalCloud.faults`` and the control API.
"""

from __future__ import annotations

import random
import signal as _signal
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import grpc
from google.api_core import exceptions as api_exceptions

CLOUD_TASKS = "cloud_tasks"
DISPATCH = "dispatch"
RUN_JOBS = "run_jobs"
ATTEMPT = "attempt"
"""Cloud Run Jobs: a task attempt starting (``KillAttempt`` and ``DelayStart`` apply to it)."""
SCHEDULER = "scheduler"
FIRE = "fire"
"""Cloud Scheduler: a scheduled slot falling due (``DropFire``, ``FireLate``, ``Duplicate``)."""

CLOUD_TASKS_RPCS = frozenset(
    {
        "ListQueues",
        "GetQueue",
        "CreateQueue",
        "UpdateQueue",
        "DeleteQueue",
        "PurgeQueue",
        "PauseQueue",
        "ResumeQueue",
        "ListTasks",
        "GetTask",
        "CreateTask",
        "DeleteTask",
        "RunTask",
        "TestIamPermissions",
    }
)
RUN_JOBS_RPCS = frozenset(
    {
        "CreateJob",
        "GetJob",
        "ListJobs",
        "UpdateJob",
        "DeleteJob",
        "RunJob",
        "GetExecution",
        "ListExecutions",
        "DeleteExecution",
        "CancelExecution",
        "GetTask",
        "ListTasks",
        "TestIamPermissions",
    }
)
SCHEDULER_RPCS = frozenset(
    {
        "ListJobs",
        "GetJob",
        "CreateJob",
        "UpdateJob",
        "DeleteJob",
        "PauseJob",
        "ResumeJob",
        "RunJob",
    }
)
OPERATIONS: Mapping[str, frozenset[str]] = {
    CLOUD_TASKS: CLOUD_TASKS_RPCS | {DISPATCH},
    RUN_JOBS: RUN_JOBS_RPCS | {ATTEMPT},
    SCHEDULER: SCHEDULER_RPCS | {FIRE, DISPATCH},
}
"""The operations a rule can name, per service."""
FORMER_SERVICE_NAMES = {"cloudtasks": CLOUD_TASKS, "run": RUN_JOBS}
"""Service names of earlier versions, still accepted in rules and read as today's."""


@dataclass(frozen=True)
class HttpStatus:
    """Dispatch: answer with this status (and headers) instead of calling the handler."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Timeout:
    """Dispatch: the handler is not called and the attempt ends with no response at its deadline."""


@dataclass(frozen=True)
class Duplicate:
    """Dispatch: deliver the request twice (T12); the original's response settles the attempt."""


@dataclass(frozen=True)
class Latency:
    """Dispatch: wait this long before calling the handler; the wait counts toward the deadline."""

    seconds: float


INJECTED_FAULT_MARKER = "Injected fault"
"""Every injected RPC error's message holds this, so a client can tell it from a real outage (an
``UNAVAILABLE`` the emulator injects from an emulator that is not running)."""


@dataclass(frozen=True)
class RpcError:
    """RPC: fail with this gRPC status code name (e.g. ``"UNAVAILABLE"``) and message (prefixed
    with ``INJECTED_FAULT_MARKER`` unless it holds it already)."""

    code: str
    message: str = f"{INJECTED_FAULT_MARKER}."

    def exception(self) -> api_exceptions.GoogleAPICallError:
        """The ``google.api_core`` exception the official client raises for this status."""
        message = self.message
        if INJECTED_FAULT_MARKER not in message:
            message = f"{INJECTED_FAULT_MARKER}: {message}"
        return api_exceptions.from_grpc_status(grpc.StatusCode[self.code], message)


@dataclass(frozen=True)
class KillAttempt:
    """Run attempt: send ``signal`` (a number or a ``signal.Signals``) to the attempt's process
    tree ``after_seconds`` after it started; SIGKILL follows after the kill grace if it lives."""

    signal: int = _signal.SIGKILL
    after_seconds: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "signal", int(self.signal))


@dataclass(frozen=True)
class DelayStart:
    """Run attempt: start the attempt's process this many seconds late."""

    seconds: float


@dataclass(frozen=True)
class DropFire:
    """Scheduler fire: the slot passes without a request (as if the scheduler missed it)."""


@dataclass(frozen=True)
class FireLate:
    """Scheduler fire: the slot's first attempt is sent this many seconds late (same
    ``X-CloudScheduler-ScheduleTime``)."""

    seconds: float


TEST_IAM_PERMISSIONS = "TestIamPermissions"
"""The RPC a ``DenyPermissions`` effect applies to (Cloud Tasks and Run Jobs)."""


@dataclass(frozen=True)
class DenyPermissions:
    """TestIamPermissions: leave these permissions out of the answer, as for a caller not
    granted them (none given: every permission is denied)."""

    permissions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "permissions", tuple(self.permissions))

    def denies(self, permission: str) -> bool:
        """Whether the caller is refused ``permission``."""
        return not self.permissions or permission in self.permissions


Effect = (
    HttpStatus
    | Timeout
    | Duplicate
    | Latency
    | RpcError
    | KillAttempt
    | DelayStart
    | DropFire
    | FireLate
    | DenyPermissions
)
DISPATCH_EFFECTS = (HttpStatus, Timeout, Duplicate, Latency)
ATTEMPT_EFFECTS = (KillAttempt, DelayStart)
FIRE_EFFECTS = (DropFire, FireLate, Duplicate)
_EFFECT_TYPES: dict[str, type] = {
    "http_status": HttpStatus,
    "timeout": Timeout,
    "duplicate": Duplicate,
    "latency": Latency,
    "rpc_error": RpcError,
    "kill_attempt": KillAttempt,
    "delay_start": DelayStart,
    "drop_fire": DropFire,
    "fire_late": FireLate,
    "deny_permissions": DenyPermissions,
}
_TYPE_NAMES = {cls: name for name, cls in _EFFECT_TYPES.items()}


_EFFECTS_OF_OPERATION: dict[str, tuple[tuple[type, ...], str]] = {
    DISPATCH: (
        DISPATCH_EFFECTS,
        "A 'dispatch' fault needs an HttpStatus, Timeout, Duplicate or Latency effect",
    ),
    FIRE: (FIRE_EFFECTS, "A 'fire' fault needs a DropFire, FireLate or Duplicate effect"),
    ATTEMPT: (ATTEMPT_EFFECTS, "An 'attempt' fault needs a KillAttempt or DelayStart effect"),
    TEST_IAM_PERMISSIONS: (
        (RpcError, DenyPermissions),
        "A 'TestIamPermissions' fault needs an RpcError or DenyPermissions effect",
    ),
}
"""The effects an event (or TestIamPermissions) can take, and the error for another one; any
other RPC takes an RpcError."""


@dataclass(frozen=True, kw_only=True)
class FaultRule:
    """When ``operation`` of ``service`` happens (on ``queue``, if set), apply ``effect``.

    ``queue`` is a short queue id or a full queue name (None = any queue); ``job`` likewise a
    short job id or a full job name (None = any job). ``count`` is how many times the rule fires
    (None = unlimited); ``probability`` is the chance it fires each time it matches. Invalid
    combinations raise ValueError naming the field.
    """

    service: str = CLOUD_TASKS
    operation: str
    queue: str | None = None
    job: str | None = None
    probability: float = 1.0
    count: int | None = None
    enabled: bool = True
    effect: Effect

    def __post_init__(self) -> None:
        if self.service in FORMER_SERVICE_NAMES:
            object.__setattr__(self, "service", FORMER_SERVICE_NAMES[self.service])
        operations = OPERATIONS.get(self.service)
        if operations is None:
            raise ValueError(
                f"FaultRule.service {self.service!r} is not emulated; use one of "
                f"{sorted(OPERATIONS)}."
            )
        if self.operation not in operations:
            events = sorted(op for op in operations if op.islower())  # RPC names are CamelCase
            rpcs = ", ".join(sorted(operations.difference(events)))
            raise ValueError(
                f"FaultRule.operation {self.operation!r} is not an operation of {self.service}; "
                f"use {' or '.join(map(repr, events))} or an RPC name ({rpcs})."
            )
        if self.service != CLOUD_TASKS and self.queue is not None:
            raise ValueError(
                f"FaultRule.queue does not apply to service '{self.service}'; use job."
            )
        if not 0.0 <= self.probability <= 1.0:
            raise ValueError(f"FaultRule.probability must be in [0, 1], got {self.probability}.")
        if self.count is not None and self.count < 1:
            raise ValueError(f"FaultRule.count must be at least 1 (or None), got {self.count}.")
        allowed, needs = _EFFECTS_OF_OPERATION.get(
            self.operation,
            ((RpcError,), f"An RPC fault ({self.operation}) needs an RpcError effect"),
        )
        if not isinstance(self.effect, allowed):
            raise ValueError(f"{needs}, not {type(self.effect).__name__}.")
        _check_effect(self.effect)

    def matches(
        self, service: str, operation: str, queue: str | None, job: str | None = None
    ) -> bool:
        """True if this rule is about ``operation`` on ``queue`` / ``job`` (full names or None)."""
        if self.service != service or self.operation != operation:
            return False
        if self.job is not None and (job is None or self.job not in (job, job.rsplit("/", 1)[-1])):
            return False
        if self.queue is None:
            return True
        if queue is None:
            return False
        return self.queue in (queue, queue.rsplit("/queues/", 1)[-1])


def _check_effect(effect: Effect) -> None:
    if isinstance(effect, HttpStatus) and not 100 <= effect.status <= 599:
        raise ValueError(
            f"HttpStatus.status must be an HTTP status (100-599), got {effect.status}."
        )
    if isinstance(effect, Latency) and not effect.seconds >= 0:
        raise ValueError(f"Latency.seconds must not be negative, got {effect.seconds}.")
    if isinstance(effect, KillAttempt):
        if effect.signal not in {int(s) for s in _signal.valid_signals()}:
            raise ValueError(f"KillAttempt.signal {effect.signal} is not a signal number.")
        if not effect.after_seconds >= 0:
            raise ValueError(
                f"KillAttempt.after_seconds must not be negative, got {effect.after_seconds}."
            )
    if isinstance(effect, DelayStart) and not effect.seconds >= 0:
        raise ValueError(f"DelayStart.seconds must not be negative, got {effect.seconds}.")
    if isinstance(effect, FireLate) and not effect.seconds >= 0:
        raise ValueError(f"FireLate.seconds must not be negative, got {effect.seconds}.")
    if isinstance(effect, DenyPermissions) and not all(
        isinstance(p, str) and p for p in effect.permissions
    ):
        raise ValueError(
            f"DenyPermissions.permissions must be permission names, got {effect.permissions!r}."
        )
    if isinstance(effect, RpcError):
        codes = [c.name for c in grpc.StatusCode if c is not grpc.StatusCode.OK]
        if effect.code not in codes:
            raise ValueError(
                f"RpcError.code {effect.code!r} is not a gRPC status code; use one of "
                f"{', '.join(codes)}."
            )


@dataclass(frozen=True)
class ActiveFault:
    """A rule in the list, with its id and how many times it has fired."""

    id: str
    rule: FaultRule
    fired: int = 0

    @property
    def exhausted(self) -> bool:
        """True once the rule has fired ``count`` times."""
        return self.rule.count is not None and self.fired >= self.rule.count

    def to_json(self) -> dict[str, Any]:
        """The control API's representation: the rule's fields plus id and fired."""
        return {"id": self.id, **rule_to_json(self.rule), "fired": self.fired}


class Faults:
    """The ordered, thread-safe list of fault rules of one emulated cloud."""

    def __init__(self, seed: int | None = None) -> None:
        self._lock = threading.Lock()
        self._rules: dict[str, ActiveFault] = {}
        self._next_id = 1
        self._random = random.Random(seed)
        self._listeners: list[Callable[[], None]] = []

    def add(self, rule: FaultRule) -> str:
        """Append ``rule`` (it is tried after the existing ones); return its id."""
        with self._lock:
            fault_id = f"f{self._next_id}"
            self._next_id += 1
            self._rules[fault_id] = ActiveFault(fault_id, rule)
        self._changed()
        return fault_id

    def remove(self, fault_id: str) -> None:
        """Remove a rule; KeyError if there is no such id."""
        with self._lock:
            self._get(fault_id)
            del self._rules[fault_id]
        self._changed()

    def set_enabled(self, fault_id: str, enabled: bool) -> None:
        """Switch a rule on or off without losing its place or its count."""
        with self._lock:
            fault = self._get(fault_id)
            self._rules[fault_id] = replace(fault, rule=replace(fault.rule, enabled=enabled))
        self._changed()

    def clear(self) -> None:
        """Remove every rule."""
        with self._lock:
            self._rules.clear()
        self._changed()

    def list(self) -> list[ActiveFault]:
        """The rules in the order they are tried."""
        with self._lock:
            return list(self._rules.values())

    def get(self, fault_id: str) -> ActiveFault:
        """One rule; KeyError if there is no such id."""
        with self._lock:
            return self._get(fault_id)

    def seed(self, seed: int | None) -> None:
        """Restart the random generator behind ``probability``."""
        with self._lock:
            self._random.seed(seed)

    def subscribe(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` (no arguments, must not block) after every change to the list."""
        self._listeners.append(listener)

    def pick(
        self, service: str, operation: str, queue: str | None = None, *, job: str | None = None
    ) -> Effect | None:
        """The effect to apply to this occurrence of ``operation``, counting the firing; or None."""
        with self._lock:
            if not self._rules:
                return None
            for fault in self._rules.values():
                rule = fault.rule
                if not rule.enabled or fault.exhausted:
                    continue
                if not rule.matches(service, operation, queue, job):
                    continue
                if rule.probability < 1.0 and self._random.random() >= rule.probability:
                    continue
                self._rules[fault.id] = replace(fault, fired=fault.fired + 1)
                return rule.effect
            return None

    def check_rpc(
        self, service: str, operation: str, *, queue: str | None = None, job: str | None = None
    ) -> Effect | None:
        """Before an RPC runs: raise the error of a matching ``RpcError`` rule; return another
        matching effect (e.g. ``DenyPermissions``), or None."""
        effect = self.pick(service, operation, queue, job=job)
        if isinstance(effect, RpcError):
            raise effect.exception()
        return effect

    def _get(self, fault_id: str) -> ActiveFault:
        fault = self._rules.get(fault_id)
        if fault is None:
            raise KeyError(f"No fault rule with id {fault_id!r}.")
        return fault

    def _changed(self) -> None:
        for listener in list(self._listeners):
            listener()


# ------------------------------------------------------------------------------------ JSON


def rule_to_json(rule: FaultRule) -> dict[str, Any]:
    """A rule as a JSON-able dict (the control API's format)."""
    return {
        "service": rule.service,
        "operation": rule.operation,
        "queue": rule.queue,
        "job": rule.job,
        "probability": rule.probability,
        "count": rule.count,
        "enabled": rule.enabled,
        "effect": effect_to_json(rule.effect),
    }


def effect_to_json(effect: Effect) -> dict[str, Any]:
    """An effect as ``{"type": ..., <fields>}``."""
    data: dict[str, Any] = {"type": _TYPE_NAMES[type(effect)]}
    if isinstance(effect, HttpStatus):
        data.update(status=effect.status, headers=dict(effect.headers))
    elif isinstance(effect, Latency):
        data["seconds"] = effect.seconds
    elif isinstance(effect, RpcError):
        data.update(code=effect.code, message=effect.message)
    elif isinstance(effect, KillAttempt):
        data.update(signal=_signal.Signals(effect.signal).name, after_seconds=effect.after_seconds)
    elif isinstance(effect, DelayStart | FireLate):
        data["seconds"] = effect.seconds
    elif isinstance(effect, DenyPermissions):
        data["permissions"] = list(effect.permissions)
    return data


def rule_from_json(data: object) -> FaultRule:
    """Parse the control API's JSON form of a rule; ValueError with a clear message if invalid."""
    if not isinstance(data, dict):
        raise ValueError("A fault rule must be a JSON object.")
    known = {"service", "operation", "queue", "job", "probability", "count", "enabled", "effect"}
    unknown = sorted(set(data) - known - {"id", "fired"})
    if unknown:
        raise ValueError(f"Unknown fault rule field(s): {', '.join(unknown)}.")
    if "operation" not in data or "effect" not in data:
        raise ValueError("A fault rule needs 'operation' and 'effect'.")
    return FaultRule(
        service=_typed(data, "service", str, CLOUD_TASKS),
        operation=_typed(data, "operation", str),
        queue=_typed(data, "queue", str, None),
        job=_typed(data, "job", str, None),
        probability=float(_typed(data, "probability", (int, float), 1.0)),
        count=_typed(data, "count", int, None),
        enabled=_typed(data, "enabled", bool, True),
        effect=effect_from_json(data["effect"]),
    )


def effect_from_json(data: object) -> Effect:
    """Parse ``{"type": ..., <fields>}``; ValueError with a clear message if invalid."""
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        raise ValueError(
            f"A fault effect must be an object with a 'type' ({', '.join(_EFFECT_TYPES)})."
        )
    kind = data["type"]
    if kind not in _EFFECT_TYPES:
        raise ValueError(
            f"Unknown fault effect type {kind!r}; use one of {', '.join(_EFFECT_TYPES)}."
        )
    if kind == "http_status":
        headers = _typed(data, "headers", dict, {})
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items()):
            raise ValueError("effect.headers must map header names to string values.")
        return HttpStatus(status=_typed(data, "status", int), headers=headers)
    if kind == "latency":
        return Latency(seconds=float(_typed(data, "seconds", (int, float))))
    if kind == "rpc_error":
        return RpcError(
            code=_typed(data, "code", str),
            message=_typed(data, "message", str, RpcError.message),
        )
    if kind == "fire_late":
        return FireLate(seconds=float(_typed(data, "seconds", (int, float))))
    if kind == "kill_attempt":
        return KillAttempt(
            signal=_signal_number(_typed(data, "signal", (str, int), "SIGKILL")),
            after_seconds=float(_typed(data, "after_seconds", (int, float), 0.0)),
        )
    if kind == "delay_start":
        return DelayStart(seconds=float(_typed(data, "seconds", (int, float))))
    if kind == "deny_permissions":
        permissions = _typed(data, "permissions", list, [])
        if not all(isinstance(p, str) for p in permissions):
            raise ValueError("effect.permissions must be a list of permission names.")
        return DenyPermissions(tuple(permissions))
    return _EFFECT_TYPES[kind]()


def _signal_number(value: str | int) -> int:
    """A signal given by name (``"SIGTERM"``, ``"TERM"``) or number; ValueError if unknown."""
    if isinstance(value, int):
        return value
    name = value.upper() if value.upper().startswith("SIG") else "SIG" + value.upper()
    try:
        return int(_signal.Signals[name])
    except KeyError:
        raise ValueError(
            f"effect.signal {value!r} is not a signal name (e.g. 'SIGKILL')."
        ) from None


_REQUIRED = object()


def _typed(data: dict, key: str, kind: type | tuple[type, ...], default: Any = _REQUIRED) -> Any:
    if key not in data or (data[key] is None and default is None):
        if default is _REQUIRED:
            raise ValueError(f"Fault field {key!r} is required.")
        return default
    value = data[key]
    # bool is an int subclass: refuse true/false where a number is expected.
    if isinstance(value, bool) and kind is not bool:
        raise ValueError(f"Fault field {key!r} must be {_kind_name(kind)}, not a boolean.")
    if not isinstance(value, kind):
        raise ValueError(f"Fault field {key!r} must be {_kind_name(kind)}, got {value!r}.")
    return value


def _kind_name(kind: type | tuple[type, ...]) -> str:
    names = {
        str: "a string",
        int: "an integer",
        bool: "a boolean",
        dict: "an object",
        list: "a list",
    }
    if kind == (str, int):
        return "a signal name or number"
    if isinstance(kind, tuple):
        return "a number"
    return names.get(kind, kind.__name__)

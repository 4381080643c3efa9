"""A local Google Cloud: Cloud Tasks, Cloud Scheduler and Cloud Run Jobs.

In process: ``LocalCloud`` on a ``VirtualClock``. As a server: ``emulator.server.start_server``
or ``python -m emulator``.
"""

import warnings
from typing import Any

from emulator.cloud import LocalCloud
from emulator.cloud_tasks import CloudTasksEngine
from emulator.kit.clock import Clock, VirtualClock, WallClock
from emulator.kit.delivery import Delivery, DeliveryRecord, DeliveryResult, Dispatcher
from emulator.kit.faults import (
    DelayStart,
    DenyPermissions,
    DropFire,
    Duplicate,
    FaultRule,
    Faults,
    FireLate,
    HttpStatus,
    KillAttempt,
    Latency,
    RpcError,
    Timeout,
)
from emulator.kit.oidc import OidcIssuer
from emulator.kit.store import MemoryStore, SqliteStore, Store
from emulator.run_jobs import RunJobsEngine
from emulator.scheduler import SchedulerEngine

__all__ = [
    "Clock",
    "CloudTasksEngine",
    "DelayStart",
    "Delivery",
    "DeliveryRecord",
    "DeliveryResult",
    "DenyPermissions",
    "Dispatcher",
    "DropFire",
    "Duplicate",
    "FaultRule",
    "Faults",
    "FireLate",
    "HttpStatus",
    "KillAttempt",
    "Latency",
    "LocalCloud",
    "MemoryStore",
    "OidcIssuer",
    "RpcError",
    "RunJobsEngine",
    "SchedulerEngine",
    "SqliteStore",
    "Store",
    "Timeout",
    "VirtualClock",
    "WallClock",
]


def __getattr__(name: str) -> Any:
    """``CloudSchedulerEngine``, the former name of ``SchedulerEngine`` (deprecated)."""
    if name == "CloudSchedulerEngine":
        warnings.warn(
            "emulator.CloudSchedulerEngine is now emulator.SchedulerEngine; the former name will "
            "be removed.",
            DeprecationWarning,
            stacklevel=2,
        )
        return SchedulerEngine
    raise AttributeError(f"module 'emulator' has no attribute {name!r}")

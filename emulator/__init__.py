"""A local Google Cloud: Cloud Tasks, Cloud Scheduler and Cloud Run Jobs.

In process: ``LocalCloud`` on a ``VirtualClock``. As a server: ``emulator.server.start_server``
or ``python -m emulator``.
"""

from emulator.clock import Clock, VirtualClock, WallClock
from emulator.cloud import LocalCloud
from emulator.cloud_tasks import CloudTasksEngine
from emulator.delivery import Delivery, DeliveryRecord, DeliveryResult, Dispatcher
from emulator.faults import (
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
from emulator.oidc import OidcIssuer
from emulator.run_jobs import RunJobsEngine
from emulator.scheduler import CloudSchedulerEngine
from emulator.store import MemoryStore, SqliteStore, Store

__all__ = [
    "Clock",
    "CloudSchedulerEngine",
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
    "SqliteStore",
    "Store",
    "Timeout",
    "VirtualClock",
    "WallClock",
]

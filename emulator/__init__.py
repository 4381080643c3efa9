"""A local Google Cloud: Cloud Tasks (and later Cloud Scheduler and Cloud Run Jobs).

In process: ``LocalCloud`` on a ``VirtualClock``. As a server: ``emulator.server.start_server``
or ``python -m emulator``.
"""

from emulator.clock import Clock, VirtualClock, WallClock
from emulator.cloud import LocalCloud
from emulator.cloud_tasks import CloudTasksEngine
from emulator.delivery import Delivery, DeliveryRecord, DeliveryResult, Dispatcher
from emulator.faults import (
    Duplicate,
    FaultRule,
    Faults,
    HttpStatus,
    Latency,
    RpcError,
    Timeout,
)
from emulator.oidc import OidcIssuer
from emulator.store import MemoryStore, SqliteStore, Store

__all__ = [
    "Clock",
    "CloudTasksEngine",
    "Delivery",
    "DeliveryRecord",
    "DeliveryResult",
    "Dispatcher",
    "Duplicate",
    "FaultRule",
    "Faults",
    "HttpStatus",
    "Latency",
    "LocalCloud",
    "MemoryStore",
    "OidcIssuer",
    "RpcError",
    "SqliteStore",
    "Store",
    "Timeout",
    "VirtualClock",
    "WallClock",
]

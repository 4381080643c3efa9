"""A local Google Cloud: Cloud Tasks (and later Cloud Scheduler and Cloud Run Jobs), in process."""

from emulator.clock import Clock, VirtualClock, WallClock
from emulator.cloud import LocalCloud
from emulator.cloud_tasks import CloudTasksEngine
from emulator.delivery import Delivery, DeliveryRecord, DeliveryResult, Dispatcher

__all__ = [
    "Clock",
    "CloudTasksEngine",
    "Delivery",
    "DeliveryRecord",
    "DeliveryResult",
    "Dispatcher",
    "LocalCloud",
    "VirtualClock",
    "WallClock",
]

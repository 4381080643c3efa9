"""Cloud Scheduler v1 (HTTP targets), emulated in process."""

from emulator.scheduler.engine import CloudSchedulerEngine
from emulator.scheduler.schedule import Schedule, ScheduleError, parse_schedule, parse_time_zone

__all__ = ["CloudSchedulerEngine", "Schedule", "ScheduleError", "parse_schedule", "parse_time_zone"]

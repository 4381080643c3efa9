"""Cloud Scheduler v1 (HTTP targets), emulated in process."""

from emulator.scheduler.engine import SchedulerEngine
from emulator.scheduler.schedule import Schedule, ScheduleError, parse_schedule, parse_time_zone

__all__ = ["Schedule", "ScheduleError", "SchedulerEngine", "parse_schedule", "parse_time_zone"]

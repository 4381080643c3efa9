"""The Cloud Scheduler engine's working state (jobs and their runs) and its stored records.

A **run** is one execution of a job: a scheduled slot or a RunJob, with its attempts (the first
and the retries). A job converts to the API message the RPCs return (``to_proto``) and to the
JSON-able record the store keeps (``to_record``/``from_record``), so a restart rebuilds exactly
what was there, including the next slot and the runs still outstanding.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from google.cloud import scheduler_v1
from google.protobuf import json_format
from google.rpc import status_pb2

from emulator.kit.records import Field, RecordCodec, Stored, full_name, nested
from emulator.scheduler.job_config import JobConfig, resolve_job_config
from emulator.scheduler.names import JobName, parse_job_name

JOB_KIND = "scheduler.job"

State = scheduler_v1.Job.State


@dataclass(eq=False)
class Run(Stored):
    """One execution of a job and where its attempts stand (S3-S6)."""

    schedule_time: datetime  # the slot (X-CloudScheduler-ScheduleTime); for RunJob, its time
    forced: bool  # started by RunJob (S4)
    attempts: int = 0
    first_attempt_time: datetime | None = None
    next_attempt_time: datetime | None = None  # None while an attempt is in flight
    in_flight: bool = False
    seq: int = 0  # when next_attempt_time was set (orders work within a dispatch round)


@dataclass(eq=False)
class JobState(Stored):
    """A job: its settings, state, next slot, outstanding runs and last attempt."""

    name: JobName
    config: JobConfig
    state: State
    user_update_time: datetime
    next_slot: datetime | None = None  # the next scheduled fire time; None unless ENABLED
    last_fired_slot: datetime | None = None
    blocked_until: datetime | None = None  # when the last run ended: no slot fires before (S3)
    runs: list[Run] = field(default_factory=list)
    last_attempt_time: datetime | None = None
    last_response_status: int | None = None  # HTTP status of the last answered attempt
    status: status_pb2.Status | None = None  # the last finished attempt's outcome

    @property
    def job_id(self) -> str:
        return self.name.job_id

    def next_fire_time(self) -> datetime | None:
        """The next time the job is scheduled: a pending retry or the next slot (S10)."""
        times = [run.next_attempt_time for run in self.runs if run.next_attempt_time is not None]
        if self.state == State.ENABLED and self.next_slot is not None:
            times.append(self.next_slot)
        return min(times, default=None)

    def snapshot(self) -> JobState:
        """A copy that later fires and settlements do not reach (its runs copied).

        ``config`` and ``status`` are shared: a change replaces them, never edits them.
        """
        return replace(self, runs=[replace(run) for run in self.runs])

    def to_proto(self) -> scheduler_v1.Job:
        job = scheduler_v1.Job(self.config.job)
        job.name = self.name.full
        job.state = self.state
        job.user_update_time = self.user_update_time
        next_fire = self.next_fire_time()
        if next_fire is not None:
            job.schedule_time = next_fire
        if self.last_attempt_time is not None:
            job.last_attempt_time = self.last_attempt_time
        if self.status is not None:
            job.status = self.status
        return job


@dataclass(frozen=True)
class FireRecord:
    """History entry for one attempt of a job (or a slot dropped by a fault)."""

    job_id: str
    schedule_time: datetime
    dispatch_time: datetime
    response_status: int | None  # None = no response (or nothing sent, for a dropped fire)
    retry_count: int
    forced: bool = False
    duplicate: bool = False  # the second copy sent by a Duplicate fault
    fault: str | None = None  # the fire or dispatch fault applied, if any


def _config_from_record(data: dict[str, Any]) -> JobConfig:
    job = scheduler_v1.Job.wrap(
        json_format.ParseDict(data, scheduler_v1.Job.pb(scheduler_v1.Job()))
    )
    return resolve_job_config(job)


def _status_to_record(status: status_pb2.Status | None) -> dict[str, Any] | None:
    return None if status is None else {"code": status.code, "message": status.message}


Run.RECORD = RecordCodec(Run, skip=("seq",))

JobState.RECORD = RecordCodec(
    JobState,
    special={
        "name": full_name(parse_job_name),
        "config": Field(
            write=lambda config: json_format.MessageToDict(scheduler_v1.Job.pb(config.job)),
            read=_config_from_record,
        ),
        "runs": nested(Run.RECORD),
        "status": Field(
            write=_status_to_record,
            read=lambda status: None if status is None else status_pb2.Status(**status),
        ),
    },
)

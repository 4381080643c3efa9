"""The Cloud Scheduler v1 engine: HTTP jobs fired on their schedule over a clock and a store.

Each public RPC method takes the official client's request message and returns what the RPC
returns, raising the ``google.api_core.exceptions`` the client raises. Firing is timer-driven
through the same driver protocol as Cloud Tasks: ``LocalCloud`` in virtual time
(``next_due_time``/``dispatch_due``) and the server's real-time driver
(``next_due_time``/``claim_due``/``deliver``). Nothing polls: the engine says when it next has
work, and is asked to do it then.

A **slot** is a fire time of the schedule; firing it starts a **run**: the first attempt and,
on failure, retries with the job's backoff (S5). While a run is outstanding the next slot waits
(S3); slots that passed meanwhile collapse into one delayed run carrying the latest of them.
RunJob starts a run at once, whatever is outstanding (S4).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from google.api_core.exceptions import (
    AlreadyExists,
    FailedPrecondition,
    GoogleAPICallError,
    InvalidArgument,
    NotFound,
)
from google.cloud import scheduler_v1

from emulator.kit import paging
from emulator.kit.clock import Clock
from emulator.kit.delivery import (
    Delivery,
    Dispatcher,
    IdTokenMinter,
    response_status,
)
from emulator.kit.dispatch import ClaimedAttempt, EngineParts, Outcome, TimedEngine
from emulator.kit.faults import (
    FIRE,
    SCHEDULER,
    DropFire,
    Duplicate,
    Effect,
    Faults,
    FireLate,
    effect_to_json,
)
from emulator.kit.field_masks import apply_update
from emulator.kit.store import Delete, DeleteKind, Put, Record, Store
from emulator.scheduler.headers import attempt_headers
from emulator.scheduler.job_config import USER_FIELDS, resolve_job_config
from emulator.scheduler.model import JOB_KIND, FireRecord, JobState, Run, State
from emulator.scheduler.names import JobName, new_job_id, parse_job_name, parse_location
from emulator.scheduler.retry import retry_policy

logger = logging.getLogger(__name__)

MAX_JOBS_PAGE_SIZE = 500
JOB_NOT_FOUND = "Job not found."

_OUTPUT_ONLY_PATHS = frozenset(
    {"name", "state", "status", "schedule_time", "last_attempt_time", "user_update_time"}
)


@dataclass(frozen=True)
class RunAttempt:
    """What a claimed Cloud Scheduler attempt is of."""

    job: JobState
    run: Run


Claimed = ClaimedAttempt[RunAttempt]


class SchedulerEngine(TimedEngine[tuple[JobState, Run | None], RunAttempt, FireRecord]):
    """A Cloud Scheduler v1 service for HTTP jobs: ``dispatch_due`` fires the slots and sends the
    attempts due at the current time.

    State is guarded by a re-entrant lock that is never held while the dispatcher runs, so a
    handler may call back into the engine. Every change is written through to ``store`` before
    the call returns; the engine starts from what the store holds.
    """

    def __init__(
        self,
        clock: Clock,
        dispatcher: Dispatcher,
        *,
        id_token_minter: IdTokenMinter | None = None,
        faults: Faults | None = None,
        store: Store | None = None,
    ) -> None:
        self._jobs: dict[str, JobState] = {}
        super().__init__(
            SCHEDULER,
            clock,
            parts=EngineParts(
                self._load,
                self._earliest_due,
                lambda due, now: self._begin(*due, now),
                self._settle,
                _fire_record,
            ),
            dispatcher=dispatcher,
            id_token_minter=id_token_minter,
            faults=faults,
            store=store,
            log=logger,
        )

    # ------------------------------------------------------------------------ lifecycle

    def reset(self) -> None:
        """Forget every job of this engine, in memory and in the store."""
        self._dispatch.reload(DeleteKind(JOB_KIND))

    # ------------------------------------------------------------------------------ RPCs

    def create_job(self, request: scheduler_v1.CreateJobRequest) -> scheduler_v1.Job:
        """CreateJob (S1, S2, S5, S7, S9): ENABLED, first slot after now; unnamed gets an id."""
        self._faults.check_rpc(SCHEDULER, "CreateJob", job=request.job.name or None)
        parent = parse_location(request.parent)
        name = parse_job_name(request.job.name) if request.job.name else None
        if name is not None and name.parent != parent:
            raise InvalidArgument(f"{request.job.name} must begin with {request.parent}.")
        config = resolve_job_config(request.job)
        with self._lock:
            if name is None:
                name = self._unused_name(parent)
            elif name.full in self._jobs:
                raise AlreadyExists(f"Job {name.full} already exists.")
            now = self._clock.now()
            job = JobState(name, config, State.ENABLED, user_update_time=now)
            job.next_slot = config.schedule.next_after(now, config.time_zone)
            self._write(job)
            self._jobs[name.full] = job
            response = job.to_proto()
        self._dispatch.notify()
        return response

    def get_job(self, request: scheduler_v1.GetJobRequest) -> scheduler_v1.Job:
        """GetJob."""
        self._faults.check_rpc(SCHEDULER, "GetJob", job=request.name)
        with self._lock:
            return self._job(request.name).to_proto()

    def list_jobs(self, request: scheduler_v1.ListJobsRequest) -> scheduler_v1.ListJobsResponse:
        """ListJobs, ordered by name, at most 500 per page."""
        self._faults.check_rpc(SCHEDULER, "ListJobs")
        parent = parse_location(request.parent)
        size = paging.page_size(request.page_size, MAX_JOBS_PAGE_SIZE)
        after = paging.decode_page_token(request.page_token)
        with self._lock:
            jobs = sorted(
                (job for job in self._jobs.values() if job.name.parent == parent),
                key=lambda job: job.name.full,
            )
            page, token = paging.paginate(jobs, lambda job: job.name.full, after, size)
            return scheduler_v1.ListJobsResponse(
                jobs=[job.to_proto() for job in page], next_page_token=token
            )

    def update_job(self, request: scheduler_v1.UpdateJobRequest) -> scheduler_v1.Job:
        """UpdateJob: change the fields in ``update_mask`` (S10).

        Without a mask, every user field set in ``request.job`` replaces the job's. Output-only
        paths are ignored. A changed schedule or time zone moves the next slot to the first one
        after now. An injected RPC fault leaves the job UPDATE_FAILED until an update succeeds.
        """
        try:
            self._faults.check_rpc(SCHEDULER, "UpdateJob", job=request.job.name or None)
        except GoogleAPICallError:
            self._mark_update_failed(request.job.name)
            raise
        name = parse_job_name(request.job.name)
        paths = list(request.update_mask.paths) if "update_mask" in request else []
        with self._lock:
            job = self._job(name.full)
            before = (job.config.job.schedule, job.config.job.time_zone)
            config = resolve_job_config(
                apply_update(
                    scheduler_v1.Job,
                    job.config.job,
                    request.job,
                    paths,
                    user_fields=USER_FIELDS,
                    output_only=_OUTPUT_ONLY_PATHS,
                )
            )
            now = self._clock.now()
            job.config = config
            job.user_update_time = now
            if job.state == State.UPDATE_FAILED:
                job.state = State.ENABLED
            if job.state == State.ENABLED and (
                job.next_slot is None or before != (config.job.schedule, config.job.time_zone)
            ):
                job.next_slot = config.schedule.next_after(now, config.time_zone)
            self._write(job)
            response = job.to_proto()
        self._dispatch.notify()
        return response

    def delete_job(self, request: scheduler_v1.DeleteJobRequest) -> None:
        """DeleteJob; an attempt in flight finishes but changes nothing."""
        self._faults.check_rpc(SCHEDULER, "DeleteJob", job=request.name)
        with self._lock:
            job = self._job(request.name)
            self._store.write(Delete(JOB_KIND, job.name.full))
            del self._jobs[job.name.full]
        self._dispatch.notify()

    def pause_job(self, request: scheduler_v1.PauseJobRequest) -> scheduler_v1.Job:
        """PauseJob: only an ENABLED job (else FAILED_PRECONDITION, S10).

        Its slots stop and the pending retries of its scheduled runs are dropped.
        """
        self._faults.check_rpc(SCHEDULER, "PauseJob", job=request.name)
        return self._change_state(request.name, State.ENABLED, State.PAUSED, "paused")

    def resume_job(self, request: scheduler_v1.ResumeJobRequest) -> scheduler_v1.Job:
        """ResumeJob: only a PAUSED job (else FAILED_PRECONDITION, S10).

        Slots that passed while it was paused are not fired; the next is the first after now.
        """
        self._faults.check_rpc(SCHEDULER, "ResumeJob", job=request.name)
        return self._change_state(request.name, State.PAUSED, State.ENABLED, "resumed")

    def run_job(self, request: scheduler_v1.RunJobRequest) -> scheduler_v1.Job:
        """RunJob (S4): start a run now, even if one is outstanding or the job is not ENABLED.

        Its ``X-CloudScheduler-ScheduleTime`` is the RunJob time; failures are retried like a
        scheduled run's. Without a delivery executor the attempt is delivered before this
        returns; with one (the server) in the background. Returns the job as of the dispatch.
        """
        self._faults.check_rpc(SCHEDULER, "RunJob", job=request.name)
        with self._lock:
            job = self._job(request.name)
            now = self._clock.now()
            run = Run(schedule_time=now, forced=True)
            job.runs.append(run)
            claimed = self._start_attempt(job, run, now)
            response = job.to_proto()
        self._dispatch.deliver_soon(claimed)
        return response

    def disable_job(self, name: str) -> scheduler_v1.Job:
        """Emulator control (no RPC): make a job DISABLED, as Google does after errors (S10).

        A DISABLED job does not fire; PauseJob and ResumeJob refuse it.
        """
        with self._lock:
            job = self._job(name)
            job.state = State.DISABLED
            self._stop_schedule(job)
            self._write(job)
            response = job.to_proto()
        self._dispatch.notify()
        return response

    # ------------------------------------------------------------------------- firing

    def next_due_time(self) -> datetime | None:
        """When there is next something to do: an attempt of an outstanding run, or a slot of
        an ENABLED job with no run outstanding (S3)."""
        with self._lock:
            times = [t for job in self._jobs.values() if (t := _due_time(job)) is not None]
            return min(times, default=None)

    def next_run_due_time(self) -> datetime | None:
        """When an attempt of an outstanding run (a retry, a late fire) is next due; slots of
        the schedules are left out (what ``LocalCloud.run_until_idle`` waits for)."""
        with self._lock:
            times = [
                run.next_attempt_time
                for job in self._jobs.values()
                for run in job.runs
                if run.next_attempt_time is not None
            ]
            return min(times, default=None)

    @property
    def fires(self) -> list[FireRecord]:
        """Recent attempts (and dropped fires), oldest first (the last ``HISTORY_LIMIT``)."""
        return self._dispatch.history()

    # ------------------------------------------------------------------------ inspection

    def job_snapshots(self) -> list[JobState]:
        """Copies of every job with its runs, by name (read under the lock, for the state views)."""
        with self._lock:
            return [
                job.snapshot() for job in sorted(self._jobs.values(), key=lambda j: j.name.full)
            ]

    # ------------------------------------------------------------------------- internals

    def _load(self) -> None:
        """Rebuild the jobs from the store (under the lock).

        An attempt that was in flight when the emulator stopped is sent again at once (its
        response is unknown), and does not count as an attempt. A slot that passed while the
        emulator was down fires once, at the first dispatch round (S3's collapsing).
        """
        now = self._clock.now()
        self._jobs = {}
        for record in self._store.records(JOB_KIND).values():
            job = JobState.from_record(record.value)
            for run in job.runs:
                if run.in_flight:
                    run.in_flight = False
                    run.attempts -= 1
                    run.next_attempt_time = now
                run.seq = self._dispatch.next_seq()
            self._jobs[job.name.full] = job

    def _earliest_due(
        self, now: datetime, newest_seq: int | None
    ) -> tuple[JobState, Run | None] | None:
        """The job (and run, or None for a slot) with the earliest work due at ``now``.

        ``newest_seq`` excludes attempts (re)scheduled after it.
        """
        best: tuple[datetime, str, JobState, Run | None] | None = None
        for job in self._jobs.values():
            candidates: list[tuple[datetime, Run | None]] = [
                (run.next_attempt_time, run)
                for run in job.runs
                if run.next_attempt_time is not None
                and run.next_attempt_time <= now
                and (newest_seq is None or run.seq <= newest_seq)
            ]
            slot = _slot_due_time(job)
            if slot is not None and slot <= now:
                candidates.append((slot, None))
            for when, run in candidates:
                if best is None or (when, job.name.full) < best[:2]:
                    best = (when, job.name.full, job, run)
        return None if best is None else (best[2], best[3])

    def _begin(self, job: JobState, run: Run | None, now: datetime) -> Claimed | None:
        """Start the due work: the next attempt of ``run``, or fire the job's due slot.

        Firing applies the fire faults: a dropped slot or a late first attempt claims nothing.
        """
        if run is not None:
            return self._start_attempt(job, run, now)
        config = job.config
        assert job.next_slot is not None
        latest = config.schedule.latest_at_or_before(now, config.time_zone)
        slot = latest if latest is not None and latest > job.next_slot else job.next_slot
        job.next_slot = config.schedule.next_after(max(slot, now), config.time_zone)
        job.last_fired_slot = slot
        effect = self._faults.pick(SCHEDULER, FIRE, job=job.name.full)
        if isinstance(effect, DropFire):
            self._dispatch.add_record(
                FireRecord(job.job_id, slot, now, None, 0, fault=effect_to_json(effect)["type"])
            )
            self._write(job)
            return None
        run = Run(schedule_time=slot, forced=False)
        job.runs.append(run)
        if isinstance(effect, FireLate):
            self._set_next_attempt(run, now + timedelta(seconds=effect.seconds))
            self._write(job)
            return None
        return self._start_attempt(job, run, now, effect if isinstance(effect, Duplicate) else None)

    def _start_attempt(
        self, job: JobState, run: Run, now: datetime, fire_fault: Effect | None = None
    ) -> Claimed:
        """Record the dispatch of an attempt and build its request (under the lock).

        ``fire_fault`` is a Duplicate fire fault: the first attempt of the run is sent twice.
        """
        retry_count = run.attempts
        run.attempts += 1
        run.in_flight = True
        run.next_attempt_time = None
        if run.first_attempt_time is None:
            run.first_attempt_time = now
        job.last_attempt_time = now
        self._write(job)
        target = job.config.job.http_target
        delivery = Delivery(
            url=target.uri,
            http_method=scheduler_v1.HttpMethod(target.http_method).name,
            headers=attempt_headers(
                target.headers,
                job_id=job.job_id,
                schedule_time=run.schedule_time,
                has_body=bool(target.body),
            ),
            body=target.body,
            deadline=job.config.job.attempt_deadline,
            queue_id="",
            task_id="",
            job_id=job.job_id,
        )
        oidc = None
        if "oidc_token" in target:
            token = target.oidc_token
            oidc = (token.service_account_email, token.audience or target.uri)
        return ClaimedAttempt(
            RunAttempt(job, run),
            delivery,
            oidc,
            retry_count,
            dispatch_time=now,
            job=job.name.full,
            fault=fire_fault,
        )

    def _settle(self, claimed: Claimed, outcome: Outcome) -> None:
        """Apply an attempt's outcome (S5-S7): end the run on 2xx, retry, or give up."""
        job, run = claimed.work.job, claimed.work.run
        status, response_time = outcome.status, outcome.response_time
        run.in_flight = False
        if self._jobs.get(job.name.full) is not job or run not in job.runs:
            return  # deleted while the request was in flight
        job.last_response_status = status
        job.status = response_status(status)
        if status is not None and 200 <= status <= 299:
            self._end_run(job, run, response_time)
        else:
            policy = retry_policy(job.config.job.retry_config)
            next_time = response_time + policy.delay_before_retry(run.attempts)
            assert run.first_attempt_time is not None
            if (
                policy.is_exhausted(run.attempts, run.first_attempt_time, response_time)
                or (job.next_slot is not None and next_time >= job.next_slot)
                or (not run.forced and job.state != State.ENABLED)
            ):
                self._end_run(job, run, response_time)
            else:
                self._set_next_attempt(run, next_time)
        self._write(job)

    def _end_run(self, job: JobState, run: Run, ended: datetime) -> None:
        job.runs.remove(run)
        job.blocked_until = max(job.blocked_until or ended, ended)

    def _set_next_attempt(self, run: Run, when: datetime) -> None:
        run.next_attempt_time = when
        run.seq = self._dispatch.next_seq()

    def _change_state(
        self, name: str, needed: State, new_state: State, verb: str
    ) -> scheduler_v1.Job:
        with self._lock:
            job = self._job(name)
            if job.state != needed:
                raise FailedPrecondition(
                    f"Job {job.name.full} cannot be {verb}: its state is "
                    f"{State(job.state).name}, and only {needed.name} jobs can be {verb}."
                )
            now = self._clock.now()
            job.state = new_state
            job.user_update_time = now
            if new_state == State.ENABLED:
                job.next_slot = job.config.schedule.next_after(now, job.config.time_zone)
            else:
                self._stop_schedule(job)
            self._write(job)
            response = job.to_proto()
        self._dispatch.notify()
        return response

    def _stop_schedule(self, job: JobState) -> None:
        """No more slots, and no more retries for scheduled runs (RunJob runs go on)."""
        job.next_slot = None
        job.runs = [run for run in job.runs if run.forced or run.in_flight]

    def _mark_update_failed(self, name: str) -> None:
        with self._lock:
            job = self._jobs.get(name)
            if job is None:
                return
            job.state = State.UPDATE_FAILED
            self._stop_schedule(job)
            self._write(job)
        self._dispatch.notify()

    def _job(self, name: str) -> JobState:
        job = self._jobs.get(parse_job_name(name).full)
        if job is None:
            raise NotFound(JOB_NOT_FOUND)
        return job

    def _unused_name(self, parent: str) -> JobName:
        project, location = parent.split("/")[1::2]
        while (name := JobName(project, location, new_job_id())).full in self._jobs:
            pass
        return name

    def _write(self, job: JobState) -> None:
        self._store.write(Put(Record(JOB_KIND, job.name.full, job.to_record())))


def _slot_due_time(job: JobState) -> datetime | None:
    """When the job's next slot fires: not while a run is outstanding (S3)."""
    if job.state != State.ENABLED or job.next_slot is None or job.runs:
        return None
    if job.blocked_until is not None and job.blocked_until > job.next_slot:
        return job.blocked_until
    return job.next_slot


def _due_time(job: JobState) -> datetime | None:
    times = [run.next_attempt_time for run in job.runs if run.next_attempt_time is not None]
    if (slot := _slot_due_time(job)) is not None:
        times.append(slot)
    return min(times, default=None)


def _fire_record(
    claimed: Claimed, status: int | None, fault: str | None, duplicate: bool
) -> FireRecord:
    return FireRecord(
        job_id=claimed.work.job.job_id,
        schedule_time=claimed.work.run.schedule_time,
        dispatch_time=claimed.dispatch_time,
        response_status=status,
        retry_count=claimed.retry_count,
        forced=claimed.work.run.forced,
        duplicate=duplicate,
        fault=fault,
    )

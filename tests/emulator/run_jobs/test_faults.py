"""Fault injection for Cloud Run Jobs: kill an attempt with a chosen signal, delay its start,
fail an RPC; rules match by job and have the same JSON form as the others."""

from __future__ import annotations

import signal

import pytest
from google.api_core.exceptions import ServiceUnavailable

from emulator import DelayStart, FaultRule, KillAttempt, LocalCloud, RpcError, WallClock, views
from emulator.kit.faults import rule_from_json, rule_to_json
from emulator.run_jobs import RunJobsEngine
from tests.emulator.conftest import RecordingDispatcher
from tests.emulator.run_jobs_support import (
    KILL_GRACE,
    PARENT,
    create_job,
    ignoring_sigterm,
    python,
    run_job,
    tasks_of,
)

# Sleeps on its first attempt, succeeds on the next ones.
SLEEPS_FIRST = python(
    "import os, time\nif os.environ['CLOUD_RUN_TASK_ATTEMPT'] == '0': time.sleep(30)\n"
)


@pytest.fixture
def cloud():
    cloud = LocalCloud(WallClock(), RecordingDispatcher(), job_kill_grace=KILL_GRACE)
    yield cloud
    cloud.close()


@pytest.fixture
def engine(cloud):
    return cloud.run_jobs


def test_kill_attempt_sends_the_signal_and_the_attempt_is_retried(cloud, engine):
    job = create_job(engine, "victim", SLEEPS_FIRST, max_retries=1)
    code = "import os, sys; sys.exit(0 if os.environ['CLOUD_RUN_TASK_ATTEMPT'] == '1' else 7)"
    other = create_job(engine, "bystander", python(code), max_retries=1)
    cloud.faults.add(
        FaultRule(
            service="run_jobs",
            operation="attempt",
            job="victim",
            count=1,
            effect=KillAttempt(signal.SIGKILL, after_seconds=0.1),
        )
    )

    execution, _ = run_job(engine, job)
    bystander, _ = run_job(engine, other)
    result = engine.wait_for_execution(execution, timeout=10)
    engine.wait_for_execution(bystander, timeout=10)

    (task,) = tasks_of(engine, execution)
    assert result.succeeded_count == 1 and task.retried == 1  # killed once, then succeeded
    first_attempt = views.executions(cloud, job)[0]["tasks"][0]["attempts"][0]
    assert first_attempt["term_signal"] == signal.SIGKILL
    assert [t.retried for t in tasks_of(engine, bystander)] == [1]  # failed on its own
    (fault,) = cloud.faults.list()
    assert fault.fired == 1


def test_kill_attempt_with_sigterm_escalates_after_the_grace(cloud, engine):
    job = create_job(
        engine, "ignores", ignoring_sigterm(python("import time; time.sleep(30)")), max_retries=0
    )
    cloud.faults.add(
        FaultRule(service="run_jobs", operation="attempt", effect=KillAttempt(signal.SIGTERM, 0.2))
    )

    execution, _ = run_job(engine, job)
    engine.wait_for_execution(execution, timeout=10)

    (task,) = tasks_of(engine, execution)
    assert task.last_attempt_result.term_signal == signal.SIGKILL


def test_delay_start_holds_the_attempt_back(cloud, engine):
    job = create_job(engine, "late", python("pass"))
    cloud.faults.add(
        FaultRule(service="run_jobs", operation="attempt", job="late", effect=DelayStart(0.5))
    )

    execution, _ = run_job(engine, job)
    result = engine.wait_for_execution(execution, timeout=10)

    assert (result.start_time - result.create_time).total_seconds() >= 0.5
    assert result.succeeded_count == 1


def test_run_job_fault_matches_by_job(cloud, engine):
    job = create_job(engine, "refused", python("pass"))
    other = create_job(engine, "accepted", python("pass"))
    cloud.faults.add(
        FaultRule(
            service="run_jobs",
            operation="RunJob",
            job=f"{PARENT}/jobs/refused",
            effect=RpcError("UNAVAILABLE", "try later"),
        )
    )

    with pytest.raises(ServiceUnavailable, match="try later"):
        run_job(engine, job)
    execution, _ = run_job(engine, other)

    assert engine.wait_for_execution(execution, timeout=10).succeeded_count == 1


def test_engine_without_faults_runs_normally():
    engine = RunJobsEngine(WallClock(), kill_grace=KILL_GRACE)
    try:
        job = create_job(engine, "plain", python("pass"))
        execution, _ = run_job(engine, job)
        assert engine.wait_for_execution(execution, timeout=10).succeeded_count == 1
    finally:
        engine.close()


def test_run_fault_rules_round_trip_through_json():
    rule = FaultRule(
        service="run_jobs",
        operation="attempt",
        job="nightly",
        count=2,
        effect=KillAttempt(signal.SIGTERM, after_seconds=1.5),
    )

    data = rule_to_json(rule)

    assert data["job"] == "nightly"
    assert data["effect"] == {"type": "kill_attempt", "signal": "SIGTERM", "after_seconds": 1.5}
    assert rule_from_json(data) == rule
    delay = {
        "service": "run_jobs",
        "operation": "attempt",
        "effect": {"type": "delay_start", "seconds": 2},
    }
    assert rule_from_json(delay).effect == DelayStart(2.0)
    numeric = {"type": "kill_attempt", "signal": 9}
    assert rule_from_json({**delay, "effect": numeric}).effect == KillAttempt(signal.SIGKILL, 0.0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"operation": "attempt", "effect": RpcError("UNAVAILABLE")}, "KillAttempt or DelayStart"),
        ({"operation": "RunJob", "effect": DelayStart(1)}, "needs an RpcError"),
        ({"operation": "dispatch", "effect": DelayStart(1)}, "'attempt' or an RPC name"),
        ({"operation": "attempt", "queue": "q", "effect": DelayStart(1)}, "use job"),
        ({"operation": "attempt", "effect": DelayStart(-1)}, "must not be negative"),
        ({"operation": "attempt", "effect": KillAttempt(999)}, "not a signal number"),
    ],
)
def test_invalid_run_fault_rules_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        FaultRule(service="run_jobs", **kwargs)


def test_an_unknown_signal_name_is_refused():
    rule = {"service": "run_jobs", "operation": "attempt", "effect": {"type": "kill_attempt"}}
    with pytest.raises(ValueError, match="not a signal name"):
        rule_from_json({**rule, "effect": {"type": "kill_attempt", "signal": "SIGNOPE"}})

"""The Cloud Run Jobs engine in process (a ``LocalCloud`` on a frozen ``VirtualClock``): every
task attempt is a real subprocess, supervised on the wall clock (R1-R11)."""

from __future__ import annotations

import signal
import time
from datetime import timedelta

import psutil
import pytest
from google.api_core.exceptions import (
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    ServiceUnavailable,
)
from google.cloud import run_v2
from google.longrunning import operations_pb2
from google.rpc import code_pb2

from emulator import LocalCloud, VirtualClock
from emulator.run_jobs.model import INTERRUPTED_MESSAGE
from tests.emulator.conftest import START, RecordingDispatcher
from tests.emulator.run_jobs_support import (
    KILL_GRACE,
    PARENT,
    STUBBORN,
    alive,
    assert_gone,
    create_job,
    ignoring_sigterm,
    python,
    read_json_files,
    read_pid,
    run_job,
    tasks_of,
    wait_until,
)

Overrides = run_v2.RunJobRequest.Overrides
ContainerOverride = Overrides.ContainerOverride
Condition = run_v2.Condition

SUCCEED = python("pass")
FAIL_3 = python("import sys; sys.exit(3)")
# Records its CLOUD_RUN_* variables, argv and selected env in <dir>/<index>-<attempt>.json.
RECORD = python(
    "import json, os, sys\n"
    "e = os.environ\n"
    "name = f\"{e['CLOUD_RUN_TASK_INDEX']}-{e['CLOUD_RUN_TASK_ATTEMPT']}.json\"\n"
    "data = {k: v for k, v in e.items() if k.startswith(('CLOUD_RUN_', 'MY_'))}\n"
    "data['argv'] = sys.argv[1:]\n"
    "data['cwd'] = os.getcwd()\n"
    "open(os.path.join(e['OUT'], name), 'w').write(json.dumps(data))\n"
)


@pytest.fixture
def cloud():
    cloud = LocalCloud(VirtualClock(START), RecordingDispatcher(), job_kill_grace=KILL_GRACE)
    yield cloud
    cloud.close()


@pytest.fixture
def engine(cloud):
    return cloud.run_jobs


def finished(engine, execution: str, timeout: float = 15.0) -> run_v2.Execution:
    return engine.wait_for_execution(execution, timeout=timeout)


# ---------------------------------------------------------------------------------- R1, R5


def test_r1_run_job_creates_an_execution_of_task_count_tasks(engine, tmp_path):
    job = create_job(engine, "report", RECORD, task_count=3, env={"OUT": str(tmp_path)})

    execution, _ = run_job(engine, job)
    result = finished(engine, execution)

    assert execution.startswith(f"{job}/executions/report-")
    assert result.task_count == 3 and result.succeeded_count == 3
    tasks = tasks_of(engine, execution)
    assert [t.index for t in tasks] == [0, 1, 2]
    suffix = execution.rsplit("/", 1)[1]
    assert [t.name.rsplit("/", 1)[1] for t in tasks] == [f"{suffix}-task{i}" for i in range(3)]
    assert all(t.last_attempt_result.status.code == code_pb2.OK for t in tasks)
    assert len(list(tmp_path.glob("*.json"))) == 3


def test_r5_non_zero_exit_fails_the_task_and_records_the_exit_code(engine):
    job = create_job(engine, "broken", FAIL_3, max_retries=0)

    execution, _ = run_job(engine, job)
    result = finished(engine, execution)

    assert (result.failed_count, result.succeeded_count) == (1, 0)
    (task,) = tasks_of(engine, execution)
    assert task.last_attempt_result.exit_code == 3
    assert task.last_attempt_result.term_signal == 0
    assert task.last_attempt_result.status.code != code_pb2.OK
    assert "exit code 3" in task.last_attempt_result.status.message
    (condition,) = result.conditions
    assert condition.state == Condition.State.CONDITION_FAILED
    assert condition.execution_reason == Condition.ExecutionReason.NON_ZERO_EXIT_CODE
    assert task.name.rsplit("/", 1)[1] in condition.message


def test_r5_a_failure_says_what_the_process_last_wrote_to_stderr(engine, capfd):
    code = (
        "import sys\n"
        "print('starting', flush=True)\n"
        "sys.stderr.write(''.join(f'noise {i}\\n' for i in range(30)))\n"
        "sys.stderr.write('ImportError: Couldn\\'t import Django.\\n')\n"
        "sys.exit(1)\n"
    )
    job = create_job(engine, "no-django", python(code), max_retries=0)

    execution, _ = run_job(engine, job)
    result = finished(engine, execution)

    (task,) = tasks_of(engine, execution)
    message = task.last_attempt_result.status.message
    assert message.startswith("The container exited with an error (exit code 1).")
    last_lines = message.split("Last lines of its stderr:\n", 1)[1].splitlines()
    assert last_lines == [f"noise {i}" for i in range(21, 30)] + [
        "ImportError: Couldn't import Django."
    ]
    assert "starting" not in message  # stdout is not quoted
    assert "Couldn't import Django" in result.conditions[0].message
    # Everything still reaches the emulator's stderr, as Cloud Run sends it to Cloud Logging.
    err = capfd.readouterr().err
    assert "starting" in err and "noise 0" in err and "Couldn't import Django" in err


def test_r5_the_execution_fails_only_after_every_task_was_attempted(engine, tmp_path):
    marker = tmp_path / "slow-done"
    code = (
        "import os, sys, time\n"
        "if os.environ['CLOUD_RUN_TASK_INDEX'] == '0': sys.exit(1)\n"
        f"time.sleep(0.4); open({str(marker)!r}, 'w').close()\n"
    )
    job = create_job(engine, "mixed", python(code), task_count=2, max_retries=0)

    execution, _ = run_job(engine, job)
    result = finished(engine, execution)

    assert marker.exists()
    assert (result.failed_count, result.succeeded_count) == (1, 1)
    assert result.conditions[0].state == Condition.State.CONDITION_FAILED


def test_r5_a_signal_is_recorded_as_term_signal(engine):
    job = create_job(engine, "killed", python("import os; os.kill(os.getpid(), 9)"), max_retries=0)

    execution, _ = run_job(engine, job)
    finished(engine, execution)

    (task,) = tasks_of(engine, execution)
    assert task.last_attempt_result.term_signal == signal.SIGKILL
    assert task.last_attempt_result.exit_code == 0
    assert "SIGKILL" in task.last_attempt_result.status.message


def test_r5_a_command_that_cannot_start_is_a_failed_attempt(engine):
    job = create_job(engine, "missing", ["/nonexistent/program"], max_retries=1)

    execution, _ = run_job(engine, job)
    result = finished(engine, execution)

    (task,) = tasks_of(engine, execution)
    assert result.failed_count == 1 and task.retried == 1
    assert "could not start" in task.last_attempt_result.status.message


# ------------------------------------------------------------------------------- R2, R3


def test_r2_r3_r4_defaults_are_filled_in(engine):
    job = create_job(engine, "defaults", SUCCEED)

    template = engine.get_job(run_v2.GetJobRequest(name=job)).template

    assert template.task_count == 1
    assert template.parallelism == 0
    assert template.template.max_retries == 3
    assert template.template.timeout == timedelta(seconds=600)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"task_count": 10_001}, "task_count must be between 1 and 10000"),
        ({"task_count": -1}, "task_count must be between 1 and 10000"),
        ({"parallelism": -1}, "parallelism must not be negative"),
        ({"max_retries": 11}, "max_retries must be between 0 and 10"),
        ({"max_retries": -1}, "max_retries must be between 0 and 10"),
        ({"timeout": 168 * 3600 + 1}, "at most 604800s"),
    ],
)
def test_r2_r3_r4_out_of_range_settings_are_invalid_argument(engine, settings, message):
    with pytest.raises(InvalidArgument, match=message):
        create_job(engine, "bad", SUCCEED, **settings)


def test_r3_a_failing_task_is_retried_up_to_max_retries(engine, tmp_path):
    code = (
        "import os, sys\n"
        f"open(os.path.join({str(tmp_path)!r}, os.environ['CLOUD_RUN_TASK_ATTEMPT']), 'w')\n"
        "sys.exit(5)\n"
    )
    job = create_job(engine, "retries", python(code), max_retries=2)

    execution, _ = run_job(engine, job)
    result = finished(engine, execution)

    assert sorted(p.name for p in tmp_path.iterdir()) == ["0", "1", "2"]  # 1 + max_retries
    (task,) = tasks_of(engine, execution)
    assert task.retried == 2 and task.last_attempt_result.exit_code == 5
    assert (result.failed_count, result.retried_count) == (1, 1)


def test_r3_a_retry_that_succeeds_makes_the_task_succeed(engine):
    code = "import os, sys; sys.exit(int(os.environ['CLOUD_RUN_TASK_ATTEMPT']) < 2)"
    job = create_job(engine, "flaky", python(code), task_count=2)

    execution, _ = run_job(engine, job)
    result = finished(engine, execution)

    assert (result.succeeded_count, result.failed_count, result.retried_count) == (2, 0, 2)
    assert [t.retried for t in tasks_of(engine, execution)] == [2, 2]


def _max_overlap(intervals: list[tuple[float, float]]) -> int:
    events = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals])
    running = peak = 0
    for _, delta in events:
        running += delta
        peak = max(peak, running)
    return peak


INTERVAL = python(
    "import json, os, time\n"
    "start = time.time(); time.sleep(0.4)\n"
    "path = os.path.join(os.environ['OUT'], os.environ['CLOUD_RUN_TASK_INDEX'] + '.json')\n"
    "open(path, 'w').write(json.dumps([start, time.time()]))\n"
)


def test_r2_parallelism_caps_the_tasks_running_at_once(engine, tmp_path):
    job = create_job(
        engine, "capped", INTERVAL, task_count=4, parallelism=2, env={"OUT": str(tmp_path)}
    )

    execution, _ = run_job(engine, job)
    result = finished(engine, execution)

    assert result.parallelism == 2 and result.succeeded_count == 4
    assert _max_overlap([tuple(i) for i in read_json_files(tmp_path, "*.json")]) == 2


def test_r2_parallelism_zero_runs_every_task_at_once(engine, tmp_path):
    job = create_job(engine, "wide", INTERVAL, task_count=3, env={"OUT": str(tmp_path)})

    execution, _ = run_job(engine, job)
    result = finished(engine, execution)

    assert result.parallelism == 3
    assert _max_overlap([tuple(i) for i in read_json_files(tmp_path, "*.json")]) == 3


def test_r2_running_count_shows_the_tasks_in_flight(engine, tmp_path):
    job = create_job(
        engine, "counted", python("import time; time.sleep(30)"), task_count=3, parallelism=2
    )

    execution, _ = run_job(engine, job)

    def running() -> int:
        return engine.get_execution(run_v2.GetExecutionRequest(name=execution)).running_count

    wait_until(lambda: running() == 2, what="two tasks running")
    time.sleep(0.1)
    assert running() == 2  # parallelism holds the third back
    statuses = [t.reconciling for t in tasks_of(engine, execution)]
    assert statuses == [True, True, True]
    engine.cancel_execution(run_v2.CancelExecutionRequest(name=execution))
    finished(engine, execution)


# ---------------------------------------------------------------------------------- R4, R9


def test_r4_r9_timeout_sends_sigterm_then_sigkill_after_grace_and_retries(engine, tmp_path):
    code = STUBBORN.replace("sys.argv[1]", "sys.argv[1] + os.environ['CLOUD_RUN_TASK_ATTEMPT']")
    job = create_job(
        engine,
        "stuck",
        ignoring_sigterm(python(code)),
        args=[str(tmp_path / "pid")],
        timeout=0.3,
        max_retries=1,
    )

    started = time.monotonic()
    execution, _ = run_job(engine, job)
    pids = [read_pid(tmp_path / "pid0"), read_pid(tmp_path / "pid1")]
    result = finished(engine, execution)

    assert time.monotonic() - started >= 2 * (0.3 + KILL_GRACE)
    (task,) = tasks_of(engine, execution)
    assert task.retried == 1 and result.failed_count == 1
    outcome = task.last_attempt_result
    assert outcome.term_signal == signal.SIGKILL  # SIGTERM was ignored
    assert outcome.status.code == code_pb2.DEADLINE_EXCEEDED
    assert "timeout" in outcome.status.message
    assert result.conditions[0].execution_reason != Condition.ExecutionReason.NON_ZERO_EXIT_CODE
    assert_gone(pids)


def test_r4_a_task_that_exits_on_sigterm_is_not_sent_sigkill(engine, tmp_path):
    marker = tmp_path / "terminated"
    code = (
        "import signal, sys, time\n"
        "def stop(*_):\n"
        f"    open({str(marker)!r}, 'w').close(); sys.exit(143)\n"
        "signal.signal(signal.SIGTERM, stop)\n"
        "time.sleep(60)\n"
    )
    job = create_job(engine, "polite", python(code), timeout=1.0, max_retries=0)

    execution, _ = run_job(engine, job)
    finished(engine, execution)

    (task,) = tasks_of(engine, execution)
    assert marker.exists()
    assert task.last_attempt_result.exit_code == 143
    assert task.last_attempt_result.status.code == code_pb2.DEADLINE_EXCEEDED


def test_r9_cancel_sends_sigterm_which_the_child_observes_in_cleanup(engine, tmp_path):
    code = (
        "import os, signal, sys, time\n"
        "def stop(*_):\n"
        "    raise SystemExit(0)\n"
        "signal.signal(signal.SIGTERM, stop)\n"
        "out = os.environ['OUT']\n"
        "open(os.path.join(out, 'started'), 'w').close()\n"
        "try:\n"
        "    time.sleep(60)\n"
        "finally:\n"
        "    open(os.path.join(out, 'cleaned-up'), 'w').close()\n"
    )
    job = create_job(
        engine, "cancel-me", python(code), task_count=3, parallelism=1, env={"OUT": str(tmp_path)}
    )

    execution, _ = run_job(engine, job)
    wait_until(lambda: (tmp_path / "started").exists(), what="the first task started")
    operation = engine.cancel_execution(run_v2.CancelExecutionRequest(name=execution))
    result = finished(engine, execution)

    assert (tmp_path / "cleaned-up").exists()
    assert not operation.done  # the cancellation takes effect asynchronously
    assert (result.cancelled_count, result.succeeded_count, result.failed_count) == (3, 0, 0)
    (condition,) = result.conditions
    assert condition.execution_reason == Condition.ExecutionReason.CANCELLED
    first = tasks_of(engine, execution)[0]
    assert first.last_attempt_result.status.code == code_pb2.CANCELLED
    assert [t.retried for t in tasks_of(engine, execution)] == [0, 0, 0]


def test_r9_cancel_kills_the_whole_tree_with_sigkill_after_grace(engine, tmp_path):
    # The task's process starts a grandchild; both ignore SIGTERM.
    code = (
        "import os, signal, subprocess, sys, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        f"child = subprocess.Popen([sys.executable, '-c', {STUBBORN!r}, sys.argv[1] + '-child'])\n"
        "open(sys.argv[1], 'w').write(str(os.getpid()))\n"
        "time.sleep(60)\n"
    )
    job = create_job(engine, "tree", python(code), args=[str(tmp_path / "pid")])

    execution, _ = run_job(engine, job)
    pids = [read_pid(tmp_path / "pid"), read_pid(tmp_path / "pid-child")]
    started = time.monotonic()
    engine.cancel_execution(run_v2.CancelExecutionRequest(name=execution))
    result = finished(engine, execution)

    assert time.monotonic() - started >= KILL_GRACE
    assert result.cancelled_count == 1
    assert tasks_of(engine, execution)[0].last_attempt_result.term_signal == signal.SIGKILL
    assert_gone(pids)


def test_r9_a_descendant_that_left_the_process_group_is_killed_too(engine, tmp_path):
    code = (
        "import subprocess, sys, time\n"
        f"subprocess.Popen([sys.executable, '-c', {STUBBORN!r}, sys.argv[1]], "
        "start_new_session=True)\n"
        "time.sleep(60)\n"
    )
    job = create_job(engine, "escaper", python(code), args=[str(tmp_path / "pid")])

    execution, _ = run_job(engine, job)
    pid = read_pid(tmp_path / "pid")
    engine.cancel_execution(run_v2.CancelExecutionRequest(name=execution))
    finished(engine, execution)

    assert_gone([pid])


def test_r9_cancelling_a_finished_execution_is_failed_precondition(engine):
    job = create_job(engine, "quick", SUCCEED)
    execution, _ = run_job(engine, job)
    finished(engine, execution)

    with pytest.raises(FailedPrecondition, match="already finished"):
        engine.cancel_execution(run_v2.CancelExecutionRequest(name=execution))


def test_r9_a_tree_left_after_the_leader_exits_is_killed(engine, tmp_path):
    # The leader exits at once, leaving a grandchild behind: the container stops as a whole.
    code = (
        "import os, subprocess, sys, time\n"
        f"subprocess.Popen([sys.executable, '-c', {STUBBORN!r}, sys.argv[1]])\n"
        "while not os.path.exists(sys.argv[1]): time.sleep(0.01)\n"
    )
    job = create_job(engine, "leaves", python(code), args=[str(tmp_path / "pid")])

    execution, _ = run_job(engine, job)
    pid = read_pid(tmp_path / "pid")
    finished(engine, execution)

    assert_gone([pid])


def test_r9_close_kills_every_running_tree_and_records_the_interruption(cloud, tmp_path):
    engine = cloud.run_jobs
    job = create_job(engine, "forever", python(STUBBORN), args=[str(tmp_path / "pid")])
    execution, _ = run_job(engine, job)
    pid = read_pid(tmp_path / "pid")

    started = time.monotonic()
    cloud.close()

    assert time.monotonic() - started < KILL_GRACE + 5
    assert_gone([pid], timeout=1)
    result = engine.get_execution(run_v2.GetExecutionRequest(name=execution))
    assert result.failed_count == 1
    assert result.conditions[0].message == INTERRUPTED_MESSAGE
    with pytest.raises(ServiceUnavailable):
        run_job(engine, job)


def test_r9_reset_kills_running_executions_and_forgets_them(cloud, tmp_path):
    engine = cloud.run_jobs
    job = create_job(engine, "forever", python(STUBBORN), args=[str(tmp_path / "pid")])
    run_job(engine, job)
    pid = read_pid(tmp_path / "pid")

    cloud.reset()

    assert_gone([pid], timeout=1)
    with pytest.raises(NotFound):
        engine.get_job(run_v2.GetJobRequest(name=job))


def test_r9_a_malformed_import_changes_nothing_and_a_good_one_restores_jobs(cloud, tmp_path):
    engine = cloud.run_jobs
    done = create_job(engine, "done", SUCCEED)
    execution, _ = run_job(engine, done)
    finished(engine, execution)
    exported = cloud.export_state()
    job = create_job(engine, "forever", python(STUBBORN), args=[str(tmp_path / "pid")])
    running, _ = run_job(engine, job)
    pid = read_pid(tmp_path / "pid")

    with pytest.raises(ValueError, match="Not an emulator export"):
        cloud.import_state({"format": "something else"})
    assert alive(pid)
    cloud.import_state(exported)

    assert_gone([pid], timeout=1)
    assert engine.get_execution(run_v2.GetExecutionRequest(name=execution)).succeeded_count == 1
    with pytest.raises(NotFound):
        engine.get_execution(run_v2.GetExecutionRequest(name=running))


def test_no_process_is_left_behind_by_the_engine_test_process(engine):
    children = psutil.Process().children(recursive=True)
    job = create_job(engine, "many", SUCCEED, task_count=5)
    execution, _ = run_job(engine, job)
    finished(engine, execution)

    after = psutil.Process().children(recursive=True)
    assert {p.pid for p in after if p.status() != psutil.STATUS_ZOMBIE} <= {p.pid for p in children}


# -------------------------------------------------------------------------------- R6, R7


def test_r6_cloud_run_variables_are_set_for_each_attempt(engine, tmp_path):
    code = RECORD[2] + "import sys; sys.exit(os.environ['CLOUD_RUN_TASK_ATTEMPT'] == '0')\n"
    job = create_job(engine, "env", python(code), task_count=2, env={"OUT": str(tmp_path)})

    execution, _ = run_job(engine, job)
    finished(engine, execution)

    records = read_json_files(tmp_path, "*.json")
    execution_id = execution.rsplit("/", 1)[1]
    assert [(r["CLOUD_RUN_TASK_INDEX"], r["CLOUD_RUN_TASK_ATTEMPT"]) for r in records] == [
        ("0", "0"),
        ("0", "1"),
        ("1", "0"),
        ("1", "1"),
    ]
    for record in records:
        assert record["CLOUD_RUN_JOB"] == "env"
        assert record["CLOUD_RUN_EXECUTION"] == execution_id
        assert record["CLOUD_RUN_TASK_COUNT"] == "2"


def test_r7_overrides_replace_args_merge_env_and_replace_task_count_and_timeout(engine, tmp_path):
    job = create_job(
        engine,
        "overridden",
        RECORD,
        args=["job-arg"],
        env={"OUT": str(tmp_path), "MY_KEPT": "job", "MY_CHANGED": "job"},
        task_count=1,
        timeout=60,
    )
    overrides = Overrides(
        container_overrides=[
            ContainerOverride(
                args=["--execution-id", "42"],
                env=[
                    run_v2.EnvVar(name="MY_CHANGED", value="run"),
                    run_v2.EnvVar(name="MY_NEW", value="run"),
                ],
            )
        ],
        task_count=2,
        timeout=timedelta(seconds=5),
    )

    execution, _ = run_job(engine, job, overrides)
    result = finished(engine, execution)

    assert result.task_count == 2
    assert result.template.timeout == timedelta(seconds=5)
    records = read_json_files(tmp_path, "*.json")
    assert len(records) == 2
    for record in records:
        assert record["argv"] == ["--execution-id", "42"]
        assert record["MY_KEPT"] == "job"
        assert record["MY_CHANGED"] == "run"
        assert record["MY_NEW"] == "run"
    job_template = engine.get_job(run_v2.GetJobRequest(name=job)).template
    assert job_template.task_count == 1 and list(job_template.template.containers[0].args) == [
        "job-arg"
    ]


def test_r7_clear_args_and_an_unknown_container_name(engine, tmp_path):
    job = create_job(engine, "cleared", RECORD, args=["x"], env={"OUT": str(tmp_path)})

    execution, _ = run_job(engine, job, Overrides(container_overrides=[{"clear_args": True}]))
    finished(engine, execution)
    with pytest.raises(InvalidArgument, match="no container named 'other'"):
        run_job(engine, job, Overrides(container_overrides=[{"name": "other", "args": ["y"]}]))

    assert read_json_files(tmp_path, "*.json")[0]["argv"] == []


def test_r7_working_dir_is_the_container_s(engine, tmp_path):
    job = create_job(engine, "workdir", RECORD, env={"OUT": str(tmp_path)})
    job_message = engine.get_job(run_v2.GetJobRequest(name=job))
    job_message.template.template.containers[0].working_dir = str(tmp_path)
    engine.update_job(run_v2.UpdateJobRequest(job=job_message))

    execution, _ = run_job(engine, job)
    finished(engine, execution)

    assert read_json_files(tmp_path, "*.json")[0]["cwd"] == str(tmp_path)


# ------------------------------------------------------------------------------------ R8


def test_r8_run_job_operation_follows_the_execution(engine):
    job = create_job(engine, "lro", python("import time; time.sleep(0.2)"))

    execution, operation = run_job(engine, job)
    assert operation.name.startswith(f"{PARENT}/operations/")
    assert not operation.done
    finished(engine, execution)
    done = engine.get_operation(operations_pb2.GetOperationRequest(name=operation.name))

    assert done.done and done.WhichOneof("result") == "response"
    response = run_v2.Execution.deserialize(done.response.value)
    assert response.name == execution and response.succeeded_count == 1


def test_r8_a_failed_execution_ends_its_operation_with_an_error(engine):
    job = create_job(engine, "lro-fails", FAIL_3, max_retries=0)

    execution, operation = run_job(engine, job)
    finished(engine, execution)
    done = engine.get_operation(operations_pb2.GetOperationRequest(name=operation.name))

    assert done.done and done.WhichOneof("result") == "error"
    assert done.error.code == code_pb2.FAILED_PRECONDITION
    assert "exit code 3" in done.error.message


def test_r8_job_crud_operations_are_done_at_once(engine):
    job = create_job(engine, "crud", SUCCEED)
    update = engine.update_job(
        run_v2.UpdateJobRequest(job=engine.get_job(run_v2.GetJobRequest(name=job)))
    )
    delete = engine.delete_job(run_v2.DeleteJobRequest(name=job))

    assert update.done and run_v2.Job.deserialize(update.response.value).generation == 2
    assert delete.done and run_v2.Job.deserialize(delete.response.value).delete_time
    with pytest.raises(NotFound, match="Resource 'crud' of kind 'JOB'"):
        engine.get_job(run_v2.GetJobRequest(name=job))
    with pytest.raises(NotFound):
        engine.get_operation(operations_pb2.GetOperationRequest(name=f"{PARENT}/operations/x"))


# ---------------------------------------------------------------------------------- R10


def test_r10_execution_status_times_and_conditions(cloud):
    engine = cloud.run_jobs
    job = create_job(engine, "status", SUCCEED, task_count=2)

    execution, _ = run_job(engine, job)
    result = finished(engine, execution)

    assert result.create_time == START  # timestamps come from the cloud's (virtual) clock
    assert result.start_time == START and result.completion_time == START
    assert (result.running_count, result.succeeded_count) == (0, 2)
    assert not result.reconciling
    (condition,) = result.conditions
    assert condition.type_ == "Completed"
    assert condition.state == Condition.State.CONDITION_SUCCEEDED


# ---------------------------------------------------------------------------------- R11


def test_r11_job_bookkeeping(engine):
    job = create_job(engine, "counted-job", SUCCEED)

    first, _ = run_job(engine, job)
    finished(engine, first)
    second, _ = run_job(engine, job)
    finished(engine, second)
    state = engine.get_job(run_v2.GetJobRequest(name=job))

    assert state.execution_count == 2
    assert state.latest_created_execution.name == second
    assert (
        state.latest_created_execution.completion_status
        == run_v2.ExecutionReference.CompletionStatus.EXECUTION_SUCCEEDED
    )
    assert state.latest_created_execution.completion_time
    assert state.terminal_condition.state == Condition.State.CONDITION_SUCCEEDED
    listed = engine.list_executions(run_v2.ListExecutionsRequest(parent=job)).executions
    assert [e.name for e in listed] == [second, first]  # newest first


# ------------------------------------------------------------------------- list and delete


def test_lists_page_and_executions_can_be_deleted(engine):
    for job_id in ("a", "b", "c"):
        create_job(engine, job_id, SUCCEED)
    first = engine.list_jobs(run_v2.ListJobsRequest(parent=PARENT, page_size=2))
    second = engine.list_jobs(
        run_v2.ListJobsRequest(parent=PARENT, page_size=2, page_token=first.next_page_token)
    )
    assert [j.name.rsplit("/", 1)[1] for j in [*first.jobs, *second.jobs]] == ["a", "b", "c"]
    assert second.next_page_token == ""

    execution, _ = run_job(engine, f"{PARENT}/jobs/a")
    finished(engine, execution)
    operation = engine.delete_execution(run_v2.DeleteExecutionRequest(name=execution))

    assert operation.done
    with pytest.raises(NotFound, match="of kind 'EXECUTION'"):
        engine.get_execution(run_v2.GetExecutionRequest(name=execution))


def test_deleting_a_job_stops_its_running_executions(engine, tmp_path):
    job = create_job(engine, "doomed", python(STUBBORN), args=[str(tmp_path / "pid")])
    run_job(engine, job)
    pid = read_pid(tmp_path / "pid")

    engine.delete_job(run_v2.DeleteJobRequest(name=job))

    assert_gone([pid], timeout=KILL_GRACE + 5)


# ------------------------------------------------------------------------ default command


def test_run_job_registers_an_unknown_job_with_the_default_command(tmp_path):
    cloud = LocalCloud(
        VirtualClock(START),
        RecordingDispatcher(),
        job_kill_grace=KILL_GRACE,
        default_job_command=RECORD,
        default_job_workdir=str(tmp_path),
        default_job_parents=[PARENT],
    )
    try:
        engine = cloud.run_jobs
        overrides = Overrides(
            container_overrides=[
                ContainerOverride(
                    args=["execute", "7"], env=[run_v2.EnvVar(name="OUT", value=str(tmp_path))]
                )
            ]
        )
        execution, _ = run_job(engine, f"{PARENT}/jobs/implicit", overrides)
        finished(engine, execution)

        (record,) = read_json_files(tmp_path, "*.json")
        assert record["argv"] == ["execute", "7"] and record["cwd"] == str(tmp_path)
        job = engine.get_job(run_v2.GetJobRequest(name=f"{PARENT}/jobs/implicit"))
        assert job.template.template.max_retries == 3 and job.execution_count == 1
        with pytest.raises(NotFound, match="of kind 'JOB'"):
            run_job(engine, "projects/other/locations/local/jobs/implicit")
    finally:
        cloud.close()


def test_without_a_default_command_an_unknown_job_is_not_found(engine):
    with pytest.raises(NotFound, match="Resource 'ghost' of kind 'JOB' in region 'local'"):
        run_job(engine, f"{PARENT}/jobs/ghost")
    with pytest.raises(InvalidArgument, match="command is required"):
        create_job(engine, "no-command", [])

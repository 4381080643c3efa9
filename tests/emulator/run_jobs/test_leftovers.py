"""Attempt processes an earlier emulator started but had not recorded yet (it died in between)
are found by the environment they were started with, and killed at the next start."""

import os
import subprocess
import sys

import psutil
import pytest

from emulator.run_jobs.processes import kill_unrecorded_attempts
from tests.emulator.run_jobs_support import alive, assert_gone

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]


def start(job: str, execution: str) -> subprocess.Popen:
    env = {**os.environ, "CLOUD_RUN_JOB": job, "CLOUD_RUN_EXECUTION": execution}
    return subprocess.Popen(SLEEPER, env=env, start_new_session=True)


@pytest.fixture
def processes():
    started: list[subprocess.Popen] = []
    yield started
    for process in started:
        process.kill()
        process.wait()


def test_the_processes_of_that_execution_are_killed_and_no_others(processes):
    leftover = start("stuck", "stuck-abc12")
    other_execution = start("stuck", "stuck-zzz99")
    other_job = start("other", "stuck-abc12")
    processes += [leftover, other_execution, other_job]
    psutil.Process(leftover.pid).environ()  # started and readable

    assert kill_unrecorded_attempts("stuck", "stuck-abc12") == [leftover.pid]

    leftover.wait(timeout=10)
    assert_gone([leftover.pid])
    assert alive(other_execution.pid) and alive(other_job.pid)


def test_nothing_to_kill_is_an_empty_list():
    assert kill_unrecorded_attempts("no-such-job", "no-such-job-00000") == []

"""Cloud Run Jobs v2, emulated in process: task attempts are real subprocesses."""

from emulator.run_jobs.engine import DEFAULT_KILL_GRACE_SECONDS, RunJobsEngine

__all__ = ["DEFAULT_KILL_GRACE_SECONDS", "RunJobsEngine"]

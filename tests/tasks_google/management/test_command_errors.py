"""Management commands report a user's mistake in one line, exit status 1, no traceback."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


def run_command(tmp_path: Path, project_id: str, *args: str) -> subprocess.CompletedProcess:
    """`manage.py schedule_tasks ...` in a project whose backend talks to Google (`gcp`)."""
    (tmp_path / "gcp_settings.py").write_text(
        textwrap.dedent(
            f"""
            from tests.settings import *  # noqa: F403
            from tests.settings import TASKS

            TASKS = {{
                **TASKS,
                "default": {{
                    **TASKS["default"],
                    "OPTIONS": {{
                        "project_id": {project_id!r},
                        "location": "us-central1",
                        "base_url": "https://app.example.com/tasks/",
                        "oidc_service_account": "invoker@my-project.iam.gserviceaccount.com",
                    }},
                }},
            }}
            """
        )
    )
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("CLOUD_TASKS_", "CLOUD_SCHEDULER_", "CLOUD_RUN_", "GOOGLE_"))
    }
    env |= {
        "DJANGO_SETTINGS_MODULE": "gcp_settings",
        "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO)]),
        # No application default credentials on this machine, whatever it holds.
        "GOOGLE_APPLICATION_CREDENTIALS": str(tmp_path / "no-such-key.json"),
        "CLOUDSDK_CONFIG": str(tmp_path / "gcloud"),
    }
    return subprocess.run(
        [sys.executable, "-m", "django", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("project_id", "expected"),
    [
        ("my-project", "CommandError: No Google credentials were found: run `gcloud auth"),
        ("demo-shop", "CommandError: TASKS['default']: project_id 'demo-shop' is a demo project"),
    ],
)
def test_schedule_tasks_without_a_reachable_cloud_is_one_line(tmp_path, project_id, expected):
    done = run_command(tmp_path, project_id, "schedule_tasks", "--dry-run")
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("CommandError")]
    assert len(errors) == 1 and errors[0].startswith(expected), done.stderr


def test_traceback_flag_still_shows_the_traceback(tmp_path):
    done = run_command(tmp_path, "my-project", "schedule_tasks", "--dry-run", "--traceback")
    assert done.returncode == 1
    assert "Traceback" in done.stderr and "DefaultCredentialsError" in done.stderr

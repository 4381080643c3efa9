"""The cloud view (key 2): queues, Scheduler jobs, Run Jobs, clock, faults; its actions.

Against the in-process emulator (the test settings' transport), a real emulator server's HTTP
control API, and the same server through the backends' gcp transports (the official clients,
as on Google); all three render the same shapes.
"""

import asyncio
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connections
from google.cloud import run_v2, scheduler_v1
from textual.pilot import Pilot

from emulator import views
from emulator.cloud_tasks.queue_specs import parse_queue_spec
from emulator.kit.faults import FaultRule, HttpStatus
from emulator.server.emulator_server import EmulatorServer, start_server
from tasks_google import ScheduledTask, TaskExecution, schedule_task
from tasks_google.framework import TaskResultStatus
from tests.settings import SERVICE_ACCOUNT
from tests.tasks_google import tasks
from tests.tui.conftest import drive, screen_lines, screen_text, until
from tui.app import TasksDashboard
from tui.emulator_sources import HttpEmulatorSource, InProcessEmulatorSource
from tui.google_cloud_source import GoogleCloudSource
from tui.screens.confirm import ConfirmScreen

PARENT = "projects/demo-project/locations/us-central1"


async def schedule_enabled(name: str) -> bool:
    """Read a ScheduledTask's `enabled` on a worker thread (the ORM refuses the event loop)."""

    def read() -> bool:
        try:
            return ScheduledTask.objects.get(name=name).enabled
        finally:
            connections.close_all()

    return await asyncio.to_thread(read)


def lines_with(pilot, word: str) -> list[str]:
    return [line for line in screen_text(pilot).splitlines() if word in line]


def test_in_process_emulator_state_and_schedule_actions(transactional_db, tasks_emulator):
    tasks.noop_task.enqueue()
    schedule_task("nightly-report", tasks.noop_task, "0 3 * * *", time_zone="Europe/Paris")
    tasks_emulator.cloud.faults.add(FaultRule(operation="dispatch", effect=HttpStatus(503)))
    app = TasksDashboard(poll_interval=0.05)
    assert isinstance(app.cloud, InProcessEmulatorSource)

    async def scenario(pilot: Pilot) -> None:
        await pilot.press("2")
        await until(pilot, lambda: "Fault rules" in screen_text(pilot))
        text = screen_text(pilot)
        assert "Emulator (in-process)" in text and "clock" in text
        clock = tasks_emulator.now().strftime("%Y-%m-%d %H:%M:%S UTC")
        assert clock in text
        [queue] = lines_with(pilot, "default ")
        assert re.search(r"default +RUNNING +1 +0 ", queue), queue
        assert "attempts, backoff" in text
        [job] = lines_with(pilot, "nightly-report")
        assert queue.lstrip().startswith("▸")  # the first queue is selected
        await pilot.press("down")  # to the Scheduler job
        await until(pilot, lambda: "▸" in "".join(lines_with(pilot, "nightly-report")))
        [job] = lines_with(pilot, "nightly-report")
        assert "0 3 * * *" in job and "Europe/Paris" in job and "ENABLED" in job
        assert "never fired" in job
        [fault] = lines_with(pilot, "f1 ")
        assert "● on" in fault and "dispatch" in fault and "http_status(status=503)" in fault
        assert "Run Jobs: none" in text

        # Pause asks first; n leaves it running.
        await pilot.press("p")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")
        await until(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
        await pilot.press("p")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await until(pilot, lambda: "PAUSED" in "".join(lines_with(pilot, "nightly-report")))
        assert "Pause: Paused nightly-report (schedule 'nightly-report')." in screen_text(pilot)
        assert not await schedule_enabled("nightly-report")
        await pilot.press("u")  # resuming needs no confirmation
        await until(pilot, lambda: "ENABLED" in "".join(lines_with(pilot, "nightly-report")))
        assert await schedule_enabled("nightly-report")

        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await until(pilot, lambda: "Run now: Ran nightly-report now." in screen_text(pilot))

        # Down to the fault rule; t switches it off, then on again.
        await pilot.press("t")  # on a Scheduler job: says what to select
        await pilot.press("down")
        await until(pilot, lambda: "▸" in "".join(lines_with(pilot, "f1 ")))
        await pilot.press("t")
        await until(pilot, lambda: "○ off" in "".join(lines_with(pilot, "f1 ")))
        assert not tasks_emulator.cloud.faults.get("f1").rule.enabled
        await pilot.press("t")
        await until(pilot, lambda: "● on" in "".join(lines_with(pilot, "f1 ")))
        assert tasks_emulator.cloud.faults.get("f1").rule.enabled

        # Back to the executions; the emulator keys are off there.
        await pilot.press("1")
        await until(pilot, lambda: "STATUS" in screen_text(pilot))
        await pilot.press("t")
        await pilot.pause()
        assert tasks_emulator.cloud.faults.get("f1").rule.enabled

    drive(app, scenario)
    assert "nightly-report" in views.scheduler_jobs(tasks_emulator.cloud)[0]["name"]


def test_queue_pause_resume_and_purge_with_keys(transactional_db, tasks_emulator):
    waiting = tasks.noop_task.using(queue_name="emails").enqueue()
    tasks.noop_task.enqueue()
    app = TasksDashboard(poll_interval=0.05)

    async def scenario(pilot: Pilot) -> None:
        await pilot.press("2")
        await until(pilot, lambda: "emails" in screen_text(pilot))
        # Queues are listed by name: default, then emails. The cursor starts on default.
        await pilot.press("down")
        await until(pilot, lambda: "▸" in "".join(lines_with(pilot, "emails ")))
        await pilot.press("p")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "Pause queue emails? Its tasks wait" in screen_text(pilot)
        await pilot.press("y")
        await until(pilot, lambda: "PAUSED" in "".join(lines_with(pilot, "emails ")))
        await pilot.press("u")  # resuming needs no confirmation
        await until(pilot, lambda: "RUNNING" in "".join(lines_with(pilot, "emails ")))
        assert "Resume: Resumed." in screen_text(pilot)

        await pilot.press("X")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "Purge queue emails?" in screen_text(pilot)
        await pilot.press("y")
        await until(pilot, lambda: "1 waiting execution was recorded" in screen_text(pilot))
        [queue] = lines_with(pilot, "emails ")
        assert re.search(r"emails +RUNNING +0 +0 ", queue), queue
        [other] = lines_with(pilot, "default ")
        assert re.search(r"default +RUNNING +1 +0 ", other), other  # left alone

    drive(app, scenario)
    row = TaskExecution.objects.get(pk=waiting.id)
    assert row.status == TaskResultStatus.FAILED and row.cancelled_at is not None
    assert "was purged" in row.errors[-1]["traceback"]


def _failing_job(server) -> str:
    name = f"{PARENT}/jobs/nightly"
    server.cloud.run_jobs.create_job(
        run_v2.CreateJobRequest(
            parent=PARENT,
            job_id="nightly",
            job=run_v2.Job(
                template=run_v2.ExecutionTemplate(
                    task_count=2,
                    template=run_v2.TaskTemplate(
                        max_retries=0,
                        containers=[
                            run_v2.Container(
                                command=[sys.executable, "-c", "import sys; sys.exit(3)"]
                            )
                        ],
                    ),
                )
            ),
        )
    )
    operation = server.cloud.run_jobs.run_job(run_v2.RunJobRequest(name=name))
    execution = run_v2.Execution.deserialize(operation.metadata.value).name
    server.cloud.run_jobs.wait_for_execution(execution, timeout=30)
    return name


@contextmanager
def staged_server() -> Iterator[EmulatorServer]:
    """A real emulator server with a queue `mail`, a Scheduler job `hourly` and a Run Jobs job
    `nightly` whose one execution failed (what `assert_renders_the_server_state` checks)."""
    with start_server(queues=[parse_queue_spec("mail:max_attempts=3")]) as server:
        _failing_job(server)
        server.cloud.scheduler.create_job(
            scheduler_v1.CreateJobRequest(
                parent=PARENT,
                job=scheduler_v1.Job(
                    name=f"{PARENT}/jobs/hourly",
                    schedule="0 * * * *",
                    time_zone="UTC",
                    http_target=scheduler_v1.HttpTarget(uri="http://127.0.0.1:9/"),
                ),
            )
        )
        yield server


def test_real_emulator_server_over_the_control_api(transactional_db):
    with staged_server() as server:
        server.cloud.faults.add(FaultRule(operation="dispatch", effect=HttpStatus(500)))
        app = TasksDashboard(poll_interval=0.05, cloud=HttpEmulatorSource(server.url))

        async def scenario(pilot: Pilot) -> None:
            await pilot.press("2")
            await until(pilot, lambda: "task 1" in screen_text(pilot), timeout=15)
            assert_renders_the_server_state(pilot, f"Emulator ({server.url})")
            await pilot.press("down", "down")  # from the queue past the job to the fault
            await pilot.press("t")
            await until(pilot, lambda: "○ off" in "".join(lines_with(pilot, "f1 ")))

        drive(app, scenario)
        assert not server.cloud.faults.get("f1").rule.enabled


def assert_renders_the_server_state(pilot, title: str) -> None:
    """What `test_real_emulator_server_*` set up, as the view must show it."""
    text = screen_text(pilot)
    assert title in text
    [queue] = lines_with(pilot, "mail ")
    assert re.search(r"mail +RUNNING .* 3 attempts, backoff 0.1s to 3600s", queue), queue
    [job] = lines_with(pilot, "hourly")
    assert "0 * * * *" in job and "ENABLED" in job
    [run_job] = lines_with(pilot, "nightly  ")
    assert "2 tasks, all at once, max retries 0, 1 execution" in run_job
    assert re.search(r"nightly-\w+ +FAILED +0 2 0 ", text), text
    for index in (0, 1):
        [task] = lines_with(pilot, f"task {index}")
        assert re.search(r"task \d +FAILED +0 +3 ", task), task


def test_real_emulator_server_through_the_official_clients(transactional_db, settings):
    """With no emulator control API (as on Google), the view reads through the transports."""
    with staged_server() as server:
        options = {
            "project_id": "demo-project",
            "location": "us-central1",
            "transport": "gcp",
            "emulator_host": server.grpc_target,
        }
        settings.TASKS = {
            "default": {
                "BACKEND": "tasks_google.backends.CloudTasksBackend",
                "QUEUES": ["default", "mail"],
                "OPTIONS": {
                    **options,
                    "base_url": "http://app.test/tasks/",
                    "oidc_service_account": SERVICE_ACCOUNT,
                },
            },
            "jobs": {
                "BACKEND": "tasks_google.backends.CloudRunJobsBackend",
                "OPTIONS": {**options, "command": ["true"]},
            },
        }
        app = TasksDashboard(poll_interval=0.05, cloud=GoogleCloudSource())

        async def scenario(pilot: Pilot) -> None:
            await pilot.press("2")
            await until(pilot, lambda: "task 1" in screen_text(pilot), timeout=15)
            assert_renders_the_server_state(
                pilot, f"Google Cloud ({PARENT})  read through the backends' transports"
            )
            text = screen_text(pilot)
            assert "Fault rules" not in text  # Google has none
            assert "Toggle fault" not in text  # nor the key for them
            [queue] = lines_with(pilot, "mail ")
            assert re.search(r"mail +RUNNING +— +— +— ", queue), queue  # no depth on Google

            # Pausing a queue goes through tasks_google.pause_queue and the official client.
            await pilot.press("p")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            await pilot.press("y")
            await until(pilot, lambda: "PAUSED" in "".join(lines_with(pilot, "mail ")))
            assert "Pause: Paused. projects/demo-project/locations/us-central1/queues/mail" in (
                screen_text(pilot)
            )

        drive(app, scenario)
        assert views.queues(server.cloud)[0]["state"] == "PAUSED"


def test_every_backend_on_google_reads_google_and_says_why_it_cannot(
    transactional_db, settings, monkeypatch
):
    monkeypatch.setenv("NO_GCE_CHECK", "True")  # no metadata server here: fail fast
    for name in ("GOOGLE_APPLICATION_CREDENTIALS", "CLOUDSDK_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    settings.TASKS = {
        "default": {
            "BACKEND": "tasks_google.backends.CloudTasksBackend",
            "OPTIONS": {
                "project_id": "acme-prod",
                "location": "europe-west1",
                "base_url": "https://shop.example.com/tasks/",
                "transport": "gcp",
                "oidc_service_account": "tasks@acme-prod.iam.gserviceaccount.com",
            },
        }
    }
    app = TasksDashboard(poll_interval=0.05)
    assert isinstance(app.cloud, GoogleCloudSource)

    async def scenario(pilot: Pilot) -> None:
        header = screen_text(pilot).splitlines()[0]
        assert "GCP (acme-prod, europe-west1)" in header
        await pilot.press("2")
        await until(pilot, lambda: "GOOGLE CLOUD UNREADABLE" in screen_text(pilot), 30)
        text = screen_text(pilot)
        assert "projects/acme-prod/locations/europe-west1" in text
        assert "reading Google Cloud failed" in text
        assert "credentials" in text

    drive(app, scenario)


def test_an_emulator_that_does_not_answer_is_said_to_be_not_running_with_how_to_start_it(
    transactional_db, settings
):
    settings.TASKS = {
        "default": {
            "BACKEND": "tasks_google.backends.CloudTasksBackend",
            "OPTIONS": {
                "project_id": "acme-prod",
                "location": "europe-west1",
                "base_url": "https://shop.example.com/tasks/",
                "transport": "gcp",
                "oidc_service_account": SERVICE_ACCOUNT,
                "emulator_host": "127.0.0.1:9",  # nothing listens on the discard port
            },
        }
    }
    app = TasksDashboard(poll_interval=0.05)
    assert isinstance(app.cloud, HttpEmulatorSource)

    async def scenario(pilot: Pilot) -> None:
        assert "EMULATOR (127.0.0.1:9)" in screen_text(pilot).splitlines()[0]
        await pilot.press("2")
        await until(pilot, lambda: "EMULATOR UNREACHABLE" in screen_text(pilot))
        text = screen_text(pilot)
        assert "http://127.0.0.1:10 unreachable" in text
        assert "Is the emulator running?" in text
        assert "Start it with `python manage.py tasks_dev`" in text
        assert "IAM" not in text

    drive(app, scenario)


def test_a_demo_project_without_an_emulator_says_to_start_one_not_to_fix_permissions(
    transactional_db, settings
):
    settings.TASKS = {
        "default": {
            "BACKEND": "tasks_google.backends.CloudTasksBackend",
            "OPTIONS": {
                "project_id": "demo-shop",
                "location": "europe-west1",
                "base_url": "http://127.0.0.1:8000/tasks/",
                "transport": "gcp",
                "oidc_service_account": SERVICE_ACCOUNT,
            },
        }
    }
    app = TasksDashboard(poll_interval=0.05)

    async def scenario(pilot: Pilot) -> None:
        assert "EMULATOR (not running)" in screen_text(pilot).splitlines()[0]
        await pilot.press("2")
        await until(pilot, lambda: "EMULATOR UNREACHABLE" in screen_text(pilot))
        text = screen_text(pilot)
        assert "No emulator is configured or running for demo-shop" in text
        assert "Start it with `python manage.py tasks_dev`" in text
        assert "IAM" not in text and "GOOGLE" not in text

    drive(app, scenario)


def test_a_narrow_terminal_cuts_the_settings_columns_not_the_names(
    transactional_db, tasks_emulator
):
    tasks.noop_task.enqueue()
    app = TasksDashboard(poll_interval=0.05)

    async def scenario(pilot: Pilot) -> None:
        await pilot.press("2")
        await until(pilot, lambda: "default" in "".join(lines_with(pilot, "RUNNING")))
        [queue] = lines_with(pilot, "RUNNING")
        assert re.search(r"▸ +default +RUNNING +1 +0 ", queue), queue
        assert "100 attempts, backo…" in queue  # RETRY and RATE share what is left
        assert len(queue.rstrip()) <= 100

    drive(app, scenario, size=(100, 30))


def line_of(pilot, word: str) -> int:
    """The screen line that shows `word`."""
    return next(i for i, line in enumerate(screen_lines(pilot)) if word in line)


async def click_on(pilot, word: str) -> None:
    await pilot.click(offset=(20, line_of(pilot, word)))
    await until(pilot, lambda: "▸" in "".join(lines_with(pilot, word)))


def test_a_click_selects_a_queue_job_or_fault_rule(transactional_db, tasks_emulator):
    tasks.noop_task.enqueue()
    tasks.noop_task.using(queue_name="emails").enqueue()
    schedule_task("nightly-report", tasks.noop_task, "0 3 * * *")
    tasks_emulator.cloud.faults.add(FaultRule(operation="dispatch", effect=HttpStatus(503)))
    app = TasksDashboard(poll_interval=0.05)

    async def scenario(pilot: Pilot) -> None:
        await pilot.press("2")
        await until(pilot, lambda: "Fault rules" in screen_text(pilot))
        await click_on(pilot, "nightly-report")
        assert app.cloud_view.selected()[0] == "job"
        await click_on(pilot, "f1 ")
        assert app.cloud_view.selected()[0] == "fault"
        await click_on(pilot, "emails ")
        assert app.cloud_view.selected()[1].queue_id == "emails"
        await pilot.click(offset=(20, line_of(pilot, "Queues")))  # not a row
        await pilot.pause()
        assert app.cloud_view.selected()[1].queue_id == "emails"

    drive(app, scenario)

"""The emulator view (key 2): queues, Scheduler jobs, Run Jobs, clock, faults; its actions.

Against the in-process emulator (the test settings' transport) and against a real emulator
server's HTTP control API; both read through `tui.cloud_state` and render the same.
"""

import asyncio
import re
import sys

from django.db import connections
from google.cloud import run_v2, scheduler_v1

from emulator.cloud_tasks.queue_specs import parse_queue_spec
from emulator.faults import FaultRule, HttpStatus
from emulator.server.emulator_server import start_server
from tasks_google import ScheduledTask, schedule_task
from tests.tasks_google import tasks
from tests.tui.conftest import SIZE, screen_text, until
from tui.app import TasksDashboard
from tui.cloud_state import HttpEmulatorSource, InProcessEmulatorSource
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

    async def drive() -> None:
        async with app.run_test(size=SIZE) as pilot:
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
            assert job.lstrip().startswith("▸")  # the first Scheduler job is selected
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

    asyncio.run(drive())
    assert "nightly-report" in tasks_emulator.cloud.scheduler.describe_jobs()[0]["name"]


def _failing_job(server) -> str:
    name = f"{PARENT}/jobs/nightly"
    server.cloud.run.create_job(
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
    operation = server.cloud.run.run_job(run_v2.RunJobRequest(name=name))
    execution = run_v2.Execution.deserialize(operation.metadata.value).name
    server.cloud.run.wait_for_execution(execution, timeout=30)
    return name


def test_real_emulator_server_over_the_control_api(transactional_db):
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
        server.cloud.faults.add(FaultRule(operation="dispatch", effect=HttpStatus(500)))
        app = TasksDashboard(poll_interval=0.05, cloud=HttpEmulatorSource(server.url))

        async def drive() -> None:
            async with app.run_test(size=SIZE) as pilot:
                await pilot.press("2")
                await until(pilot, lambda: "task 1" in screen_text(pilot), timeout=15)
                text = screen_text(pilot)
                assert f"Emulator ({server.url})" in text
                assert re.search(r"mail +RUNNING +0 +0 +— +3 attempts", text), text
                [job] = lines_with(pilot, "hourly")
                assert "0 * * * *" in job and "ENABLED" in job
                [run_job] = [line for line in lines_with(pilot, "nightly ") if "task(s)" in line]
                assert "2 task(s)" in run_job and "1 execution(s)" in run_job
                assert re.search(r"nightly-\w+ +FAILED +0✓ 2✗ 0▶", text), text
                for index in (0, 1):
                    [task] = lines_with(pilot, f"task {index}")
                    assert re.search(r"task \d +FAILED +0 +3 ", task), task
                await pilot.press("down")  # from the Scheduler job to the fault rule
                await pilot.press("t")
                await until(pilot, lambda: "○ off" in "".join(lines_with(pilot, "f1 ")))

        asyncio.run(drive())
        assert not server.cloud.faults.get("f1").rule.enabled


def test_unreachable_control_api_says_so(transactional_db):
    app = TasksDashboard(
        poll_interval=0.05, cloud=HttpEmulatorSource("http://127.0.0.1:9", timeout=0.5)
    )

    async def drive() -> None:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("2")
            await until(pilot, lambda: "EMULATOR UNREACHABLE" in screen_text(pilot))
            assert "http://127.0.0.1:9 unreachable" in screen_text(pilot)

    asyncio.run(drive())

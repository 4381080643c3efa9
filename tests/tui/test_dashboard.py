"""The dashboard driven by keys (Textual Pilot) against the real test database."""

import io
import re
from datetime import timedelta

from django.utils import timezone
from textual.pilot import Pilot

from tasks_google import TaskExecution
from tasks_google.execution import leases
from tasks_google.framework import TaskResultStatus
from tests.tasks_google import tasks
from tests.tasks_google.attempt_drivers import run_in_thread, wait_running
from tests.tui.conftest import drive, screen_lines, screen_text, until, until_polled
from tui.app import TasksDashboard
from tui.execution_filter import ExecutionFilter
from tui.execution_query import Snapshot
from tui.screens.confirm import ConfirmScreen
from tui.screens.help import HelpScreen


def list_lines(pilot) -> list[str]:
    """The rendered lines of the executions list (between the column titles and the detail)."""
    lines = screen_lines(pilot)
    start = next(i for i, line in enumerate(lines) if line.startswith("STATUS"))
    return [line for line in lines[start + 1 :] if line.strip() and line[0] in "…▶✓✗⊘"]


def one_of_each(make_execution) -> dict[str, TaskExecution]:
    now = timezone.now()
    return {
        "ready": make_execution(task_path="shop.tasks.ready_one"),
        "running": make_execution(
            task_path="shop.tasks.running_one",
            status=TaskResultStatus.RUNNING,
            attempt_count=1,
            started_at=now - timedelta(seconds=5),
            progress_done=3,
            progress_total=4,
        ),
        "successful": make_execution(
            task_path="shop.tasks.successful_one",
            status=TaskResultStatus.SUCCESSFUL,
            attempt_count=1,
            started_at=now - timedelta(seconds=3),
            finished_at=now - timedelta(seconds=1),
            return_value={"answer": 42},
        ),
        "failed": make_execution(
            task_path="shop.tasks.failed_one",
            status=TaskResultStatus.FAILED,
            attempt_count=3,
            errors=[
                {
                    "exception_class_path": "builtins.ValueError",
                    "traceback": "Traceback (most recent call last):\nValueError: boom",
                }
            ],
        ),
        "cancelled": make_execution(
            task_path="shop.tasks.cancelled_one",
            status=TaskResultStatus.FAILED,
            cancelled_at=now,
        ),
    }


def test_rows_render_newest_first_with_full_status_words(make_execution):
    rows = one_of_each(make_execution)
    app = TasksDashboard(poll_interval=0.05)

    async def scenario(pilot: Pilot) -> None:
        await until(pilot, lambda: len(list_lines(pilot)) == 5)
        lines = list_lines(pilot)
        # Newest first: the cancelled one was made last.
        assert [line.split()[1] for line in lines] == [
            "CANCELLED",
            "FAILED",
            "SUCCESSFUL",
            "RUNNING",
            "READY",
        ]
        assert lines[0].startswith("⊘ CANCELLED ")
        assert lines[1].startswith("✗ FAILED ")
        assert "shop.tasks.failed_one" in lines[1]
        assert "████" in lines[3] and "75%" in lines[3]
        text = screen_text(pilot)
        assert "EMULATOR (in-process)" in text.splitlines()[0]
        assert "✗ FAILED 1" in text and "⊘ CANCELLED 1" in text and "… READY 1" in text
        # The newest is selected: the detail pane shows it.
        await until(
            pilot,
            lambda: (
                rows["cancelled"].id in screen_text(pilot)
                and re.search(r"Cancellation +cancelled at", screen_text(pilot)) is not None
            ),
        )

    drive(app, scenario)


def test_detail_shows_errors_and_return_value(make_execution):
    rows = one_of_each(make_execution)
    app = TasksDashboard(poll_interval=0.05)

    async def scenario(pilot: Pilot) -> None:
        await until(pilot, lambda: len(list_lines(pilot)) == 5)
        await pilot.press("down")
        await until(pilot, lambda: rows["failed"].id in screen_text(pilot))
        await pilot.press("tab", "end")  # into the detail pane, to its end
        await until(pilot, lambda: "ValueError: boom" in screen_text(pilot))
        await until(pilot, lambda: "#1 builtins.ValueError" in screen_text(pilot))
        await until(pilot, lambda: "Errors (1)" in screen_text(pilot))
        await pilot.press("shift+tab", "down")
        await until(pilot, lambda: rows["successful"].id in screen_text(pilot))
        await pilot.press("tab", "end")
        await until(pilot, lambda: '"answer": 42' in screen_text(pilot))

    drive(app, scenario)


def test_status_filter_and_text_filter_narrow_the_rows(make_execution):
    one_of_each(make_execution)
    app = TasksDashboard(poll_interval=0.05)

    async def scenario(pilot: Pilot) -> None:
        await until(pilot, lambda: len(list_lines(pilot)) == 5)
        await pilot.press("s")  # READY
        await until(pilot, lambda: len(list_lines(pilot)) == 1)
        await pilot.press("s", "s", "s")  # RUNNING, SUCCESSFUL, FAILED (not the cancelled one)
        await until(pilot, lambda: [line.split()[1] for line in list_lines(pilot)] == ["FAILED"])
        await pilot.press("s", "s")  # CANCELLED, then all
        await until(pilot, lambda: len(list_lines(pilot)) == 5)

        await pilot.press("slash", *"successful", "enter")
        await until(pilot, lambda: len(list_lines(pilot)) == 1)
        assert "shop.tasks.successful_one" in list_lines(pilot)[0]
        await pilot.press("escape")
        await until(pilot, lambda: len(list_lines(pilot)) == 5)

    drive(app, scenario)


def test_backend_queue_and_task_filters_narrow_the_rows(make_execution):
    make_execution(task_path="shop.tasks.send_mail", queue="emails")
    make_execution(task_path="shop.tasks.send_mail", queue="default")
    make_execution(task_path="shop.tasks.resize", queue="default")
    make_execution(task_path="shop.tasks.export", backend="jobs", queue="batch")
    app = TasksDashboard(poll_interval=0.05)

    def tasks_shown(pilot) -> list[tuple[str, str]]:
        # (task, queue) of each line: STATUS WORD, TASK, BACKEND, QUEUE, ...
        return [(line.split()[2], line.split()[4]) for line in list_lines(pilot)]

    async def scenario(pilot: Pilot) -> None:
        await until(pilot, lambda: len(list_lines(pilot)) == 4)
        await pilot.press("slash", *"queue:default send", "enter")
        await until(pilot, lambda: tasks_shown(pilot) == [("shop.tasks.send_mail", "default")])
        assert "queue=default, text='send'" in screen_text(pilot)
        await pilot.press("escape")
        await until(pilot, lambda: len(list_lines(pilot)) == 4)

        # b cycles the configured backends (jobs, default), then all again.
        await pilot.press("b")
        await until(pilot, lambda: tasks_shown(pilot) == [("shop.tasks.export", "batch")])
        await pilot.press("b")
        await until(pilot, lambda: len(list_lines(pilot)) == 3)
        await pilot.press("b")
        await until(pilot, lambda: len(list_lines(pilot)) == 4)

        # T narrows to the selected row's task (the newest: export), T again widens.
        await pilot.press("down")  # resize
        await until(
            pilot,
            lambda: app.executions_view.execution_list.selected_row.task_path.endswith("resize"),
        )
        await pilot.press("T")
        await until(pilot, lambda: tasks_shown(pilot) == [("shop.tasks.resize", "default")])
        assert "task=shop.tasks.resize" in screen_text(pilot)
        await pilot.press("T")
        await until(pilot, lambda: len(list_lines(pilot)) == 4)

        # A status word that names no status says what is allowed; the list is unchanged.
        await pilot.press("slash", *"status:bogus", "enter")
        await until(pilot, lambda: "status:bogus is not a status" in screen_text(pilot))
        assert "ready, running, successful, failed, cancelled" in screen_text(pilot)
        assert len(list_lines(pilot)) == 4

    drive(app, scenario)


def test_cancel_a_ready_execution_with_keys(transactional_db, tasks_emulator):
    result = tasks.noop_task.enqueue()
    assert [t.name for t in tasks_emulator.pending()] == [result.id]
    app = TasksDashboard(poll_interval=0.05)

    async def scenario(pilot: Pilot) -> None:
        await until(pilot, lambda: app.executions_view.execution_list.selected_id == result.id)
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await until(pilot, lambda: result.id in screen_text(pilot))
        await pilot.press("y")
        await until(pilot, lambda: any("⊘ CANCELLED" in line for line in list_lines(pilot)))

    drive(app, scenario)
    row = TaskExecution.objects.get(pk=result.id)
    assert row.status == TaskResultStatus.FAILED and row.cancelled_at is not None
    assert tasks_emulator.pending() == []


def test_declining_the_confirmation_changes_nothing(transactional_db, tasks_emulator):
    result = tasks.noop_task.enqueue()
    app = TasksDashboard(poll_interval=0.05)

    async def scenario(pilot: Pilot) -> None:
        await until(pilot, lambda: app.executions_view.execution_list.selected_id == result.id)
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")
        await until(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
        await until_polled(pilot)

    drive(app, scenario)
    assert TaskExecution.objects.get(pk=result.id).status == TaskResultStatus.READY


def test_force_cancel_on_cloud_tasks_shows_why_not(transactional_db, tasks_emulator):
    result = tasks.noop_task.enqueue()
    app = TasksDashboard(poll_interval=0.05)

    async def scenario(pilot: Pilot) -> None:
        await until(pilot, lambda: app.executions_view.execution_list.selected_id == result.id)
        await pilot.press("C")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await until(pilot, lambda: "Force cancel failed" in screen_text(pilot))
        await until(pilot, lambda: "cannot force-cancel" in screen_text(pilot))

    drive(app, scenario)
    assert TaskExecution.objects.get(pk=result.id).status == TaskResultStatus.READY


def test_retry_enqueues_a_copy(transactional_db, tasks_emulator):
    original = tasks.echo.enqueue(1, word="two")
    tasks_google_cancel(original.id)
    app = TasksDashboard(poll_interval=0.05)

    async def scenario(pilot: Pilot) -> None:
        await until(pilot, lambda: app.executions_view.execution_list.selected_id == original.id)
        await pilot.press("r")  # a cancelled (failed) one: no question asked
        await until(pilot, lambda: len(list_lines(pilot)) == 2)

    drive(app, scenario)
    copy = TaskExecution.objects.exclude(pk=original.id).get()
    assert copy.task_path == "tests.tasks_google.tasks.echo"
    assert (copy.args, copy.kwargs) == ([1], {"word": "two"})
    assert [t.name for t in tasks_emulator.pending()] == [copy.id]


def test_retrying_an_unfinished_execution_asks_first(transactional_db, tasks_emulator):
    original = tasks.echo.enqueue(1)
    app = TasksDashboard(poll_interval=0.05)

    async def scenario(pilot: Pilot) -> None:
        await until(pilot, lambda: app.executions_view.execution_list.selected_id == original.id)
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "is READY, not failed." in screen_text(pilot)
        await pilot.press("n")
        await until(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
        await until_polled(pilot)
        assert len(list_lines(pilot)) == 1
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await until(pilot, lambda: len(list_lines(pilot)) == 2)

    drive(app, scenario)


def tasks_google_cancel(execution_id: str) -> None:
    from tasks_google import cancel_task

    assert cancel_task(execution_id).state == "cancelled"


def test_help_screen_and_copy_id(make_execution):
    row = make_execution()
    app = TasksDashboard(poll_interval=0.05)

    async def scenario(pilot: Pilot) -> None:
        await until(pilot, lambda: app.executions_view.execution_list.selected_id == row.id)
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        await until(pilot, lambda: "force cancel" in screen_text(pilot))
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, HelpScreen))
        await pilot.press("y")
        assert app.clipboard == row.id

    drive(app, scenario)


def test_detail_shows_the_attempt_timeline(transactional_db, tasks_emulator):
    result = tasks.fails_until_attempt.enqueue(succeed_on=2)
    tasks_emulator.run_until_idle()
    app = TasksDashboard(poll_interval=0.05)
    worker = re.escape(leases.worker_id())

    def attempt_line(pilot, number: int) -> str:
        pattern = re.compile(rf"#{number} +. \w+ +{worker} ")
        return next((line for line in screen_lines(pilot) if pattern.search(line)), "")

    async def scenario(pilot: Pilot) -> None:
        await until(pilot, lambda: app.executions_view.execution_list.selected_id == result.id)
        await until(pilot, lambda: "Attempts (2)" in screen_text(pilot))
        await pilot.press("tab")  # into the detail pane, scrolled down to the timeline
        for _ in range(10):
            if attempt_line(pilot, 2):
                break
            await pilot.press("down")
            await pilot.pause()
        await until(pilot, lambda: bool(attempt_line(pilot, 2)))
        assert "↻ retry" in attempt_line(pilot, 1)
        assert "builtins.RuntimeError" in attempt_line(pilot, 1)
        assert "✓ succeeded" in attempt_line(pilot, 2)

    drive(app, scenario)


def test_a_narrow_terminal_shows_the_facts_in_one_column_without_breaking_the_id(make_execution):
    row = make_execution(task_path="shop.tasks.narrow_one")
    app = TasksDashboard(poll_interval=0.05)

    async def scenario(pilot: Pilot) -> None:
        await until(pilot, lambda: f"Execution        {row.id}" in screen_text(pilot))
        [execution] = [line for line in screen_lines(pilot) if "Execution  " in line]
        assert "Lease owner" not in execution  # one column: one fact per line

    drive(app, scenario, size=(100, 30))


def test_cancel_a_running_execution_and_see_it_recorded_cancelled(
    transactional_db, tasks_emulator, fast_cancel_poll
):
    result = tasks.wait_for_cancel.enqueue()
    thread, outcomes = run_in_thread(result.id)
    wait_running(result.id)
    app = TasksDashboard(poll_interval=0.05)

    async def scenario(pilot: Pilot) -> None:
        await until(pilot, lambda: any("▶ RUNNING" in line for line in list_lines(pilot)))
        await until(pilot, lambda: "#1  ▶ running" in screen_text(pilot))
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await until(pilot, lambda: any("⊘ CANCELLED" in line for line in list_lines(pilot)))
        await until(pilot, lambda: "#1  ⊘ cancelled" in screen_text(pilot))

    drive(app, scenario)
    thread.join(timeout=5)
    assert not thread.is_alive()  # it stopped early: left alone, it runs for 10 s
    assert [outcome.kind for outcome in outcomes] == ["cancelled"]
    row = TaskExecution.objects.get(pk=result.id)
    assert row.status == TaskResultStatus.FAILED and row.cancelled_at is not None


def test_a_click_selects_the_row_under_the_pointer(make_execution):
    rows = one_of_each(make_execution)
    app = TasksDashboard(poll_interval=0.05)

    async def scenario(pilot: Pilot) -> None:
        await until(pilot, lambda: len(list_lines(pilot)) == 5)
        # Newest first: the third line is the successful one.
        await pilot.click("#executions", offset=(20, 2))
        await until(
            pilot,
            lambda: app.executions_view.execution_list.selected_id == rows["successful"].id,
        )
        await until(pilot, lambda: rows["successful"].id in screen_text(pilot))

    drive(app, scenario)


def test_a_slow_database_is_polled_less_often(transactional_db):
    app = TasksDashboard(poll_interval=1.0)
    assert app.executions_view.next_poll_delay() == 1.0
    # Reads that took half a second: the next refresh waits four times that.
    app.executions_view.snapshot = Snapshot(ExecutionFilter(), 0, [], 0, {}, seconds=0.5)
    assert app.executions_view.next_poll_delay() == 2.0
    app.executions_view.snapshot = Snapshot(ExecutionFilter(), 0, [], 0, {}, seconds=0.1)
    assert app.executions_view.next_poll_delay() == 1.0


def test_the_detail_shows_the_trace_of_a_traced_execution_only():
    from rich.console import Console

    from tui.widgets.execution_detail import describe

    def rendered(**fields) -> str:
        now = timezone.now()
        row = TaskExecution(task_path="shop.tasks.one", backend="default", queue="default")
        row.enqueued_at = now
        for name, value in fields.items():
            setattr(row, name, value)
        console = Console(width=160, record=True, file=io.StringIO())
        console.print(describe(row, now))
        return console.export_text()

    traced = rendered(trace_parent="00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
    assert re.search(r"Trace\s+4bf92f3577b34da6a3ce929d0e0e4736\b", traced)
    assert "Trace " not in rendered()

"""Cells, status labels, the attempt timeline and the target line: pure functions, no database."""

import io
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from rich.console import Console, Group

from tasks_google import TaskExecution
from tui.columns import fit, format_duration, progress, row_text, widths
from tui.execution_query import ExecutionRow
from tui.status_labels import LABELS, STATUS_WIDTH, label_for
from tui.targets import Target, describe_targets
from tui.widgets.execution_detail import MAX_ATTEMPTS_SHOWN, attempt_timeline

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def row(**fields) -> ExecutionRow:
    values = dict(
        id="abc",
        status="FAILED",
        cancelled=False,
        task_path="shop.tasks.send_invoice",
        backend="default",
        queue="emails",
        attempt_count=2,
        enqueued_at=NOW - timedelta(minutes=1),
        started_at=NOW - timedelta(seconds=30),
        finished_at=NOW - timedelta(seconds=18),
        progress_done=None,
        progress_total=None,
    )
    values.update(fields)
    return ExecutionRow(**values)


def test_every_status_word_fits_its_column_and_reads_without_colour():
    assert len("✓ SUCCESSFUL") == STATUS_WIDTH
    assert label_for("FAILED", cancelled=True).text == "⊘ CANCELLED"
    assert label_for("FAILED").text == "✗ FAILED"
    assert label_for("SUCCESSFUL", cancelled=True).text == "✓ SUCCESSFUL"
    for label in LABELS.values():
        assert fit(label.text, STATUS_WIDTH) == label.text.ljust(STATUS_WIDTH)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.42, "0.4s"), (12.34, "12.3s"), (245, "4m05s"), (7380, "2h03m"), (273600, "3d04h")],
)
def test_durations_are_short(seconds, text):
    assert format_duration(seconds) == text


def test_progress_bar_count_or_blank():
    assert progress(None, None) == ""
    assert progress(1234, None) == "1,234"
    assert progress(5, 8) == "█████░░░  62%"
    assert progress(9, 8) == "████████ 100%"


def test_a_line_has_exactly_the_list_width_and_cuts_long_task_paths_at_the_front():
    line = row_text(row(task_path="a" * 200 + ".tail_of_the_path"), 120, NOW)
    assert len(line) == 120
    assert line.startswith("✗ FAILED     …") and ".tail_of_the_path " in line
    assert "12.0s" in line
    # Narrower than the columns need: the task column keeps its minimum, nothing else shrinks.
    assert widths(40)[1] == 16


def test_target_line_says_emulator_or_gcp_loudly():
    emulator = Target("default", "EMULATOR", "127.0.0.1:8123")
    gcp = Target("jobs", "GCP", "my-project, europe-west1")
    assert describe_targets([emulator]) == "EMULATOR (127.0.0.1:8123)"
    assert describe_targets([gcp]) == "GCP (my-project, europe-west1)"
    assert describe_targets([emulator, gcp]) == (
        "default: EMULATOR (127.0.0.1:8123) · jobs: GCP (my-project, europe-west1)"
    )
    assert "NO tasks_google BACKEND" in describe_targets([])


def test_the_management_command_is_found_in_the_tui_app():
    from django.core.management import load_command_class

    command = load_command_class("tui", "tasks_tui")
    assert "dashboard" in command.help


@pytest.mark.parametrize("interval", ["0", "0.05", "-1", "nan"])
def test_the_command_refuses_an_interval_that_would_hammer_the_database(interval):
    from django.core.management import CommandError, call_command, load_command_class

    command = load_command_class("tui", "tasks_tui")
    with pytest.raises(CommandError, match=r"--interval must be at least 0.2 seconds \(got "):
        call_command(command, "--interval", interval)


def timeline_lines(execution: TaskExecution) -> list[str]:
    console = Console(width=120, record=True, file=io.StringIO())
    console.print(Group(*attempt_timeline(execution, NOW)))
    return [line.rstrip() for line in console.export_text().splitlines()]


def clock_time(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S")


def attempt(number, outcome, started, finished=None, error=None, worker="host:7") -> dict:
    return {
        "number": number,
        "worker": worker,
        "started_at": started.isoformat(),
        "finished_at": finished.isoformat() if finished else None,
        "outcome": outcome,
        "error": error,
    }


def test_attempt_timeline_reads_without_colour_and_times_a_running_attempt_so_far():
    first = NOW - timedelta(minutes=5)
    lost_at = NOW - timedelta(minutes=2)
    execution = TaskExecution(
        attempt_count=3,
        attempts=[
            attempt(1, "retry", first, first + timedelta(seconds=12.3), "builtins.RuntimeError"),
            attempt(
                2,
                "lost",
                first + timedelta(minutes=1),
                lost_at,
                "tasks_google.exceptions.LostAttemptError",
                worker="host:8",
            ),
            attempt(3, "running", lost_at),
        ],
    )
    title, *lines = timeline_lines(execution)
    assert title == "Attempts (3)"
    assert lines[0].split() == [
        "#1",
        "↻",
        "retry",
        "host:7",
        *clock_time(first).split(),
        "12.3s",
        "builtins.RuntimeError",
    ]
    assert lines[1].split()[:4] == ["#2", "↯", "lost", "host:8"]
    assert "2m00s" in lines[1]
    # Still running: the time so far.
    assert lines[2].split()[:3] == ["#3", "▶", "running"] and lines[2].endswith("2m00s")


def test_attempt_timeline_of_an_execution_recorded_before_attempts_lists_its_workers():
    execution = TaskExecution(attempt_count=2, worker_ids=["old:1", "old:2"])
    assert [line.split()[:4] for line in timeline_lines(execution)[1:]] == [
        ["#1", "?", "unknown", "old:1"],
        ["#2", "?", "unknown", "old:2"],
    ]
    assert timeline_lines(TaskExecution(attempt_count=0))[1:] == ["none yet"]


def test_attempt_timeline_shows_the_most_recent_attempts():
    entries = [attempt(n, "retry", NOW) for n in range(51, 151)]
    title, *lines = timeline_lines(TaskExecution(attempt_count=150, attempts=entries))
    assert title == f"Attempts (150, last {MAX_ATTEMPTS_SHOWN} shown)"
    assert len(lines) == MAX_ATTEMPTS_SHOWN and lines[-1].startswith("#150")

"""The throughput sparkline: completions and failures per interval, from one aggregate query."""

import re
from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from textual.pilot import Pilot

from tasks_google.framework import TaskResultStatus
from tests.tui.conftest import drive, screen_lines, until
from tui.app import TasksDashboard
from tui.throughput import BUCKETS, read_throughput, sparkline


def finished(make_execution, status: str, seconds_ago: float, **fields):
    now = timezone.now()
    return make_execution(
        status=status,
        attempt_count=1,
        started_at=now - timedelta(seconds=seconds_ago + 1),
        finished_at=now - timedelta(seconds=seconds_ago),
        **fields,
    )


def test_counts_per_interval_in_one_query(make_execution):
    for _ in range(3):
        finished(make_execution, TaskResultStatus.SUCCESSFUL, 2)
    finished(make_execution, TaskResultStatus.SUCCESSFUL, 25)
    finished(make_execution, TaskResultStatus.FAILED, 25)
    finished(make_execution, TaskResultStatus.FAILED, 25, cancelled_at=timezone.now())  # not
    finished(make_execution, TaskResultStatus.SUCCESSFUL, 3600)  # too old
    make_execution()  # not finished

    with CaptureQueriesContext(connection) as queries:
        throughput = read_throughput(timezone.now())
    assert len(queries) == 1
    assert len(throughput.completions) == len(throughput.failures) == BUCKETS
    assert throughput.completions[-1] == 3 and throughput.completions[-3] == 1
    assert sum(throughput.completions) == 4
    assert throughput.failures[-3] == 1 and sum(throughput.failures) == 1


def test_sparkline_scales_and_keeps_small_counts_visible():
    assert sparkline((0, 1, 4, 8), 8, "green").plain == "▁▂▅█"
    assert sparkline((0, 0), 0, "green").plain == "▁▁"


def test_sparkline_in_the_executions_header(make_execution):
    for _ in range(2):
        finished(make_execution, TaskResultStatus.SUCCESSFUL, 1)
    finished(make_execution, TaskResultStatus.FAILED, 1)
    app = TasksDashboard(poll_interval=0.05)

    def throughput_line(pilot) -> str:
        return next((line for line in screen_lines(pilot) if "finished per" in line), "")

    async def scenario(pilot: Pilot) -> None:
        await until(pilot, lambda: "✓" in throughput_line(pilot))
        line = throughput_line(pilot)
        assert "finished per 10s, last 5m" in line
        assert re.search(rf"✓ [▁▂▃▄▅▆▇█]{{{BUCKETS}}} 2 ", line), line
        assert re.search(rf"✗ [▁▂▃▄▅▆▇█]{{{BUCKETS}}} 1", line), line
        assert re.search(r"✓ ▁+█ 2", line) and re.search(r"✗ ▁+▅ 1", line), line

    drive(app, scenario)

"""Completions and failures per interval over the last few minutes, and their sparklines.

One query (counts per second and status over the indexed `finished_at`) gives both series; the
app reads it once per interval rather than at every poll.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count
from django.db.models.functions import TruncSecond
from rich.text import Text

from tasks_google import TaskExecution

#: Seconds per sparkline bar, and how many bars (30 bars of 10 s = the last five minutes).
BUCKET_SECONDS = 10
BUCKETS = 30
_BARS = "▁▂▃▄▅▆▇█"


@dataclass(frozen=True)
class Throughput:
    """Executions finished per interval, oldest interval first, ending at `until`."""

    until: datetime
    bucket_seconds: int
    completions: tuple[int, ...]
    failures: tuple[int, ...]


def read_throughput(
    now: datetime, buckets: int = BUCKETS, bucket_seconds: int = BUCKET_SECONDS
) -> Throughput:
    """SUCCESSFUL and FAILED (not cancelled) executions per interval up to `now`'s whole second,
    in one query: counts per second and status, summed into intervals here. (Sixty conditional
    counts, one per interval and status, cost the ORM far more to build than SQL to run.)"""
    until = now.replace(microsecond=0)
    step = timedelta(seconds=bucket_seconds)
    since = until - step * buckets
    # Finished in the window and not cancelled: SUCCESSFUL or FAILED, over the finished_at index.
    per_second = (
        TaskExecution.objects.filter(
            finished_at__gte=since, finished_at__lt=until, cancelled_at__isnull=True
        )
        .annotate(second=TruncSecond("finished_at"))
        .values_list("second", "status")
        .annotate(count=Count("pk"))
        .order_by()
    )
    completions, failures = [0] * buckets, [0] * buckets
    for second, status, count in per_second:
        index = int((second - since).total_seconds()) // bucket_seconds
        if status in ("SUCCESSFUL", "FAILED"):
            (completions if status == "SUCCESSFUL" else failures)[index] += count
    return Throughput(
        until=until,
        bucket_seconds=bucket_seconds,
        completions=tuple(completions),
        failures=tuple(failures),
    )


def sparkline(values: tuple[int, ...], top: int, style: str) -> Text:
    """One bar per value, scaled to `top`; an empty interval is a dim ▁, any other at least ▂."""
    line = Text()
    for value in values:
        if value <= 0 or top <= 0:
            line.append(_BARS[0], style="dim")
        else:
            level = max(1, round(value / top * (len(_BARS) - 1)))
            line.append(_BARS[level], style=style)
    return line


def throughput_line(throughput: Throughput) -> Text:
    """`finished per 10s, last 5m  ✓ ▁▂█ 12  ✗ ▁▁▂ 1` (both series on one scale)."""
    top = max((*throughput.completions, *throughput.failures, 0))
    span = throughput.bucket_seconds * len(throughput.completions)
    minutes = f"{span // 60}m" if span % 60 == 0 else f"{span}s"
    line = Text(f"finished per {throughput.bucket_seconds}s, last {minutes}  ", style="dim")
    line.append("✓ ", style="green")
    line.append_text(sparkline(throughput.completions, top, "green"))
    line.append(f" {sum(throughput.completions):,}  ", style="green")
    line.append("✗ ", style="red")
    line.append_text(sparkline(throughput.failures, top, "red"))
    line.append(f" {sum(throughput.failures):,}", style="red")
    return line

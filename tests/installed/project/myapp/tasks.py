

# --- the user's own tasks (tests/installed/project/myapp/tasks.py)
from django.core.cache import cache
from django.tasks import TaskContext

from tasks_google import PermanentTaskError


@task(takes_context=True)
def flaky(context: TaskContext, works_on: int) -> int:
    if context.attempt < works_on:
        raise ConnectionError(f"attempt {context.attempt}: the partner API is down")
    return context.attempt


@task
def charge_card(order_id: int) -> None:
    raise PermanentTaskError(f"card of order {order_id} declined")


@task
def remember(key: str) -> str:
    cache.set(key, "ran")
    return key


@periodic("*/15 * * * *", name="quarter-hourly-sync")
@task
def sync_stock() -> str:
    return "synced"


class NightlyCleanup(PeriodicTask):
    run_every = "0 3 * * *"

    def run(self) -> str:
        return "cleaned"


@task(backend="jobs", queue_name="batch")
def import_catalogue(url: str) -> int:
    raise ValueError(f"{url} is not a catalogue")

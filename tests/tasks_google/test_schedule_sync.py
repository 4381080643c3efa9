"""`manage.py schedule_tasks`: plan, apply, idempotence, renames, namespace, runbook operations."""

import io

import pytest
from django.core.management import call_command
from django.tasks import TaskResultStatus
from google.cloud import scheduler_v1

from tasks_google import periodic, schedule_declarations, schedule_task
from tasks_google.models import ScheduledTask, TaskExecution
from tests.settings import TASKS
from tests.tasks_google import tasks

pytestmark = pytest.mark.django_db
JOBS = "projects/demo-project/locations/us-central1/jobs"


@pytest.fixture(autouse=True)
def only_this_tests_declarations(monkeypatch):
    monkeypatch.setattr(schedule_declarations, "_declared", {})


def run(*args) -> list[str]:
    out = io.StringIO()
    call_command("schedule_tasks", *args, stdout=out)
    return out.getvalue().splitlines()


def remote_jobs(cloud) -> dict:
    parent = "projects/demo-project/locations/us-central1"
    page = cloud.cloud.scheduler.list_jobs(scheduler_v1.ListJobsRequest(parent=parent))
    return {job.name.rsplit("/", 1)[-1]: job for job in page.jobs}


def test_plan_then_apply_then_nothing_to_do(tasks_emulator):
    periodic("*/10 * * * *", name="tick")(tasks.noop_task)
    ScheduledTask.objects.create(name="from-admin", task_path="x.y", cron="0 1 * * *")
    assert run("--dry-run") == [
        "[+] from-admin",
        "[+] tick",
        "2 change(s) planned; nothing applied (--dry-run).",
    ]
    assert remote_jobs(tasks_emulator) == {}
    assert run()[-1] == "2 change(s) applied."
    assert set(remote_jobs(tasks_emulator)) == {"tick", "from-admin"}
    assert ScheduledTask.objects.get(name="tick").declared_in_code
    # Idempotent: a second run plans nothing.
    assert run() == ["[=] from-admin", "[=] tick", "0 change(s) applied."]


def test_updates_show_the_fields_that_differ_and_are_applied(tasks_emulator):
    periodic("*/10 * * * *", name="tick")(tasks.noop_task)
    run()
    schedule_declarations._declared.clear()
    periodic("*/5 * * * *", name="tick", time_zone="Asia/Tokyo")(tasks.noop_task)
    assert run("--dry-run")[0] == "[~] tick (schedule, time zone)"
    run()
    job = remote_jobs(tasks_emulator)["tick"]
    assert (job.schedule, job.time_zone) == ("*/5 * * * *", "Asia/Tokyo")
    assert run()[0] == "[=] tick"


def test_renaming_deletes_the_old_job(tasks_emulator):
    periodic("*/10 * * * *", name="old-name")(tasks.noop_task)
    run()
    schedule_declarations._declared.clear()
    periodic("*/10 * * * *", name="new-name")(tasks.noop_task)
    assert run("--dry-run")[:2] == ["[+] new-name", "[-] old-name"]
    run()
    assert set(remote_jobs(tasks_emulator)) == {"new-name"}
    assert list(ScheduledTask.objects.values_list("name", flat=True)) == ["new-name"]


def test_only_this_projects_namespace_is_touched(tasks_emulator, settings):
    options = {**TASKS["default"]["OPTIONS"], "schedule_job_prefix": "shop--"}
    settings.TASKS = {**TASKS, "default": {**TASKS["default"], "OPTIONS": options}}
    parent = "projects/demo-project/locations/us-central1"
    tasks_emulator.cloud.scheduler.create_job(
        scheduler_v1.CreateJobRequest(
            parent=parent,
            job=scheduler_v1.Job(
                name=f"{parent}/jobs/billing--invoices",
                schedule="0 0 * * *",
                http_target=scheduler_v1.HttpTarget(uri="https://billing.example/run"),
            ),
        )
    )
    periodic("*/10 * * * *", name="tick")(tasks.noop_task)
    assert run("--dry-run")[0] == "[+] shop--tick"
    run()
    assert set(remote_jobs(tasks_emulator)) == {"billing--invoices", "shop--tick"}
    schedule_declarations._declared.clear()
    assert run()[0] == "[-] shop--tick"
    assert set(remote_jobs(tasks_emulator)) == {"billing--invoices"}


def test_periodic_task_class_runs_through_django_tasks(tasks_emulator):
    from tests.tasks_google.periodic_classes import CleanupSessions

    # Declared at import; this test's registry is fresh.
    schedule_declarations.declare_class(CleanupSessions)
    assert run()[0] == "[+] CleanupSessions"
    job = remote_jobs(tasks_emulator)["CleanupSessions"]
    assert (job.schedule, job.time_zone) == ("0 * * * *", "Europe/Paris")
    run("--run", "CleanupSessions")
    tasks_emulator.run_until_idle()
    [execution] = TaskExecution.objects.all()
    assert execution.status == TaskResultStatus.SUCCESSFUL
    assert execution.return_value == "cleaned sessions older than 30 days"


def test_eager_runs_each_declared_task_once_locally():
    periodic("*/10 * * * *", name="meaning")(tasks.calculate_meaning_of_life)
    assert run("--eager") == ["meaning: 42"]


def test_pause_resume_and_list(tasks_emulator):
    schedule_task("nightly", tasks.noop_task, "0 2 * * *")
    run("--pause", "nightly")
    assert remote_jobs(tasks_emulator)["nightly"].state == scheduler_v1.Job.State.PAUSED
    assert "PAUSED" in run("--list")[0]
    run("--resume", "nightly")
    assert remote_jobs(tasks_emulator)["nightly"].state == scheduler_v1.Job.State.ENABLED


def test_delete_all_asks_unless_yes(tasks_emulator, monkeypatch):
    schedule_task("a", tasks.noop_task, "0 2 * * *")
    monkeypatch.setattr("builtins.input", lambda prompt: "n")
    with pytest.raises(Exception, match="Nothing deleted"):
        run("--delete-all")
    assert set(remote_jobs(tasks_emulator)) == {"a"}
    assert run("--delete-all", "--yes")[-1] == "Deleted 1 job(s)."
    assert remote_jobs(tasks_emulator) == {}


def test_class_hooks_set_headers_and_oidc(tasks_emulator):
    from tasks_google import PeriodicTask

    class PublicPing(PeriodicTask):
        run_every = "*/15 * * * *"
        schedule_use_oidc = False

        @classmethod
        def schedule_headers(cls) -> dict:
            return {"X-Purpose": "ping"}

        @classmethod
        def schedule_retries(cls) -> int:
            return 2

    assert run()[0] == "[+] PublicPing"
    job = remote_jobs(tasks_emulator)["PublicPing"]
    assert job.http_target.headers["X-Purpose"] == "ping"
    assert not job.http_target.oidc_token.service_account_email
    assert job.retry_config.retry_count == 2
    assert run()[0] == "[=] PublicPing"

"""System checks of OPTIONS: stable ids naming the backend, the key and what is allowed."""

import re
import subprocess
import sys

import pytest

from tasks_google.backends import CloudTasksBackend

VALID = {
    "project_id": "my-project",
    "location": "us-central1",
    "base_url": "https://a.test/t/",
    "oidc_service_account": "invoker@my-project.iam.gserviceaccount.com",
}


def errors(options, queues=None):
    params = {"OPTIONS": options}
    if queues is not None:
        params["QUEUES"] = queues
    return [(m.id, m.msg, m.hint) for m in CloudTasksBackend("main", params).check()]


def test_valid_options_pass():
    assert errors(VALID) == []
    config = CloudTasksBackend("main", {"OPTIONS": VALID}).config
    assert config.execute_url == "https://a.test/t/execute/"
    assert config.audience == "https://a.test"
    assert config.transport == "gcp"


def test_base_url_gets_a_trailing_slash():
    config = CloudTasksBackend("main", {"OPTIONS": {**VALID, "base_url": "https://a.test/t"}})
    assert config.config.execute_url == "https://a.test/t/execute/"


@pytest.mark.parametrize("key", ["project_id", "location", "base_url"])
def test_e002_required_option_missing(key):
    options = {k: v for k, v in VALID.items() if k != key}
    [(check_id, msg, _)] = errors(options)
    assert check_id == "tasks_google.E002"
    assert msg == f"TASKS['main']['OPTIONS'] is missing {key!r}."


def test_e001_unknown_key_lists_the_allowed_ones():
    [(check_id, msg, hint)] = errors({**VALID, "project": "x"})
    assert check_id == "tasks_google.E001"
    assert "'project'" in msg
    assert "project_id" in hint and "transport" in hint


@pytest.mark.parametrize(
    ("key", "value", "check_id"),
    [
        ("project_id", "Bad_Project", "tasks_google.E003"),
        ("location", "Central", "tasks_google.E004"),
        ("base_url", "app.example.com/tasks/", "tasks_google.E005"),
        ("base_url", "https://a.test/t/?x=1", "tasks_google.E005"),
        ("transport", "grpc", "tasks_google.E006"),
        ("queue_aliases", ["default"], "tasks_google.E007"),
        ("queue_aliases", {"default": "bad id!"}, "tasks_google.E007"),
        ("oidc_service_account", "not-an-email", "tasks_google.E008"),
        ("oidc_audience", "", "tasks_google.E009"),
        ("heartbeat_interval_seconds", 0, "tasks_google.E010"),
        ("heartbeat_timeout_seconds", "60", "tasks_google.E010"),
    ],
)
def test_invalid_values_name_the_key(key, value, check_id):
    found = errors({**VALID, key: value})
    assert [c for c, _, _ in found] == [check_id]
    assert key in found[0][1]


def test_e006_transport_lists_the_allowed_values():
    [(_, _, hint)] = errors({**VALID, "transport": "grpc"})
    assert hint == "Allowed: 'gcp', 'inprocess'."


@pytest.mark.parametrize(
    ("key", "value", "check_id", "allowed"),
    [
        ("run_once", "yes", "tasks_google.E019", "must be True or False"),
        ("run_once", 1, "tasks_google.E019", "must be True or False"),
        ("execute_url", "/tasks/execute/", "tasks_google.E020", "is not an absolute http(s) URL"),
        ("execute_url", "ftp://a.test/run", "tasks_google.E020", "is not an absolute http(s) URL"),
        ("execute_url", "", "tasks_google.E020", "is not an absolute http(s) URL"),
        ("schedule_url", "a.test/schedule/", "tasks_google.E021", "is not an absolute http(s) URL"),
        ("max_history_entries", 0, "tasks_google.E022", "must be a whole number of at least 1"),
        ("max_history_entries", True, "tasks_google.E022", "must be a whole number of at least 1"),
        ("max_history_entries", 2.5, "tasks_google.E022", "must be a whole number of at least 1"),
        ("max_history_entries", "100", "tasks_google.E022", "must be a whole number of at least 1"),
    ],
)
def test_options_users_bring_from_django_tasks_google_are_checked(key, value, check_id, allowed):
    [(found_id, msg, hint)] = errors({**VALID, key: value})
    assert found_id == check_id
    assert msg == f"TASKS['main']['OPTIONS'][{key!r}] = {value!r} {allowed}."
    assert hint


def test_execute_and_schedule_urls_default_under_base_url_and_keep_the_audience():
    config = CloudTasksBackend(
        "main", {"OPTIONS": {**VALID, "base_url": "https://a.test/t"}}
    ).config
    assert config.execute_url == "https://a.test/t/execute/"
    assert config.schedule_url == "https://a.test/t/schedule/"
    assert (config.run_once, config.max_history_entries) == (False, 100)
    urls = {"execute_url": "https://run.test/x?k=1", "schedule_url": "https://cron.test/fire"}
    config = CloudTasksBackend("main", {"OPTIONS": {**VALID, **urls}}).config
    assert (config.execute_url, config.schedule_url) == tuple(urls.values())
    assert config.audience == "https://a.test"


def test_e010_timeout_must_exceed_interval():
    [(check_id, msg, _)] = errors(
        {**VALID, "heartbeat_interval_seconds": 10, "heartbeat_timeout_seconds": 5}
    )
    assert check_id == "tasks_google.E010"
    assert "must be greater than" in msg


def test_e007_queue_name_that_is_not_a_queue_id_needs_an_alias():
    [(check_id, msg, hint)] = errors(VALID, queues=["default", "high_priority"])
    assert check_id == "tasks_google.E007"
    assert "'high_priority'" in msg and "queue_aliases" in hint
    assert errors({**VALID, "queue_aliases": {"high_priority": "high"}}, ["high_priority"]) == []


def test_enqueue_with_invalid_options_raises_the_same_message():
    from django.core.exceptions import ImproperlyConfigured

    backend = CloudTasksBackend("main", {"OPTIONS": {**VALID, "transport": "grpc"}})
    with pytest.raises(
        ImproperlyConfigured, match=re.escape("['transport'] = 'grpc' is not a transport.")
    ):
        _ = backend.config


def test_backend_construction_does_no_io():
    # No database access is allowed in this test, and no client is created.
    from tasks_google import transports

    before = dict(transports._shared)
    CloudTasksBackend("main", {"OPTIONS": VALID})
    assert transports._shared == before


def test_manage_check_reports_errors(tmp_path):
    settings = tmp_path / "bad_settings.py"
    settings.write_text(
        "from tests.settings import *\n"
        "TASKS = {'default': {'BACKEND': 'tasks_google.backends.CloudTasksBackend',"
        " 'OPTIONS': {'project_id': 'demo-project', 'location': 'us-central1'}}}\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "django", "check"],
        env={"DJANGO_SETTINGS_MODULE": "bad_settings", "PYTHONPATH": f"{tmp_path}:."},
        capture_output=True,
        text=True,
    )
    assert proc.returncode != 0
    assert "tasks_google.E002" in proc.stderr
    assert "missing 'base_url'" in proc.stderr


def test_importing_the_package_touches_nothing():
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import tasks_google, sys; print('django.db.models' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert proc.stdout.strip() == "False"


def test_e012_verification_needs_a_service_account():
    options = {k: v for k, v in VALID.items() if k != "oidc_service_account"}
    [(check_id, msg, hint)] = errors(options)
    assert check_id == "tasks_google.E012"
    assert "'oidc_service_account'" in msg and "'oidc_verify': False" in hint
    ids = [c for c, _, _ in errors({**options, "oidc_verify": False})]
    assert ids == ["tasks_google.W002"]


@pytest.mark.parametrize(
    ("options", "env", "check_id", "named"),
    [
        ({"emulator_host": "localhost"}, {}, "tasks_google.E013", "['emulator_host']"),
        ({}, {"CLOUD_TASKS_EMULATOR_HOST": "nope"}, "tasks_google.E013", "CLOUD_TASKS_EMULATOR"),
        ({"emulator_url": "ftp://x"}, {}, "tasks_google.E014", "['emulator_url']"),
        ({"oidc_verify": "yes"}, {}, "tasks_google.E015", "['oidc_verify']"),
    ],
)
def test_emulator_and_verification_options(monkeypatch, options, env, check_id, named):
    monkeypatch.delenv("CLOUD_TASKS_EMULATOR_HOST", raising=False)
    monkeypatch.delenv("TASKS_GOOGLE_EMULATOR_URL", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    found = errors({**VALID, **options})
    assert [c for c, _, _ in found] == [check_id]
    assert named in found[0][1]


def test_emulator_host_from_the_environment(monkeypatch):
    monkeypatch.setenv("CLOUD_TASKS_EMULATOR_HOST", "127.0.0.1:9000")
    monkeypatch.delenv("TASKS_GOOGLE_EMULATOR_URL", raising=False)
    config = CloudTasksBackend("main", {"OPTIONS": VALID}).config
    assert config.emulator_host == "127.0.0.1:9000"
    assert config.emulator_url == "http://127.0.0.1:9001"


def test_e016_demo_project_never_reaches_google(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    monkeypatch.delenv("CLOUD_TASKS_EMULATOR_HOST", raising=False)
    options = {**VALID, "project_id": "demo-shop"}
    [(check_id, msg, hint)] = errors(options)
    assert check_id == "tasks_google.W003"
    assert msg.startswith("TASKS['main']: ") and "'demo-shop'" in msg
    assert "enqueue refuses to send its tasks to Google" in msg
    assert "CLOUD_TASKS_EMULATOR_HOST" in hint
    backend = CloudTasksBackend("main", {"OPTIONS": options})
    with pytest.raises(ImproperlyConfigured, match=r"TASKS\['main'\]: .*demo project"):
        _ = backend.transport
    ids = [c for c, _, _ in errors({**options, "emulator_host": "127.0.0.1:8123"})]
    assert "tasks_google.W003" not in ids


def test_w001_emulator_in_a_non_debug_deployment(settings):
    settings.DEBUG = False
    found = errors({**VALID, "emulator_host": "127.0.0.1:8123"})
    assert [c for c, _, _ in found] == ["tasks_google.W001"]
    settings.DEBUG = True
    assert errors({**VALID, "emulator_host": "127.0.0.1:8123"}) == []


def run_jobs_errors(options, queues=None):
    from tasks_google.backends import CloudRunJobsBackend

    params = {"OPTIONS": options}
    if queues is not None:
        params["QUEUES"] = queues
    return [(m.id, m.msg, m.hint) for m in CloudRunJobsBackend("jobs", params).check()]


RUN_JOBS_VALID = {"project_id": "my-project", "location": "us-central1"}


def test_run_jobs_options():
    from tasks_google.backends import CloudRunJobsBackend

    assert run_jobs_errors(RUN_JOBS_VALID) == []
    config = CloudRunJobsBackend("jobs", {"OPTIONS": RUN_JOBS_VALID}).config
    # The interpreter running Django, not whichever `python` PATH finds.
    assert config.command == (sys.executable, "manage.py", "execute_task")
    assert config.job_path("default") == "projects/my-project/locations/us-central1/jobs/default"
    # base_url and the OIDC options belong to Cloud Tasks only.
    [(check_id, msg, _)] = run_jobs_errors({**RUN_JOBS_VALID, "base_url": "https://a.test/"})
    assert check_id == "tasks_google.E001" and "'base_url'" in msg


def test_run_jobs_takes_run_once_and_max_history_entries_but_no_urls():
    from tasks_google.backends import CloudRunJobsBackend

    options = {**RUN_JOBS_VALID, "run_once": True, "max_history_entries": 5}
    config = CloudRunJobsBackend("jobs", {"OPTIONS": options}).config
    assert (config.run_once, config.max_history_entries) == (True, 5)
    [(check_id, msg, _)] = run_jobs_errors({**RUN_JOBS_VALID, "run_once": "no"})
    assert check_id == "tasks_google.E019" and "['run_once']" in msg
    for key in ("execute_url", "schedule_url"):
        [(check_id, msg, _)] = run_jobs_errors({**RUN_JOBS_VALID, key: "https://a.test/"})
        assert check_id == "tasks_google.E001" and repr(key) in msg


def test_e017_command_must_be_a_list_of_strings():
    [(check_id, msg, _)] = run_jobs_errors({**RUN_JOBS_VALID, "command": "python manage.py"})
    assert check_id == "tasks_google.E017" and "['command']" in msg


def test_e007_queue_must_map_to_a_cloud_run_job_id():
    [(check_id, msg, hint)] = run_jobs_errors(RUN_JOBS_VALID, queues=["Batch_Work"])
    assert check_id == "tasks_google.E007"
    assert "Cloud Run job id 'Batch_Work'" in msg and "lowercase" in hint


def test_run_jobs_refuses_run_after_and_checks_the_timeout(settings):
    from dataclasses import replace
    from datetime import timedelta

    from tasks_google.framework import DECORATOR_TAKES_TASK_FIELDS, InvalidTask, task
    from tests.settings import TASKS
    from tests.tasks_google.tasks import noop_task  # imported with the settings it is written for

    settings.TASKS = {
        **TASKS,
        "jobs": {"BACKEND": "tasks_google.backends.CloudRunJobsBackend", "OPTIONS": RUN_JOBS_VALID},
    }

    def jobs_task(timeout: timedelta):
        """The task with this timeout, by the mechanism of this Django version."""
        if DECORATOR_TAKES_TASK_FIELDS:
            return task(backend="jobs", timeout=timeout)(noop_task.func)
        return replace(task(backend="jobs")(noop_task.func), timeout=timeout)

    batch = jobs_task(timedelta(hours=100))
    with pytest.raises(InvalidTask, match="run_after"):
        batch.using(run_after=timezone_now() + timedelta(minutes=1))
    with pytest.raises(InvalidTask, match="timeout must be a timedelta"):
        jobs_task(timedelta(hours=169))


def timezone_now():
    from django.utils import timezone

    return timezone.now()


@pytest.mark.django_db
def test_w003_names_each_backend_once_in_manage_py_check(monkeypatch, settings):
    import io

    from django.core.management import call_command

    monkeypatch.delenv("CLOUD_TASKS_EMULATOR_HOST", raising=False)
    settings.TASKS = {
        alias: {
            "BACKEND": "tasks_google.backends.CloudTasksBackend",
            "OPTIONS": {**VALID, "project_id": "demo-shop"},
        }
        for alias in ("default", "emails")
    }
    out = io.StringIO()
    call_command("check", stdout=out, stderr=out)
    lines = [line for line in out.getvalue().splitlines() if "tasks_google.W003" in line]
    assert len(lines) == 2, out.getvalue()
    assert "TASKS['default']" in lines[0] + lines[1] and "TASKS['emails']" in lines[0] + lines[1]

"""The checks of `tasks_doctor` (`tasks_google.control.doctor`), against the in-process emulator,
an emulator server, and Google-targeted settings judged without calling Google."""

import io
import socket

from django.core.management import call_command

from emulator import DenyPermissions, FaultRule
from emulator.cloud_tasks.queue_specs import QueueSpec
from emulator.server.emulator_server import start_server
from tasks_google.config.options import parse_options
from tasks_google.config.targets import TargetKind, resolve_target
from tasks_google.control.doctor import check_emulator, check_oidc, check_urls, run_doctor
from tasks_google.testing import emulated
from tests.settings import TASKS

GOOGLE_OPTIONS = {
    "project_id": "my-project",
    "location": "europe-west1",
    "base_url": "https://app.example.com/tasks/",
    "oidc_service_account": "invoker@my-project.iam.gserviceaccount.com",
}


def create_queues_and_jobs(cloud) -> None:
    """As infrastructure (or `tasks_dev`) would: every queue and job of the test settings."""
    for queue in TASKS["default"]["QUEUES"]:
        cloud.configure_queue(queue)
    cloud.configure_job("batch", backend="jobs")


def google_config(**options):
    config, problems = parse_options("default", {**GOOGLE_OPTIONS, **options}, {"default"})
    assert not problems
    target = resolve_target(config, at_run_time=False)
    assert target.kind is TargetKind.GOOGLE
    return config, target


def failures(checks):
    return [check for check in checks if not check.ok]


def test_every_check_passes_on_the_test_settings_once_queues_and_jobs_exist():
    with emulated() as cloud:
        create_queues_and_jobs(cloud)
        checks = run_doctor()

    assert failures(checks) == []
    messages = [check.message for check in checks]
    # Configuration and emulator of both backends, URLs and OIDC, 3 queues and 1 job (each
    # existing, then its permissions).
    assert len(messages) == 2 * 2 + 2 + 3 * 2 + 1 * 2
    assert any("roles/iam.serviceAccountUser" in message for message in messages)


def test_a_missing_queue_and_a_missing_job_fail_with_a_hint():
    with emulated() as cloud:
        cloud.configure_queue("default")
        checks = run_doctor()

    failed = {check.message.split(": ", 2)[1]: check for check in failures(checks)}
    assert set(failed) == {"queue 'batch'", "queue 'emails'", "queue 'slow'"}
    assert "queues/slow-lane does not exist" in failed["queue 'slow'"].message
    assert "configure_queue()" in failed["queue 'slow'"].hint
    assert "jobs/batch does not exist" in failed["queue 'batch'"].message


def test_a_queue_whose_settings_differ_from_queue_config_fails_until_synced(settings):
    options = {**TASKS["default"]["OPTIONS"], "queue_config": {"emails": {"max_attempts": 5}}}
    settings.TASKS = {**TASKS, "default": {**TASKS["default"], "OPTIONS": options}}
    with emulated() as cloud:
        for queue in TASKS["default"]["QUEUES"]:
            if queue != "emails":  # emulated() made "emails" as configured...
                cloud.configure_queue(queue)
        cloud.configure_job("batch", backend="jobs")
        assert not any("queue_config" in c.message for c in failures(run_doctor()))
        cloud.configure_queue("emails", max_attempts=9)  # ...then someone changed it by hand
        differ = [c for c in failures(run_doctor()) if "queue_config" in c.message]
        call_command("sync_queues", stdout=io.StringIO())
        after = run_doctor()

    [check] = differ
    assert "queue 'emails': its settings differ from queue_config: max_attempts: 9 -> 5" in (
        check.message
    )
    assert "manage.py sync_queues" in check.hint
    assert failures(after) == []
    assert any("'emails': its settings match queue_config" in c.message for c in after)


def test_a_denied_permission_is_named_with_the_role_that_grants_it():
    with emulated() as cloud:
        create_queues_and_jobs(cloud)
        cloud.cloud.faults.add(
            FaultRule(
                operation="TestIamPermissions",
                queue="emails",
                effect=DenyPermissions(["cloudtasks.tasks.create"]),
            )
        )
        checks = run_doctor()

    [failed] = failures(checks)
    assert failed.message == (
        "TASKS['default']: the caller lacks cloudtasks.tasks.create "
        "(roles/cloudtasks.enqueuer, for enqueue) on queue emails"
    )
    assert "--role=roles/cloudtasks.enqueuer" in failed.hint


def test_a_job_denying_every_permission_names_each_with_its_role():
    with emulated() as cloud:
        create_queues_and_jobs(cloud)
        cloud.cloud.faults.add(
            FaultRule(service="run_jobs", operation="TestIamPermissions", effect=DenyPermissions())
        )
        [failed] = failures(run_doctor())

    assert "run.jobs.runWithOverrides (roles/run.developer" in failed.message
    assert "run.jobs.run (roles/run.invoker" in failed.message


def test_invalid_options_are_reported_and_the_cloud_is_not_asked(settings):
    broken = {**TASKS["default"]["OPTIONS"], "location": "Mars"}
    settings.TASKS = {"default": {**TASKS["default"], "OPTIONS": broken}}
    with emulated():
        checks = run_doctor()

    [check] = checks
    assert not check.ok
    assert "is not a Google Cloud region" in check.message and "tasks_google.E004" in check.message
    assert check.hint


def test_http_base_url_fails_the_https_check_on_google():
    config, target = google_config(base_url="http://app.example.com/tasks/")

    check = check_urls("TASKS['default']", config, target)

    assert not check.ok
    assert "base_url http://app.example.com/tasks/" in check.message
    assert "execute_url http://app.example.com/tasks/execute/" in check.message
    assert "https" in check.hint
    assert check_urls("TASKS['default']", *google_config()).ok


def test_an_execute_url_on_another_origin_needs_its_audience():
    config, target = google_config(execute_url="https://worker.example.com/tasks/execute/")

    check = check_oidc("TASKS['default']", config, target)

    assert not check.ok
    assert "audience https://app.example.com" in check.message
    assert "'https://worker.example.com'" in check.hint
    fixed = google_config(
        execute_url="https://worker.example.com/tasks/execute/",
        oidc_audience="https://worker.example.com",
    )
    assert check_oidc("TASKS['default']", *fixed).ok


def test_unverified_tokens_fail_on_google_only():
    config, target = google_config(oidc_verify=False, oidc_service_account=None)

    assert not check_oidc("TASKS['default']", config, target).ok
    with emulated():
        assert check_oidc("TASKS['default']", config, resolve_target(config)).ok


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_emulator_that_does_not_answer_is_named_and_stops_the_cloud_checks(settings):
    host = f"127.0.0.1:{free_port()}"
    options = {**TASKS["default"]["OPTIONS"], "transport": "gcp", "emulator_host": host}
    settings.TASKS = {"default": {**TASKS["default"], "OPTIONS": options}}
    settings.DEBUG = True

    checks = run_doctor()

    assert [check.ok for check in checks] == [True, False]
    assert f"the emulator at {host} does not answer" in checks[1].message
    assert "tasks_dev" in checks[1].hint


def test_every_check_passes_against_an_emulator_server_over_grpc(settings):
    queues = [QueueSpec(queue_id) for queue_id in ("default", "emails", "slow-lane")]
    with start_server(queues=queues) as server:
        options = {
            **TASKS["default"]["OPTIONS"],
            "transport": "gcp",
            "emulator_host": server.grpc_target,
            "emulator_url": server.url,
        }
        settings.TASKS = {"default": {**TASKS["default"], "OPTIONS": options}}
        settings.DEBUG = True  # W001: an emulator while DEBUG is False

        checks = run_doctor()
        server.cloud.faults.add(FaultRule(operation="TestIamPermissions", effect=DenyPermissions()))
        denied = failures(run_doctor())

    assert failures(checks) == []
    assert f"the emulator answers at {server.grpc_target}" in checks[1].message
    assert len(denied) == 3
    assert all("cloudtasks.tasks.create (roles/cloudtasks.enqueuer" in c.message for c in denied)


def test_google_settings_have_no_emulator_check():
    assert check_emulator("TASKS['default']", google_config()[1]) is None

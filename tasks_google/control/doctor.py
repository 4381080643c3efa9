"""The preflight of `manage.py tasks_doctor`: a deployment's configuration against its cloud.

For every tasks_google backend in TASKS: its system-check problems first (invalid OPTIONS stop
its other checks), the emulator it talks to, for a Cloud Tasks backend its URLs and OIDC
settings, then each queue (or Cloud Run job): that it exists and that the caller holds the
permissions tasks_google uses on it, asked with TestIamPermissions. Each check returns `Check`
results; nothing is changed anywhere.
"""

import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from google.api_core import exceptions as api_exceptions
from google.auth import exceptions as auth_exceptions
from google.cloud import tasks_v2

from tasks_google.backends.cloud_tasks import CloudTasksBackend
from tasks_google.backends.stored import StoredExecutionBackend
from tasks_google.config.dev_emulator import START_HINT
from tasks_google.config.options import CloudTasksOptions, RunJobsOptions
from tasks_google.config.queue_config import QueueSettings
from tasks_google.config.targets import Target, TargetKind
from tasks_google.control.queue_sync import differences
from tasks_google.exceptions import EmulatorUnavailableError
from tasks_google.transports import Transport
from tasks_google.transports.queue_messages import queue_settings

#: What tasks_google does on a Cloud Tasks queue: permission -> (a role granting it, what uses it).
QUEUE_PERMISSIONS: dict[str, tuple[str, str]] = {
    "cloudtasks.tasks.create": ("roles/cloudtasks.enqueuer", "enqueue"),
    "cloudtasks.tasks.get": ("roles/cloudtasks.viewer", "reconcile_tasks"),
    "cloudtasks.tasks.delete": ("roles/cloudtasks.taskDeleter", "cancel_task"),
    "cloudtasks.queues.get": ("roles/cloudtasks.viewer", "the retry limits each attempt reads"),
}
#: What tasks_google does on a Cloud Run job: permission -> (a role granting it, what uses it).
JOB_PERMISSIONS: dict[str, tuple[str, str]] = {
    "run.jobs.run": ("roles/run.invoker", "enqueue"),
    "run.jobs.runWithOverrides": ("roles/run.developer", "enqueue (the execution id override)"),
    "run.jobs.get": ("roles/run.viewer", "the job's max_retries"),
    "run.executions.get": ("roles/run.viewer", "reconcile_tasks"),
    "run.executions.cancel": ("roles/run.developer", "cancel_task"),
}
#: Lets the account that creates Cloud Tasks have them sign ID tokens as the OIDC account
#: (iam.serviceAccounts.actAs); no TestIamPermissions of these APIs can check it.
ACT_AS_ROLE = "roles/iam.serviceAccountUser"
#: How long the emulator's control API may take to answer its health check.
HEALTH_SECONDS = 3.0
#: What a call to the cloud raises when the cloud, the credentials or the emulator refuse it.
CLOUD_ERRORS = (api_exceptions.GoogleAPIError, auth_exceptions.GoogleAuthError)


@dataclass(frozen=True)
class Check:
    """The outcome of one check: what was found, and what to do when it failed."""

    ok: bool
    message: str
    hint: str = ""


class CloudCallFailed(Exception):
    """A call the doctor made to the cloud failed; `check` says so."""

    def __init__(self, check: Check) -> None:
        super().__init__(check.message)
        self.check = check


def run_doctor() -> list[Check]:
    """Every check of every tasks_google backend in TASKS, in the order of TASKS."""
    from tasks_google.framework import task_backends

    found: list[Check] = []
    for alias in task_backends:
        try:
            backend = task_backends[alias]
        except Exception as exc:
            if str(settings.TASKS[alias].get("BACKEND", "")).startswith("tasks_google."):
                found.append(
                    Check(
                        False,
                        f"TASKS[{alias!r}] cannot be built: {exc}",
                        "`manage.py check` names the problem.",
                    )
                )
            continue
        if isinstance(backend, StoredExecutionBackend):
            found.extend(backend_checks(backend))
    if not found:
        found.append(
            Check(
                False,
                "No tasks_google backend in TASKS",
                "Add one, e.g. 'BACKEND': 'tasks_google.backends.CloudTasksBackend' "
                "(docs/configuration.md).",
            )
        )
    return found


def backend_checks(backend: StoredExecutionBackend) -> list[Check]:
    """The checks of one backend: its configuration, then the cloud it points at."""
    found = check_configuration(backend)
    try:
        config = backend.config
    except ImproperlyConfigured:
        return found  # invalid OPTIONS: nothing to ask the cloud about
    target = backend.target
    if target.kind is TargetKind.NO_EMULATOR:
        return found  # W003 said it: the transport refuses to send a demo project to Google
    where = f"TASKS[{backend.alias!r}]"
    emulator = check_emulator(where, target)
    if emulator is not None:
        found.append(emulator)
        if not emulator.ok:
            return found
    transport = backend.transport
    if isinstance(config, CloudTasksOptions):
        found.append(check_urls(where, config, target))
        found.append(check_oidc(where, config, target))
        for queue in sorted(backend.queues):
            found.extend(check_queue(where, transport, config, queue, target))
    elif isinstance(config, RunJobsOptions):
        for queue in sorted(backend.queues):
            found.extend(check_job(where, transport, config, queue, target))
    return found


def check_configuration(backend: StoredExecutionBackend) -> list[Check]:
    """The backend's system-check problems (those of `manage.py check`), or one passed check."""
    where = f"TASKS[{backend.alias!r}]"
    messages = backend.check()
    if not messages:
        kind = "Cloud Tasks" if isinstance(backend, CloudTasksBackend) else "Cloud Run Jobs"
        return [Check(True, f"{where}: OPTIONS are valid ({kind}, {backend.target.kind.value})")]
    return [
        Check(False, f"{message.msg} ({message.id})", message.hint or "See docs/configuration.md.")
        for message in messages
    ]


def check_emulator(where: str, target: Target) -> Check | None:
    """Whether the emulator the backend talks to answers (None when it talks to Google)."""
    if target.kind is TargetKind.IN_PROCESS:
        return Check(True, f"{where}: the in-process emulator runs in this process")
    if target.kind is not TargetKind.EMULATOR or target.emulator_host is None:
        return None
    from tasks_google.transports.unreachable_emulator import connect_problem

    host = target.emulator_host
    problem = connect_problem(host)
    if problem is not None:
        return Check(
            False,
            f"{where}: the emulator at {host} does not answer ({problem})",
            f"{START_HINT} Or unset {target.emulator_host_env} and OPTIONS['emulator_host'] to "
            "use Google.",
        )
    if target.control_url:
        try:
            with urllib.request.urlopen(target.control_url + "/health", timeout=HEALTH_SECONDS):
                pass
        except OSError as exc:
            return Check(
                False,
                f"{where}: the emulator's control API at {target.control_url} does not answer "
                f"({exc}); execute/ reads the emulator's signing keys there",
                "Set TASKS_GOOGLE_EMULATOR_URL (or OPTIONS['emulator_url']) to the URL "
                "`python -m emulator` printed.",
            )
    return Check(
        True, f"{where}: the emulator answers at {host} (control API {target.control_url})"
    )


def check_urls(where: str, config: CloudTasksOptions, target: Target) -> Check:
    """On Google, the URLs Cloud Tasks and Cloud Scheduler call must be https."""
    urls = {
        "base_url": config.base_url,
        "execute_url": config.execute_url,
        "schedule_url": config.schedule_url,
    }
    if target.kind is not TargetKind.GOOGLE:
        return Check(
            True, f"{where}: execute_url {config.execute_url} (http is fine on an emulator)"
        )
    plain = [f"{name} {url}" for name, url in urls.items() if urlsplit(url).scheme != "https"]
    if plain:
        return Check(
            False,
            f"{where}: {', '.join(plain)} is not https, and the backend talks to Google: ID "
            "tokens and arguments would cross the internet in clear text",
            "Set OPTIONS['base_url'] (and execute_url or schedule_url if set) to the https URL "
            "where tasks_google.urls is mounted, e.g. 'https://app.example.com/tasks/'.",
        )
    return Check(True, f"{where}: execute_url {config.execute_url} is https")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def check_oidc(where: str, config: CloudTasksOptions, target: Target) -> Check:
    """Deliveries carry ID tokens that execute/ accepts: verified, with the audience of the
    origin they are delivered to."""
    if not config.oidc_verify:
        return Check(
            target.kind is not TargetKind.GOOGLE,
            f"{where}: execute/ does not verify ID tokens ('oidc_verify': False)",
            "Set OPTIONS['oidc_service_account'] and remove 'oidc_verify': False.",
        )
    audience, origin = config.audience, _origin(config.execute_url)
    if audience != origin:
        source = "oidc_audience" if config.oidc_audience else "the origin of base_url"
        return Check(
            False,
            f"{where}: ID tokens carry the audience {audience} ({source}), but deliveries go to "
            f"{origin} (execute_url): Cloud Run and other verifiers expect the origin called",
            f"Set OPTIONS['oidc_audience'] to {origin!r}, or mount execute/ under base_url.",
        )
    return Check(
        True,
        f"{where}: deliveries carry ID tokens of {config.oidc_service_account} for audience "
        f"{audience}, as execute/ verifies them; the account that enqueues needs "
        f"{ACT_AS_ROLE} on {config.oidc_service_account} (not checked: no API tests it)",
    )


def _calling[T](where: str, what: str, call: Callable[[], T]) -> T:
    """`call()`, its cloud errors turned into a failed check naming `what` was asked."""
    try:
        return call()
    except (*CLOUD_ERRORS, EmulatorUnavailableError) as exc:
        message = getattr(exc, "message", None) or str(exc)
        raise CloudCallFailed(
            Check(
                False,
                f"{where}: {what} failed: {type(exc).__name__}: {message}",
                "Check the credentials (`gcloud auth application-default login`), the project "
                "and location, and that the API is enabled.",
            )
        ) from exc


def _missing_hint(target: Target, create: str) -> str:
    """What to do about a queue or job that does not exist on `target`."""
    if target.kind is TargetKind.GOOGLE:
        return f"Create it: `{create}` (tasks_google never creates it on Google)."
    if target.kind is TargetKind.IN_PROCESS:
        return (
            "Create it first (in tests: EmulatedCloud.configure_queue() or configure_job()); "
            "otherwise the first enqueue creates it with default settings."
        )
    return (
        "Start the emulator with `manage.py tasks_dev`, which creates the queues and jobs of "
        "TASKS (or `python -m emulator --queue ID` / `--job ID`); otherwise the first enqueue "
        "creates it with default settings."
    )


def check_queue(
    where: str, transport: Transport, config: CloudTasksOptions, queue: str, target: Target
) -> list[Check]:
    """The Cloud Tasks queue of Django queue `queue` exists, runs, and the caller may use it."""
    path, queue_id = config.queue_path(queue), config.queue_id(queue)
    try:
        found_queue = _calling(where, f"GetQueue {path}", lambda: transport.get_queue(path))
    except CloudCallFailed as failed:
        if not isinstance(failed.__cause__, api_exceptions.NotFound):
            return [failed.check]
        create = f"gcloud tasks queues create {queue_id} --location={config.location}"
        return [
            Check(
                False,
                f"{where}: queue {queue!r}: {path} does not exist",
                _missing_hint(target, f"{create} --project={config.project_id}"),
            )
        ]
    state = found_queue.state.name
    if state != "RUNNING":
        return [
            Check(
                False,
                f"{where}: queue {queue!r}: {path} is {state}: no task is delivered",
                f"Resume it: `gcloud tasks queues resume {queue_id} --location={config.location}`.",
            )
        ]
    found = [Check(True, f"{where}: queue {queue!r}: {path} exists and is RUNNING")]
    if queue in config.queue_config:
        found.append(check_queue_settings(where, found_queue, config.queue_config[queue], queue))
    asked = list(QUEUE_PERMISSIONS)
    try:
        granted = _calling(
            where,
            f"TestIamPermissions on {path}",
            lambda: transport.queue_permissions(path, asked),
        )
    except CloudCallFailed as failed:
        return [*found, failed.check]
    binding = f"gcloud tasks queues add-iam-policy-binding {queue_id} --location={config.location}"
    return [*found, _permissions(where, f"queue {queue_id}", QUEUE_PERMISSIONS, granted, binding)]


def check_queue_settings(
    where: str, found: tasks_v2.Queue, settings: QueueSettings, queue: str
) -> Check:
    """The queue as found has the `settings` its `queue_config` gives (in the keys given)."""
    changes = differences(settings, queue_settings(found, settings))
    if changes:
        return Check(
            False,
            f"{where}: queue {queue!r}: its settings differ from queue_config: "
            + ", ".join(changes),
            "Run `manage.py sync_queues` to apply queue_config.",
        )
    return Check(True, f"{where}: queue {queue!r}: its settings match queue_config")


def check_job(
    where: str, transport: Transport, config: RunJobsOptions, queue: str, target: Target
) -> list[Check]:
    """The Cloud Run job of Django queue `queue` exists and the caller may run and stop it."""
    path, job_id = config.job_path(queue), config.queue_id(queue)
    try:
        exists = _calling(where, f"GetJob {path}", lambda: transport.job_exists(path))
        if not exists:
            create = f"gcloud run jobs deploy {job_id} --region={config.location} --image=..."
            return [
                Check(
                    False,
                    f"{where}: queue {queue!r}: job {path} does not exist",
                    _missing_hint(target, create),
                )
            ]
        asked = list(JOB_PERMISSIONS)
        granted = _calling(
            where, f"TestIamPermissions on {path}", lambda: transport.job_permissions(path, asked)
        )
    except CloudCallFailed as failed:
        return [failed.check]
    binding = f"gcloud run jobs add-iam-policy-binding {job_id} --region={config.location}"
    return [
        Check(True, f"{where}: queue {queue!r}: job {path} exists"),
        _permissions(where, f"job {job_id}", JOB_PERMISSIONS, granted, binding),
    ]


def _permissions(
    where: str,
    resource: str,
    needed: dict[str, tuple[str, str]],
    granted: list[str],
    binding: str,
) -> Check:
    """Whether every permission of `needed` is among those `granted` on `resource`."""
    missing = [permission for permission in needed if permission not in granted]
    if not missing:
        return Check(True, f"{where}: the caller holds {', '.join(needed)} on {resource}")
    lacks = "; ".join(f"{p} ({needed[p][0]}, for {needed[p][1]})" for p in missing)
    roles = sorted({needed[p][0] for p in missing})
    return Check(
        False,
        f"{where}: the caller lacks {lacks} on {resource}",
        f"Grant {', '.join(roles)} to the service account the deployment runs as, e.g. "
        f"`{binding} --member=serviceAccount:ACCOUNT --role={roles[0]}`.",
    )

"""The OPTIONS of a tasks_google backend: names, defaults, validation.

This module is the single source of truth for every option's default; the docs quote it.
Validation never raises: it returns problems, which `check()` reports as system-check errors and
`enqueue()` raises as `ImproperlyConfigured`, so a typo is caught by `manage.py check` in CI.
"""

import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

#: Transports a backend may use.
TRANSPORTS = ("gcp", "inprocess")
DEFAULT_TRANSPORT = "gcp"
DEFAULT_HEARTBEAT_INTERVAL_SECONDS = 10.0
DEFAULT_HEARTBEAT_TIMEOUT_SECONDS = 60.0
DEFAULT_CANCEL_POLL_INTERVAL_SECONDS = 1.0

PROJECT_ID_RE = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
LOCATION_RE = re.compile(r"^[a-z]+(-[a-z0-9]+)+$")
QUEUE_ID_RE = re.compile(r"^[A-Za-z0-9-]{1,100}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
SCHEDULER_AFFIX_RE = re.compile(r"^[A-Za-z0-9_-]{0,100}$")
HOST_PORT_RE = re.compile(r"^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$")

#: Environment variables naming the emulator (printed by `python -m emulator`).
EMULATOR_HOST_ENV = "CLOUD_TASKS_EMULATOR_HOST"
EMULATOR_URL_ENV = "TASKS_GOOGLE_EMULATOR_URL"
#: Projects whose id starts with this exist only in the emulator; they never reach Google.
DEMO_PROJECT_PREFIX = "demo-"

JOB_ID_RE = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
#: The command of the Cloud Run jobs tasks_google creates in the emulator (in the project's
#: BASE_DIR): the runtime's entry point, run by the interpreter that runs Django (not `python`
#: from PATH, which may be another one). Jobs on Google run the container command you deployed.
DEFAULT_COMMAND = (sys.executable, "manage.py", "execute_task")
RUN_EMULATOR_HOST_ENV = "CLOUD_RUN_EMULATOR_HOST"
SCHEDULER_EMULATOR_HOST_ENV = "CLOUD_SCHEDULER_EMULATOR_HOST"

_SHARED = (
    "project_id",
    "location",
    "queue_aliases",
    "transport",
    "emulator_host",
    "emulator_url",
    "heartbeat_interval_seconds",
    "heartbeat_timeout_seconds",
    "cancel_poll_interval_seconds",
)


@dataclass(frozen=True)
class BackendKind:
    """What differs between backends' OPTIONS: keys, the emulator variable, the target ids."""

    required: tuple[str, ...]
    known: tuple[str, ...]
    emulator_host_env: str
    target_noun: str
    target_id_re: re.Pattern
    target_rule: str


CLOUD_TASKS = BackendKind(
    required=("project_id", "location", "base_url"),
    known=(
        *_SHARED,
        "base_url",
        "oidc_service_account",
        "oidc_audience",
        "oidc_verify",
        "schedule_job_prefix",
        "schedule_job_suffix",
    ),
    emulator_host_env="CLOUD_TASKS_EMULATOR_HOST",
    target_noun="Cloud Tasks queue id",
    target_id_re=QUEUE_ID_RE,
    target_rule="Queue ids are 1 to 100 letters, digits or hyphens",
)
RUN_JOBS = BackendKind(
    required=("project_id", "location"),
    known=(*_SHARED, "command"),
    emulator_host_env=RUN_EMULATOR_HOST_ENV,
    target_noun="Cloud Run job id",
    target_id_re=JOB_ID_RE,
    target_rule="Job ids are up to 63 lowercase letters, digits or hyphens, starting with a letter",
)


@dataclass(frozen=True)
class Problem:
    """One configuration error, with a stable system-check id."""

    id: str
    msg: str
    hint: str | None = None


@dataclass(frozen=True)
class BackendOptions:
    """Validated OPTIONS of one backend."""

    project_id: str
    location: str
    base_url: str = ""
    oidc_service_account: str | None = None
    oidc_audience: str | None = None
    queue_aliases: Mapping[str, str] = field(default_factory=dict)
    transport: str = DEFAULT_TRANSPORT
    oidc_verify: bool = True
    emulator_host: str | None = None
    emulator_url: str | None = None
    heartbeat_interval_seconds: float = DEFAULT_HEARTBEAT_INTERVAL_SECONDS
    heartbeat_timeout_seconds: float = DEFAULT_HEARTBEAT_TIMEOUT_SECONDS
    cancel_poll_interval_seconds: float = DEFAULT_CANCEL_POLL_INTERVAL_SECONDS
    command: tuple[str, ...] = DEFAULT_COMMAND
    emulator_host_env: str = EMULATOR_HOST_ENV
    schedule_job_prefix: str = ""
    schedule_job_suffix: str = ""

    @property
    def audience(self) -> str:
        """The OIDC audience: the configured one, else the origin of `base_url`."""
        if self.oidc_audience:
            return self.oidc_audience
        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def execute_url(self) -> str:
        """Where Cloud Tasks delivers executions (`tasks_google.urls` → `execute/`)."""
        return self.base_url + "execute/"

    @property
    def location_path(self) -> str:
        return f"projects/{self.project_id}/locations/{self.location}"

    def queue_id(self, queue_name: str) -> str:
        """The Cloud Tasks queue id for a Django queue name (after `queue_aliases`)."""
        return self.queue_aliases.get(queue_name, queue_name)

    def queue_path(self, queue_name: str) -> str:
        return f"{self.location_path}/queues/{self.queue_id(queue_name)}"

    def job_path(self, queue_name: str) -> str:
        """The Cloud Run job that runs a Django queue's executions (after `queue_aliases`)."""
        return f"{self.location_path}/jobs/{self.queue_id(queue_name)}"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def parse_options(
    alias: str, options: Mapping[str, Any], queues: set[str], kind: BackendKind = CLOUD_TASKS
) -> tuple[BackendOptions | None, list[Problem]]:
    """Validate a backend's OPTIONS; return the parsed options (None if invalid) and problems."""
    where = f"TASKS[{alias!r}]['OPTIONS']"
    problems: list[Problem] = []
    if not isinstance(options, Mapping):
        return None, [Problem("tasks_google.E002", f"{where} must be a dict.")]

    for key in sorted(set(options) - set(kind.known)):
        problems.append(
            Problem(
                "tasks_google.E001",
                f"{where} has an unknown key {key!r}.",
                hint="Allowed keys: " + ", ".join(kind.known) + ".",
            )
        )
    for key in kind.required:
        if options.get(key) in (None, ""):
            problems.append(Problem("tasks_google.E002", f"{where} is missing {key!r}."))

    project_id = options.get("project_id")
    if project_id and not (isinstance(project_id, str) and PROJECT_ID_RE.match(project_id)):
        problems.append(
            Problem(
                "tasks_google.E003",
                f"{where}['project_id'] = {project_id!r} is not a Google Cloud project id.",
                hint="6 to 30 characters: lowercase letters, digits and hyphens, "
                "starting with a letter.",
            )
        )
    location = options.get("location")
    if location and not (isinstance(location, str) and LOCATION_RE.match(location)):
        problems.append(
            Problem(
                "tasks_google.E004",
                f"{where}['location'] = {location!r} is not a Google Cloud region.",
                hint="A region id such as 'us-central1' or 'europe-west1'.",
            )
        )
    base_url = options.get("base_url")
    if base_url:
        parts = urlsplit(base_url) if isinstance(base_url, str) else None
        if not parts or parts.scheme not in ("http", "https") or not parts.netloc:
            problems.append(
                Problem(
                    "tasks_google.E005",
                    f"{where}['base_url'] = {base_url!r} is not an absolute http(s) URL.",
                    hint="The public URL where tasks_google.urls is mounted, "
                    "e.g. 'https://app.example.com/tasks/'.",
                )
            )
        elif parts.query or parts.fragment:
            problems.append(
                Problem(
                    "tasks_google.E005",
                    f"{where}['base_url'] = {base_url!r} must not have a query or fragment.",
                )
            )
    transport = options.get("transport", DEFAULT_TRANSPORT)
    if transport not in TRANSPORTS:
        problems.append(
            Problem(
                "tasks_google.E006",
                f"{where}['transport'] = {transport!r} is not a transport.",
                hint="Allowed: " + ", ".join(repr(t) for t in TRANSPORTS) + ".",
            )
        )
    aliases = options.get("queue_aliases", {})
    if not isinstance(aliases, Mapping) or not all(isinstance(k, str) for k in aliases):
        problems.append(
            Problem(
                "tasks_google.E007",
                f"{where}['queue_aliases'] must map queue names (str) to Cloud Tasks queue ids.",
            )
        )
        aliases = {}
    for name in sorted(set(queues) | set(aliases)):
        queue_id = aliases.get(name, name)
        if not (isinstance(queue_id, str) and kind.target_id_re.match(queue_id)):
            source = f"{where}['queue_aliases'][{name!r}]" if name in aliases else f"queue {name!r}"
            problems.append(
                Problem(
                    "tasks_google.E007",
                    f"{source} gives the {kind.target_noun} {queue_id!r}, which is not valid.",
                    hint=f"{kind.target_rule}; map other names with OPTIONS['queue_aliases'].",
                )
            )
    account = options.get("oidc_service_account")
    if account is not None and not (isinstance(account, str) and EMAIL_RE.match(account)):
        problems.append(
            Problem(
                "tasks_google.E008",
                f"{where}['oidc_service_account'] = {account!r} is not a service account email.",
                hint="e.g. 'tasks-invoker@my-project.iam.gserviceaccount.com'.",
            )
        )
    audience = options.get("oidc_audience")
    if audience is not None and not (isinstance(audience, str) and audience):
        problems.append(
            Problem(
                "tasks_google.E009",
                f"{where}['oidc_audience'] = {audience!r} must be a non-empty string.",
                hint="Leave it unset to use the origin of base_url.",
            )
        )
    verify = options.get("oidc_verify", True)
    if not isinstance(verify, bool):
        problems.append(
            Problem(
                "tasks_google.E015", f"{where}['oidc_verify'] = {verify!r} must be True or False."
            )
        )
    elif verify and account is None and "oidc_service_account" in kind.known:
        problems.append(
            Problem(
                "tasks_google.E012",
                f"{where} needs 'oidc_service_account': execute/ accepts only deliveries whose ID "
                "token was issued for that service account.",
                hint="Set it to the service account Cloud Tasks signs tokens as, or set "
                "'oidc_verify': False (never in production).",
            )
        )
    host_env = kind.emulator_host_env
    emulator_host = options.get("emulator_host") or os.environ.get(host_env) or None
    if emulator_host is not None and not (
        isinstance(emulator_host, str) and HOST_PORT_RE.match(emulator_host)
    ):
        source = f"{where}['emulator_host']" if options.get("emulator_host") else host_env
        problems.append(
            Problem(
                "tasks_google.E013",
                f"{source} = {emulator_host!r} is not host:port.",
                hint="e.g. '127.0.0.1:8123', as printed by `python -m emulator`.",
            )
        )
        emulator_host = None
    emulator_url = options.get("emulator_url") or os.environ.get(EMULATOR_URL_ENV) or None
    if emulator_url is not None:
        parts = urlsplit(emulator_url) if isinstance(emulator_url, str) else None
        if not parts or parts.scheme not in ("http", "https") or not parts.netloc:
            source = f"{where}['emulator_url']" if options.get("emulator_url") else EMULATOR_URL_ENV
            problems.append(
                Problem(
                    "tasks_google.E014",
                    f"{source} = {emulator_url!r} is not an http(s) URL.",
                    hint="The emulator's control API, e.g. 'http://127.0.0.1:8124'.",
                )
            )
    elif emulator_host is not None:
        # `python -m emulator` serves its control API on the port after the gRPC one.
        match = HOST_PORT_RE.match(emulator_host)
        emulator_url = f"http://{match.group(1)}:{int(match.group(2)) + 1}"
    interval = options.get("heartbeat_interval_seconds", DEFAULT_HEARTBEAT_INTERVAL_SECONDS)
    timeout = options.get("heartbeat_timeout_seconds", DEFAULT_HEARTBEAT_TIMEOUT_SECONDS)
    cancel_poll = options.get("cancel_poll_interval_seconds", DEFAULT_CANCEL_POLL_INTERVAL_SECONDS)
    for key, value in (
        ("heartbeat_interval_seconds", interval),
        ("heartbeat_timeout_seconds", timeout),
        ("cancel_poll_interval_seconds", cancel_poll),
    ):
        if not _is_number(value) or value <= 0:
            problems.append(
                Problem(
                    "tasks_google.E010",
                    f"{where}[{key!r}] = {value!r} must be a positive number of seconds.",
                )
            )
    if _is_number(interval) and _is_number(timeout) and 0 < timeout <= interval:
        problems.append(
            Problem(
                "tasks_google.E010",
                f"{where}['heartbeat_timeout_seconds'] ({timeout}) must be greater than "
                f"'heartbeat_interval_seconds' ({interval}).",
                hint="A lease lasts heartbeat_timeout_seconds and is renewed every "
                "heartbeat_interval_seconds; leave room for a few missed beats.",
            )
        )

    command = options.get("command", DEFAULT_COMMAND)
    if not (
        isinstance(command, list | tuple)
        and command
        and all(isinstance(part, str) and part for part in command)
    ):
        problems.append(
            Problem(
                "tasks_google.E017",
                f"{where}['command'] = {command!r} must be a non-empty list of strings.",
                hint="The container command that runs an execution, e.g. "
                f"{list(DEFAULT_COMMAND)!r}.",
            )
        )

    affixes = {k: options.get(k, "") for k in ("schedule_job_prefix", "schedule_job_suffix")}
    for key, value in affixes.items():
        if not (isinstance(value, str) and SCHEDULER_AFFIX_RE.match(value)):
            problems.append(
                Problem(
                    "tasks_google.E018",
                    f"{where}[{key!r}] = {value!r} may hold only letters, digits, '-' and '_'.",
                    hint="Cloud Scheduler job ids are {prefix}{schedule name}{suffix}, "
                    "e.g. prefix 'shop--' or suffix '-staging'.",
                )
            )

    if problems:
        return None, problems
    if base_url and not base_url.endswith("/"):
        base_url += "/"
    return (
        BackendOptions(
            project_id=project_id,
            location=location,
            base_url=base_url or "",
            oidc_service_account=account,
            oidc_audience=audience,
            queue_aliases=dict(aliases),
            transport=transport,
            oidc_verify=verify,
            emulator_host=emulator_host,
            emulator_url=emulator_url.rstrip("/") if emulator_url else None,
            heartbeat_interval_seconds=float(interval),
            heartbeat_timeout_seconds=float(timeout),
            cancel_poll_interval_seconds=float(cancel_poll),
            command=tuple(command),
            emulator_host_env=host_env,
            schedule_job_prefix=affixes["schedule_job_prefix"],
            schedule_job_suffix=affixes["schedule_job_suffix"],
        ),
        [],
    )

"""The OPTIONS of a tasks_google backend: names, defaults, validation.

This module is the single source of truth for every option's default; the docs quote it.
`VALIDATORS` is the table: one `Option` row per key (its default, the check its value must pass,
the system-check id and message when it does not), with the checks that relate several keys
placed where they report. Validation never raises: it returns problems, which `check()` reports
as system-check errors and `enqueue()` raises as `ImproperlyConfigured`, so a typo is caught by
`manage.py check` in CI.
"""

import os
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar
from urllib.parse import urlsplit

from tasks_google.config.queue_config import (
    QueueSettings,
    is_queue_config,
    report_queue_config_problems,
)

#: Transports a backend may use.
TRANSPORTS = ("gcp", "inprocess")
DEFAULT_TRANSPORT = "gcp"
DEFAULT_HEARTBEAT_INTERVAL_SECONDS = 10.0
DEFAULT_HEARTBEAT_TIMEOUT_SECONDS = 60.0
DEFAULT_CANCEL_POLL_INTERVAL_SECONDS = 1.0
#: How many entries an execution keeps in `attempts`, `errors` and `worker_ids` (the most recent).
DEFAULT_MAX_HISTORY_ENTRIES = 100
#: The endpoints' paths under `base_url` (`tasks_google.urls` mounts them there).
EXECUTE_PATH = "execute/"
SCHEDULE_PATH = "schedule/"

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


@dataclass(frozen=True)
class Problem:
    """One configuration error, with a stable system-check id."""

    id: str
    msg: str
    hint: str | None = None


@dataclass(frozen=True)
class BackendOptions:
    """Validated OPTIONS that every backend takes (its keys, in the order the E001 hint lists)."""

    #: The environment variable that names this backend's emulator.
    emulator_host_env: ClassVar[str]

    project_id: str
    location: str
    queue_aliases: Mapping[str, str]
    transport: str
    emulator_host: str | None
    emulator_url: str | None
    heartbeat_interval_seconds: float
    heartbeat_timeout_seconds: float
    cancel_poll_interval_seconds: float
    run_once: bool
    max_history_entries: int

    @property
    def location_path(self) -> str:
        return f"projects/{self.project_id}/locations/{self.location}"

    def queue_id(self, queue_name: str) -> str:
        """The queue or job id for a Django queue name (after `queue_aliases`)."""
        return self.queue_aliases.get(queue_name, queue_name)


@dataclass(frozen=True)
class CloudTasksOptions(BackendOptions):
    """Validated OPTIONS of a Cloud Tasks backend."""

    emulator_host_env: ClassVar[str] = EMULATOR_HOST_ENV

    base_url: str
    execute_url: str
    schedule_url: str
    oidc_service_account: str | None
    oidc_audience: str | None
    oidc_verify: bool
    schedule_job_prefix: str
    schedule_job_suffix: str
    #: Django queue name -> its Cloud Tasks queue's settings (`sync_queues`, the emulator).
    queue_config: Mapping[str, QueueSettings]

    @property
    def audience(self) -> str:
        """The OIDC audience: the configured one, else the origin of `base_url`."""
        if self.oidc_audience:
            return self.oidc_audience
        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{parts.netloc}"

    def queue_path(self, queue_name: str) -> str:
        """The Cloud Tasks queue of a Django queue (after `queue_aliases`)."""
        return f"{self.location_path}/queues/{self.queue_id(queue_name)}"


@dataclass(frozen=True)
class RunJobsOptions(BackendOptions):
    """Validated OPTIONS of a Cloud Run Jobs backend."""

    emulator_host_env: ClassVar[str] = RUN_EMULATOR_HOST_ENV

    command: tuple[str, ...]

    def job_path(self, queue_name: str) -> str:
        """The Cloud Run job that runs a Django queue's executions (after `queue_aliases`)."""
        return f"{self.location_path}/jobs/{self.queue_id(queue_name)}"


@dataclass(frozen=True)
class BackendKind:
    """What differs between backends' OPTIONS: their type, required keys, the target ids."""

    options_type: type[BackendOptions]
    required: tuple[str, ...]
    target_noun: str
    target_id_re: re.Pattern
    target_rule: str

    @property
    def known(self) -> tuple[str, ...]:
        """The OPTIONS keys this backend takes."""
        return tuple(f.name for f in fields(self.options_type))

    @property
    def emulator_host_env(self) -> str:
        return self.options_type.emulator_host_env


CLOUD_TASKS = BackendKind(
    options_type=CloudTasksOptions,
    required=("project_id", "location", "base_url"),
    target_noun="Cloud Tasks queue id",
    target_id_re=QUEUE_ID_RE,
    target_rule="Queue ids are 1 to 100 letters, digits or hyphens",
)
RUN_JOBS = BackendKind(
    options_type=RunJobsOptions,
    required=("project_id", "location"),
    target_noun="Cloud Run job id",
    target_id_re=JOB_ID_RE,
    target_rule="Job ids are up to 63 lowercase letters, digits or hyphens, starting with a letter",
)


@dataclass(frozen=True)
class Option:
    """One OPTIONS key: its default, the check its value must pass, and the problem reported when
    it does not (`message` is formatted with `source`, the key or environment variable the value
    came from, and `value`)."""

    name: str
    default: Any
    check: Callable[[Any], bool]
    id: str
    message: str
    hint: str | None = None
    #: How a valid value is stored in the options.
    convert: Callable[[Any], Any] = lambda value: value
    #: The environment variable read when the key is unset or empty (instead of the default).
    env_var: Callable[[BackendKind], str] | None = None
    #: The value when the key is unset (None), from the other options' stored values.
    derive: Callable[[Mapping[str, Any]], Any] | None = None


@dataclass
class _Reading:
    """The OPTIONS of one backend being read: the values so far and the problems found."""

    where: str
    options: Mapping[str, Any]
    kind: BackendKind
    queues: set[str]
    #: Each key's value as given, or its default when it failed its check.
    values: dict[str, Any] = field(default_factory=dict)
    failed: set[str] = field(default_factory=set)
    problems: list[Problem] = field(default_factory=list)

    def report(self, check_id: str, msg: str, hint: str | None = None) -> None:
        self.problems.append(Problem(check_id, msg, hint))

    def read(self, option: Option) -> None:
        source, value = self._source_and_value(option)
        if option.check(value):
            self.values[option.name] = value
            return
        self.report(option.id, option.message.format(source=source, value=value), option.hint)
        self.failed.add(option.name)
        self.values[option.name] = option.default

    def _source_and_value(self, option: Option) -> tuple[str, Any]:
        key = f"{self.where}[{option.name!r}]"
        if option.env_var is None:
            return key, self.options.get(option.name, option.default)
        if self.options.get(option.name):
            return key, self.options[option.name]
        env_var = option.env_var(self.kind)
        return env_var, os.environ.get(env_var) or None


def _is_positive_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


def _matches(pattern: re.Pattern) -> Callable[[Any], bool]:
    return lambda value: isinstance(value, str) and bool(pattern.match(value))


def _is_positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool)


def _is_http_url(value: Any) -> bool:
    parts = urlsplit(value) if isinstance(value, str) else None
    return bool(parts and parts.scheme in ("http", "https") and parts.netloc)


def _is_non_empty_string(value: Any) -> bool:
    return isinstance(value, str) and bool(value)


def _is_command(value: Any) -> bool:
    return isinstance(value, list | tuple) and bool(value) and all(map(_is_non_empty_string, value))


def _is_alias_map(value: Any) -> bool:
    return isinstance(value, Mapping) and all(isinstance(key, str) for key in value)


def _blank_or(check: Callable[[Any], bool]) -> Callable[[Any], bool]:
    """Passes a blank value: a missing required key is reported once, as E002."""
    return lambda value: not value or check(value)


def _none_or(check: Callable[[Any], bool]) -> Callable[[Any], bool]:
    return lambda value: value is None or check(value)


def _as_base_url(value: Any) -> str:
    """`tasks_google.urls`' mount point, ending in '/' (a blank one stays empty)."""
    if not value:
        return ""
    return value if value.endswith("/") else value + "/"


def _unknown_keys(reading: _Reading) -> None:
    for key in sorted(set(reading.options) - set(reading.kind.known)):
        reading.report(
            "tasks_google.E001",
            f"{reading.where} has an unknown key {key!r}.",
            hint="Allowed keys: " + ", ".join(reading.kind.known) + ".",
        )


def _missing_keys(reading: _Reading) -> None:
    for key in reading.kind.required:
        if reading.options.get(key) in (None, ""):
            reading.report("tasks_google.E002", f"{reading.where} is missing {key!r}.")


def _target_ids(reading: _Reading) -> None:
    """Every queue, after its alias, must name a valid queue (or job) id."""
    kind, aliases = reading.kind, reading.values["queue_aliases"]
    for name in sorted(set(reading.queues) | set(aliases)):
        target_id = aliases.get(name, name)
        if not (isinstance(target_id, str) and kind.target_id_re.match(target_id)):
            source = (
                f"{reading.where}['queue_aliases'][{name!r}]"
                if name in aliases
                else f"queue {name!r}"
            )
            reading.report(
                "tasks_google.E007",
                f"{source} gives the {kind.target_noun} {target_id!r}, which is not valid.",
                hint=f"{kind.target_rule}; map other names with OPTIONS['queue_aliases'].",
            )


def _verified_account(reading: _Reading) -> None:
    """Token verification needs the service account the tokens are issued for."""
    if (
        "oidc_verify" not in reading.failed
        and reading.values["oidc_verify"]
        and reading.options.get("oidc_service_account") is None
        and "oidc_service_account" in reading.kind.known
    ):
        reading.report(
            "tasks_google.E012",
            f"{reading.where} needs 'oidc_service_account': execute/ accepts only deliveries whose "
            "ID token was issued for that service account.",
            hint="Set it to the service account Cloud Tasks signs tokens as, or set "
            "'oidc_verify': False (never in production).",
        )


def _queue_settings(reading: _Reading) -> None:
    """Each configured queue is in QUEUES with settings Cloud Tasks accepts; queues that share a
    Cloud Tasks queue (through `queue_aliases`) agree on its settings."""
    if "queue_config" in reading.failed or "queue_config" not in reading.options:
        return
    if "queue_config" not in reading.kind.known:
        return  # E001 reports the key
    config = reading.values["queue_config"]
    report_queue_config_problems(reading.where, config, reading.queues, reading.report)
    aliases, seen = reading.values["queue_aliases"], {}
    for name in sorted(config):
        queue_id = aliases.get(name, name)
        other = seen.setdefault(queue_id, name)
        if other != name and dict(config[other]) != dict(config[name]):
            reading.report(
                "tasks_google.E023",
                f"{reading.where}['queue_config'] gives queues {other!r} and {name!r} different "
                f"settings, but both are the Cloud Tasks queue {queue_id!r}.",
                hint="Configure the queue once, or give both the same settings.",
            )


def _heartbeat_room(reading: _Reading) -> None:
    """A lease must outlast the interval between its renewals."""
    interval = reading.values["heartbeat_interval_seconds"]
    timeout = reading.values["heartbeat_timeout_seconds"]
    both_valid = not {"heartbeat_interval_seconds", "heartbeat_timeout_seconds"} & reading.failed
    if both_valid and timeout <= interval:
        reading.report(
            "tasks_google.E010",
            f"{reading.where}['heartbeat_timeout_seconds'] ({timeout}) must be greater than "
            f"'heartbeat_interval_seconds' ({interval}).",
            hint="A lease lasts heartbeat_timeout_seconds and is renewed every "
            "heartbeat_interval_seconds; leave room for a few missed beats.",
        )


def _base_url_has_no_query(reading: _Reading) -> None:
    """Deliveries go to `{base_url}execute/`: a query or fragment would end up in the middle."""
    base_url = reading.values["base_url"]
    if base_url and (urlsplit(base_url).query or urlsplit(base_url).fragment):
        reading.report(
            "tasks_google.E005",
            f"{reading.where}['base_url'] = {base_url!r} must not have a query or fragment.",
        )


_SECONDS = "{source} = {value!r} must be a positive number of seconds."
_AFFIX = "{source} = {value!r} may hold only letters, digits, '-' and '_'."
_AFFIX_HINT = (
    "Cloud Scheduler job ids are {prefix}{schedule name}{suffix}, "
    "e.g. prefix 'shop--' or suffix '-staging'."
)

#: Every key of every backend, in the order problems are reported, with the checks that relate
#: keys where they report. A key the backend does not take is still checked (E001 reports it).
VALIDATORS: tuple[Option | Callable[[_Reading], None], ...] = (
    _unknown_keys,
    _missing_keys,
    Option(
        "project_id", None, _blank_or(_matches(PROJECT_ID_RE)), "tasks_google.E003",
        "{source} = {value!r} is not a Google Cloud project id.",
        hint="6 to 30 characters: lowercase letters, digits and hyphens, starting with a letter.",
    ),
    Option(
        "location", None, _blank_or(_matches(LOCATION_RE)), "tasks_google.E004",
        "{source} = {value!r} is not a Google Cloud region.",
        hint="A region id such as 'us-central1' or 'europe-west1'.",
    ),
    Option(
        "base_url", "", _blank_or(_is_http_url), "tasks_google.E005",
        "{source} = {value!r} is not an absolute http(s) URL.",
        hint="The public URL where tasks_google.urls is mounted, "
        "e.g. 'https://app.example.com/tasks/'.",
        convert=_as_base_url,
    ),
    _base_url_has_no_query,
    Option(
        "execute_url", None, _none_or(_is_http_url), "tasks_google.E020",
        "{source} = {value!r} is not an absolute http(s) URL.",
        hint="Where Cloud Tasks POSTs executions; leave it unset for "
        f"'{{base_url}}{EXECUTE_PATH}'.",
        derive=lambda values: values["base_url"] + EXECUTE_PATH,
    ),
    Option(
        "schedule_url", None, _none_or(_is_http_url), "tasks_google.E021",
        "{source} = {value!r} is not an absolute http(s) URL.",
        hint="Where Cloud Scheduler jobs POST their fires; leave it unset for "
        f"'{{base_url}}{SCHEDULE_PATH}'.",
        derive=lambda values: values["base_url"] + SCHEDULE_PATH,
    ),
    Option(
        "transport", DEFAULT_TRANSPORT, lambda value: value in TRANSPORTS, "tasks_google.E006",
        "{source} = {value!r} is not a transport.",
        hint="Allowed: " + ", ".join(repr(t) for t in TRANSPORTS) + ".",
    ),
    Option(
        "queue_aliases", {}, _is_alias_map, "tasks_google.E007",
        "{source} must map queue names (str) to Cloud Tasks queue ids.",
        convert=dict,
    ),
    _target_ids,
    Option(
        "oidc_service_account", None, _none_or(_matches(EMAIL_RE)), "tasks_google.E008",
        "{source} = {value!r} is not a service account email.",
        hint="e.g. 'tasks-invoker@my-project.iam.gserviceaccount.com'.",
    ),
    Option(
        "oidc_audience", None, _none_or(_is_non_empty_string), "tasks_google.E009",
        "{source} = {value!r} must be a non-empty string.",
        hint="Leave it unset to use the origin of base_url.",
    ),
    Option(
        "oidc_verify", True, _is_bool, "tasks_google.E015",
        "{source} = {value!r} must be True or False.",
    ),
    _verified_account,
    Option(
        "emulator_host", None, _none_or(_matches(HOST_PORT_RE)), "tasks_google.E013",
        "{source} = {value!r} is not host:port.",
        hint="e.g. '127.0.0.1:8123', as printed by `python -m emulator`.",
        env_var=lambda kind: kind.emulator_host_env,
    ),
    Option(
        "emulator_url", None, _none_or(_is_http_url), "tasks_google.E014",
        "{source} = {value!r} is not an http(s) URL.",
        hint="The emulator's control API, e.g. 'http://127.0.0.1:8124'.",
        convert=lambda value: value.rstrip("/") if value else None,
        env_var=lambda kind: EMULATOR_URL_ENV,
        derive=lambda values: _control_url(values["emulator_host"]),
    ),
    Option(
        "heartbeat_interval_seconds", DEFAULT_HEARTBEAT_INTERVAL_SECONDS, _is_positive_number,
        "tasks_google.E010", _SECONDS, convert=float,
    ),
    Option(
        "heartbeat_timeout_seconds", DEFAULT_HEARTBEAT_TIMEOUT_SECONDS, _is_positive_number,
        "tasks_google.E010", _SECONDS, convert=float,
    ),
    Option(
        "cancel_poll_interval_seconds", DEFAULT_CANCEL_POLL_INTERVAL_SECONDS, _is_positive_number,
        "tasks_google.E010", _SECONDS, convert=float,
    ),
    _heartbeat_room,
    Option(
        "command", DEFAULT_COMMAND, _is_command, "tasks_google.E017",
        "{source} = {value!r} must be a non-empty list of strings.",
        hint=f"The container command that runs an execution, e.g. {list(DEFAULT_COMMAND)!r}.",
        convert=tuple,
    ),
    Option(
        "run_once", False, _is_bool, "tasks_google.E019",
        "{source} = {value!r} must be True or False.",
        hint="True: once an attempt has started, a later attempt records the execution FAILED "
        "instead of running the task again.",
    ),
    Option(
        "max_history_entries", DEFAULT_MAX_HISTORY_ENTRIES, _is_positive_int, "tasks_google.E022",
        "{source} = {value!r} must be a whole number of at least 1.",
        hint="How many entries of an execution's attempts, errors and worker_ids are kept "
        f"(the most recent); default {DEFAULT_MAX_HISTORY_ENTRIES}.",
    ),
    Option(
        "queue_config", {}, is_queue_config, "tasks_google.E023",
        "{source} must map queue names (str) to dicts of Cloud Tasks queue settings.",
        hint="e.g. {'emails': {'max_attempts': 5, 'min_backoff': 1}}.",
        convert=lambda value: {name: dict(settings) for name, settings in value.items()},
    ),
    _queue_settings,
    Option(
        "schedule_job_prefix", "", _matches(SCHEDULER_AFFIX_RE), "tasks_google.E018", _AFFIX,
        hint=_AFFIX_HINT,
    ),
    Option(
        "schedule_job_suffix", "", _matches(SCHEDULER_AFFIX_RE), "tasks_google.E018", _AFFIX,
        hint=_AFFIX_HINT,
    ),
)  # fmt: skip

_OPTIONS = {validator.name: validator for validator in VALIDATORS if isinstance(validator, Option)}


def _control_url(emulator_host: str | None) -> str | None:
    """`python -m emulator` serves its control API on the port after the gRPC one."""
    if emulator_host is None:
        return None
    match = HOST_PORT_RE.match(emulator_host)
    return f"http://{match.group(1)}:{int(match.group(2)) + 1}"


def parse_options(
    alias: str, options: Mapping[str, Any], queues: set[str], kind: BackendKind = CLOUD_TASKS
) -> tuple[BackendOptions | None, list[Problem]]:
    """Validate a backend's OPTIONS; return the parsed options (None if invalid) and problems."""
    where = f"TASKS[{alias!r}]['OPTIONS']"
    if not isinstance(options, Mapping):
        return None, [Problem("tasks_google.E002", f"{where} must be a dict.")]
    reading = _Reading(where, options, kind, queues)
    for validator in VALIDATORS:
        if isinstance(validator, Option):
            reading.read(validator)
        else:
            validator(reading)
    if reading.problems:
        return None, reading.problems
    values = {name: _OPTIONS[name].convert(reading.values[name]) for name in kind.known}
    for name in kind.known:
        derive = _OPTIONS[name].derive
        if values[name] is None and derive is not None:
            values[name] = derive(values)
    return kind.options_type(**values), []

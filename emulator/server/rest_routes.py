"""Google's REST paths for the emulated RPCs: each route is the ``google.api.http`` rule of one
RPC (its HTTP verb, its URL template, which request field the JSON body fills).

A template's ``{field=pattern}`` binds a request field (dotted for a nested one) to the path
segments matching ``pattern``, where ``*`` is one segment; ``{field}`` alone is ``{field=*}``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from emulator.server.cloud_tasks_service import SERVICE as CLOUD_TASKS
from emulator.server.locations_service import SERVICE as LOCATIONS
from emulator.server.run_jobs_service import (
    EXECUTIONS_SERVICE,
    JOBS_SERVICE,
    OPERATIONS_SERVICE,
    TASKS_SERVICE,
)
from emulator.server.scheduler_service import SERVICE as SCHEDULER

_VARIABLE = re.compile(r"\{([a-z_.]+)(?:=([^}]*))?\}")
_SEGMENT = "[^/:]+"


@dataclass(frozen=True)
class RestRoute:
    """One RPC's HTTP rule. ``body`` is ``"*"`` (the body is the request), a field name (the
    body is that field of the request) or None (no body; the other fields come from the query).
    """

    verb: str
    template: str
    service: str
    rpc: str
    body: str | None = None
    pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "pattern", compile_template(self.template))

    def match(self, path: str) -> dict[str, str] | None:
        """The request fields ``path`` binds (dotted names as in the template), or None."""
        found = self.pattern.fullmatch(path)
        if found is None:
            return None
        names = [variable.group(1) for variable in _VARIABLE.finditer(self.template)]
        return dict(zip(names, found.groups(), strict=True))


def compile_template(template: str) -> re.Pattern[str]:
    """The regular expression matching the paths of ``template``, one group per variable."""
    parts, position = [], 0
    for variable in _VARIABLE.finditer(template):
        parts.append(re.escape(template[position : variable.start()]))
        segments = (variable.group(2) or "*").split("/")
        inner = "/".join(_SEGMENT if s == "*" else re.escape(s) for s in segments)
        parts.append(f"({inner})")
        position = variable.end()
    parts.append(re.escape(template[position:]))
    return re.compile("".join(parts))


def resource_routes(
    version: str, parent: str, collection: str, service: str, kind: str, create_body: str
) -> tuple[RestRoute, ...]:
    """The standard methods of a collection: ``List{kind}s``, ``Create{kind}`` (its body the
    ``create_body`` field), ``Get{kind}``, ``Delete{kind}``."""
    resource = f"{parent}/{collection}/*"
    return (
        RestRoute("GET", f"/{version}/{{parent={parent}}}/{collection}", service, f"List{kind}s"),
        RestRoute(
            "POST",
            f"/{version}/{{parent={parent}}}/{collection}",
            service,
            f"Create{kind}",
            create_body,
        ),
        RestRoute("GET", f"/{version}/{{name={resource}}}", service, f"Get{kind}"),
        RestRoute("DELETE", f"/{version}/{{name={resource}}}", service, f"Delete{kind}"),
    )


def update_route(version: str, resource: str, service: str, field_name: str) -> RestRoute:
    """``Update{Kind}``: PATCH of the resource, the body its ``field_name`` field (with the mask
    in the query)."""
    rpc = f"Update{field_name.capitalize()}"
    return RestRoute(
        "PATCH", f"/{version}/{{{field_name}.name={resource}}}", service, rpc, field_name
    )


def custom_routes(
    version: str, resource: str, service: str, methods: dict[str, str], variable: str = "name"
) -> tuple[RestRoute, ...]:
    """Custom methods (``POST /{version}/RESOURCE:verb``, the body the request): verb -> RPC."""
    return tuple(
        RestRoute("POST", f"/{version}/{{{variable}={resource}}}:{verb}", service, rpc, "*")
        for verb, rpc in methods.items()
    )


_PROJECT = "projects/*"
_LOCATION = f"{_PROJECT}/locations/*"
_QUEUE = f"{_LOCATION}/queues/*"
_TASK = f"{_QUEUE}/tasks/*"
_JOB = f"{_LOCATION}/jobs/*"
_EXECUTION = f"{_JOB}/executions/*"
_IAM = {"testIamPermissions": "TestIamPermissions", "setIamPolicy": "SetIamPolicy"}

CLOUD_TASKS_ROUTES = (
    *resource_routes("v2", _LOCATION, "queues", CLOUD_TASKS, "Queue", "queue"),
    update_route("v2", _QUEUE, CLOUD_TASKS, "queue"),
    *custom_routes(
        "v2",
        _QUEUE,
        CLOUD_TASKS,
        {"purge": "PurgeQueue", "pause": "PauseQueue", "resume": "ResumeQueue"},
    ),
    *custom_routes(
        "v2", _QUEUE, CLOUD_TASKS, {"getIamPolicy": "GetIamPolicy", **_IAM}, variable="resource"
    ),
    *resource_routes("v2", _QUEUE, "tasks", CLOUD_TASKS, "Task", "*"),
    *custom_routes("v2", _TASK, CLOUD_TASKS, {"run": "RunTask"}),
)

SCHEDULER_ROUTES = (
    *resource_routes("v1", _LOCATION, "jobs", SCHEDULER, "Job", "job"),
    update_route("v1", _JOB, SCHEDULER, "job"),
    *custom_routes(
        "v1", _JOB, SCHEDULER, {"pause": "PauseJob", "resume": "ResumeJob", "run": "RunJob"}
    ),
)

RUN_ROUTES = (
    *resource_routes("v2", _LOCATION, "jobs", JOBS_SERVICE, "Job", "job"),
    update_route("v2", _JOB, JOBS_SERVICE, "job"),
    *custom_routes("v2", _JOB, JOBS_SERVICE, {"run": "RunJob"}),
    RestRoute("GET", f"/v2/{{resource={_JOB}}}:getIamPolicy", JOBS_SERVICE, "GetIamPolicy"),
    *custom_routes("v2", _JOB, JOBS_SERVICE, _IAM, variable="resource"),
    RestRoute("GET", f"/v2/{{parent={_JOB}}}/executions", EXECUTIONS_SERVICE, "ListExecutions"),
    RestRoute("GET", f"/v2/{{name={_EXECUTION}}}", EXECUTIONS_SERVICE, "GetExecution"),
    RestRoute("DELETE", f"/v2/{{name={_EXECUTION}}}", EXECUTIONS_SERVICE, "DeleteExecution"),
    *custom_routes("v2", _EXECUTION, EXECUTIONS_SERVICE, {"cancel": "CancelExecution"}),
    RestRoute("GET", f"/v2/{{parent={_EXECUTION}}}/tasks", TASKS_SERVICE, "ListTasks"),
    RestRoute("GET", f"/v2/{{name={_EXECUTION}/tasks/*}}", TASKS_SERVICE, "GetTask"),
    RestRoute("GET", f"/v2/{{name={_LOCATION}/operations/*}}", OPERATIONS_SERVICE, "GetOperation"),
)

#: The Locations API: Cloud Tasks' (v2) and Cloud Scheduler's (v1), one service behind both.
LOCATIONS_ROUTES = tuple(
    route
    for version in ("v2", "v1")
    for route in (
        RestRoute("GET", f"/{version}/{{name={_PROJECT}}}/locations", LOCATIONS, "ListLocations"),
        RestRoute("GET", f"/{version}/{{name={_LOCATION}}}", LOCATIONS, "GetLocation"),
    )
)

ROUTES = CLOUD_TASKS_ROUTES + SCHEDULER_ROUTES + RUN_ROUTES + LOCATIONS_ROUTES

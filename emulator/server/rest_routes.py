"""Google's REST paths for the emulated RPCs: each route is the ``google.api.http`` rule of one
RPC (its HTTP verb, its URL template, which request field the JSON body fills).

A template's ``{field=pattern}`` binds a request field (dotted for a nested one) to the path
segments matching ``pattern``, where ``*`` is one segment; ``{field}`` alone is ``{field=*}``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from emulator.server.cloud_tasks_service import SERVICE as CLOUD_TASKS
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


_LOCATION = "projects/*/locations/*"
_QUEUE = f"{_LOCATION}/queues/*"
_TASK = f"{_QUEUE}/tasks/*"
_SCHEDULER_JOB = f"{_LOCATION}/jobs/*"
_RUN_JOB = f"{_LOCATION}/jobs/*"
_EXECUTION = f"{_RUN_JOB}/executions/*"

CLOUD_TASKS_ROUTES = (
    RestRoute("GET", f"/v2/{{parent={_LOCATION}}}/queues", CLOUD_TASKS, "ListQueues"),
    RestRoute("POST", f"/v2/{{parent={_LOCATION}}}/queues", CLOUD_TASKS, "CreateQueue", "queue"),
    RestRoute("GET", f"/v2/{{name={_QUEUE}}}", CLOUD_TASKS, "GetQueue"),
    RestRoute("PATCH", f"/v2/{{queue.name={_QUEUE}}}", CLOUD_TASKS, "UpdateQueue", "queue"),
    RestRoute("DELETE", f"/v2/{{name={_QUEUE}}}", CLOUD_TASKS, "DeleteQueue"),
    RestRoute("POST", f"/v2/{{name={_QUEUE}}}:purge", CLOUD_TASKS, "PurgeQueue", "*"),
    RestRoute("POST", f"/v2/{{name={_QUEUE}}}:pause", CLOUD_TASKS, "PauseQueue", "*"),
    RestRoute("POST", f"/v2/{{name={_QUEUE}}}:resume", CLOUD_TASKS, "ResumeQueue", "*"),
    RestRoute("POST", f"/v2/{{resource={_QUEUE}}}:getIamPolicy", CLOUD_TASKS, "GetIamPolicy", "*"),
    RestRoute("POST", f"/v2/{{resource={_QUEUE}}}:setIamPolicy", CLOUD_TASKS, "SetIamPolicy", "*"),
    RestRoute(
        "POST",
        f"/v2/{{resource={_QUEUE}}}:testIamPermissions",
        CLOUD_TASKS,
        "TestIamPermissions",
        "*",
    ),
    RestRoute("GET", f"/v2/{{parent={_QUEUE}}}/tasks", CLOUD_TASKS, "ListTasks"),
    RestRoute("POST", f"/v2/{{parent={_QUEUE}}}/tasks", CLOUD_TASKS, "CreateTask", "*"),
    RestRoute("GET", f"/v2/{{name={_TASK}}}", CLOUD_TASKS, "GetTask"),
    RestRoute("DELETE", f"/v2/{{name={_TASK}}}", CLOUD_TASKS, "DeleteTask"),
    RestRoute("POST", f"/v2/{{name={_TASK}}}:run", CLOUD_TASKS, "RunTask", "*"),
)

SCHEDULER_ROUTES = (
    RestRoute("GET", f"/v1/{{parent={_LOCATION}}}/jobs", SCHEDULER, "ListJobs"),
    RestRoute("POST", f"/v1/{{parent={_LOCATION}}}/jobs", SCHEDULER, "CreateJob", "job"),
    RestRoute("GET", f"/v1/{{name={_SCHEDULER_JOB}}}", SCHEDULER, "GetJob"),
    RestRoute("PATCH", f"/v1/{{job.name={_SCHEDULER_JOB}}}", SCHEDULER, "UpdateJob", "job"),
    RestRoute("DELETE", f"/v1/{{name={_SCHEDULER_JOB}}}", SCHEDULER, "DeleteJob"),
    RestRoute("POST", f"/v1/{{name={_SCHEDULER_JOB}}}:pause", SCHEDULER, "PauseJob", "*"),
    RestRoute("POST", f"/v1/{{name={_SCHEDULER_JOB}}}:resume", SCHEDULER, "ResumeJob", "*"),
    RestRoute("POST", f"/v1/{{name={_SCHEDULER_JOB}}}:run", SCHEDULER, "RunJob", "*"),
)

RUN_ROUTES = (
    RestRoute("GET", f"/v2/{{parent={_LOCATION}}}/jobs", JOBS_SERVICE, "ListJobs"),
    RestRoute("POST", f"/v2/{{parent={_LOCATION}}}/jobs", JOBS_SERVICE, "CreateJob", "job"),
    RestRoute("GET", f"/v2/{{name={_RUN_JOB}}}", JOBS_SERVICE, "GetJob"),
    RestRoute("PATCH", f"/v2/{{job.name={_RUN_JOB}}}", JOBS_SERVICE, "UpdateJob", "job"),
    RestRoute("DELETE", f"/v2/{{name={_RUN_JOB}}}", JOBS_SERVICE, "DeleteJob"),
    RestRoute("POST", f"/v2/{{name={_RUN_JOB}}}:run", JOBS_SERVICE, "RunJob", "*"),
    RestRoute("GET", f"/v2/{{resource={_RUN_JOB}}}:getIamPolicy", JOBS_SERVICE, "GetIamPolicy"),
    RestRoute(
        "POST", f"/v2/{{resource={_RUN_JOB}}}:setIamPolicy", JOBS_SERVICE, "SetIamPolicy", "*"
    ),
    RestRoute(
        "POST",
        f"/v2/{{resource={_RUN_JOB}}}:testIamPermissions",
        JOBS_SERVICE,
        "TestIamPermissions",
        "*",
    ),
    RestRoute("GET", f"/v2/{{parent={_RUN_JOB}}}/executions", EXECUTIONS_SERVICE, "ListExecutions"),
    RestRoute("GET", f"/v2/{{name={_EXECUTION}}}", EXECUTIONS_SERVICE, "GetExecution"),
    RestRoute("DELETE", f"/v2/{{name={_EXECUTION}}}", EXECUTIONS_SERVICE, "DeleteExecution"),
    RestRoute(
        "POST", f"/v2/{{name={_EXECUTION}}}:cancel", EXECUTIONS_SERVICE, "CancelExecution", "*"
    ),
    RestRoute("GET", f"/v2/{{parent={_EXECUTION}}}/tasks", TASKS_SERVICE, "ListTasks"),
    RestRoute("GET", f"/v2/{{name={_EXECUTION}/tasks/*}}", TASKS_SERVICE, "GetTask"),
    RestRoute("GET", f"/v2/{{name={_LOCATION}/operations/*}}", OPERATIONS_SERVICE, "GetOperation"),
)

ROUTES = CLOUD_TASKS_ROUTES + SCHEDULER_ROUTES + RUN_ROUTES

"""HTTP endpoints that Google's services (or the emulator) deliver to."""

import json
import logging
from datetime import datetime

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from tasks_google.backends.stored import configured_backends
from tasks_google.config.options import CLOUD_TASKS
from tasks_google.endpoints import id_tokens
from tasks_google.execution import runtime
from tasks_google.observability import tracing
from tasks_google.scheduling import fires

logger = logging.getLogger(__name__)

#: Header in which Cloud Tasks says how many attempts came before this one.
RETRY_COUNT_HEADER = "X-CloudTasks-TaskRetryCount"
#: Cloud Scheduler's de-duplication key: the job's short name and the slot (RFC 3339, UTC).
JOB_NAME_HEADER = "X-CloudScheduler-JobName"
SCHEDULE_TIME_HEADER = "X-CloudScheduler-ScheduleTime"


def _attempts_made(request: HttpRequest) -> int | None:
    value = request.headers.get(RETRY_COUNT_HEADER)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _refuse(
    request: HttpRequest, status: int, reason: str, retry_after: int | None = None
) -> HttpResponse:
    """A refusal, logged here once as a warning (django.request does not log it again)."""
    logger.warning("%s refused a delivery (%s): %s", request.path, status, reason)
    response = JsonResponse({"error": reason}, status=status)
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


def _authenticate(request: HttpRequest) -> HttpResponse | None:
    """None if the request carries a valid ID token (or no backend verifies); else a refusal.

    Deliveries come from Cloud Tasks and Cloud Scheduler, so the OIDC settings of the Cloud
    Tasks backends whose configuration is valid decide; a broken alias is left out. When the
    signing certificates cannot be downloaded, the answer is 503 with Retry-After: the delivery
    is refused for now, and retried.
    """
    configs = [backend.config for backend in configured_backends(CLOUD_TASKS)]
    if not configs:
        return _refuse(request, 403, "no CloudTasksBackend is configured")
    try:
        id_tokens.authenticate(
            request.headers.get("Authorization"), [c for c in configs if c.oidc_verify]
        )
    except id_tokens.TokenRejected as rejection:
        return _refuse(request, rejection.status, rejection.reason)
    except id_tokens.CertificatesUnavailable as unavailable:
        reason = f"{unavailable}; retry in {unavailable.retry_after}s"
        return _refuse(request, 503, reason, retry_after=unavailable.retry_after)
    return None


#: Status of a fire whose task cannot run, which no retry will fix. Cloud Scheduler retries any
#: non-2xx answer up to the job's retry_count (at most 5, and never past the next slot), so no
#: status stops those few retries; a 2xx would, but would also hide the failure from the job's
#: status. A 4xx keeps the failure visible (NOT_FOUND / INVALID_ARGUMENT in the job's last
#: result), is not read as "try later" as 429 and 503 are (App Engine targets even retry 503
#: outside the retry count), and is not a 5xx, which Django reports as a server error.
_FIRE_STATUS = {
    fires.TASK_NOT_FOUND_OUTCOME: 404,
    fires.ARGUMENTS_REJECTED_OUTCOME: 400,
}


def _their_schedule_name(request: HttpRequest) -> str | None:
    """The schedule a job left by django-tasks-google fires, else None.

    Its jobs post a form (`task_id`, `backend`) and are named after the schedule, which
    `import_schedules_from_dtg` keeps: the job id is the schedule's name. `schedule_tasks` turns
    them into jobs of ours (or, with a job prefix or suffix, creates those beside them).
    """
    if request.content_type != "application/x-www-form-urlencoded" or "task_id" not in request.POST:
        return None
    name = request.headers.get(JOB_NAME_HEADER, "").rsplit("/", 1)[-1]
    logger.warning(
        "Fire of %r in django-tasks-google's form; run `manage.py schedule_tasks` to replace its "
        "job with one of ours",
        name,
    )
    return name or None


@csrf_exempt
@require_POST
def schedule(request: HttpRequest) -> HttpResponse:
    """Enqueue the task of the schedule named in the body (`{"schedule": "..."}`), once per slot.

    Cloud Scheduler's de-duplication key, job name + schedule time, is a unique row: a duplicate
    fire of the same slot enqueues nothing, even when both arrive at once. A `PeriodicTask` gets
    the fire (slot, job, Cloud Scheduler's and the job's own headers). A schedule whose task
    cannot run is answered 404 (task gone) or 400 (arguments refused) with a short JSON error.
    """
    refusal = _authenticate(request)
    if refusal is not None:
        return refusal
    try:
        name = _their_schedule_name(request) or json.loads(request.body)["schedule"]
        slot = datetime.fromisoformat(request.headers[SCHEDULE_TIME_HEADER])
    except (ValueError, KeyError, TypeError):
        return JsonResponse(
            {"error": f'expected a JSON body {{"schedule": "..."}} and {SCHEDULE_TIME_HEADER}'},
            status=400,
        )
    outcome = fires.fire(name, request.headers.get(JOB_NAME_HEADER, ""), slot, request.headers)
    status = _FIRE_STATUS.get(outcome["outcome"], 200)
    response = JsonResponse({"schedule": name, **outcome}, status=status)
    if status != 200:
        # fires.fire logged the refusal once; Django would log the 4xx again.
        response._has_been_logged = True  # type: ignore[attr-defined]
    return response


@csrf_exempt
@require_POST
def execute(request: HttpRequest) -> HttpResponse:
    """Run one attempt of the execution named in the body: `{"execution_id": "..."}`.

    The bearer ID token is verified first; nothing runs without it. 2xx tells Cloud Tasks the
    outcome is final; any other status makes it retry.
    """
    refusal = _authenticate(request)
    if refusal is not None:
        return refusal
    try:
        execution_id = json.loads(request.body)["execution_id"]
    except (ValueError, KeyError, TypeError):
        return _refuse(request, 400, 'expected a JSON body {"execution_id": "..."}')
    outcome = runtime.run_attempt(
        execution_id,
        attempts_made=_attempts_made(request),
        trace_context=tracing.received_from_headers(request.headers),
    )
    return _answer(execution_id, outcome)


#: The status asking Cloud Tasks to deliver again, per outcome that is not final (else 500).
RETRY_STATUS = {"busy": 503, "not_due": 503, "lost": 409}


def _answer(execution_id: str, outcome: runtime.Outcome) -> HttpResponse:
    """What tells Cloud Tasks the fate of a delivery: 2xx final, anything else retried."""
    body = {"execution_id": execution_id, "outcome": outcome.kind}
    if outcome.final:
        return JsonResponse(body, status=200)
    response = JsonResponse(body, status=RETRY_STATUS.get(outcome.kind, 500))
    if outcome.retry_after is not None:
        response["Retry-After"] = str(outcome.retry_after)
    # An expected retry, already logged as a warning by the runtime (with the task's traceback
    # for a failed attempt): django.request must not report it as a server error.
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response

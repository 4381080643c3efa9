"""HTTP endpoints that Google's services (or the emulator) deliver to."""

import json
import logging
from datetime import datetime

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from tasks_google import fires, id_tokens, runtime
from tasks_google.backends.stored import configured_backends
from tasks_google.options import CLOUD_TASKS

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


def _refuse(request: HttpRequest, status: int, reason: str) -> HttpResponse:
    logger.warning("%s refused a delivery (%s): %s", request.path, status, reason)
    return JsonResponse({"error": reason}, status=status)


def _authenticate(request: HttpRequest) -> HttpResponse | None:
    """None if the request carries a valid ID token (or no backend verifies); else a refusal.

    Deliveries come from Cloud Tasks and Cloud Scheduler, so the Cloud Tasks backends' OIDC
    settings decide.
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


@csrf_exempt
@require_POST
def schedule(request: HttpRequest) -> HttpResponse:
    """Enqueue the task of the schedule named in the body (`{"schedule": "..."}`), once per slot.

    Cloud Scheduler's de-duplication key, job name + schedule time, is a unique row: a duplicate
    fire of the same slot enqueues nothing, even when both arrive at once. A schedule whose task
    cannot run is answered 404 (task gone) or 400 (arguments refused) with a short JSON error.
    """
    refusal = _authenticate(request)
    if refusal is not None:
        return refusal
    try:
        name = json.loads(request.body)["schedule"]
        slot = datetime.fromisoformat(request.headers[SCHEDULE_TIME_HEADER])
    except (ValueError, KeyError, TypeError):
        return JsonResponse(
            {"error": f'expected a JSON body {{"schedule": "..."}} and {SCHEDULE_TIME_HEADER}'},
            status=400,
        )
    outcome = fires.fire(name, request.headers.get(JOB_NAME_HEADER, ""), slot)
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
        logger.warning("execute/ received a body without an execution id")
        return JsonResponse({"error": 'expected a JSON body {"execution_id": "..."}'}, status=400)
    outcome = runtime.run_attempt(execution_id, attempts_made=_attempts_made(request))
    body = {"execution_id": execution_id, "outcome": outcome.kind}
    if outcome.final:
        return JsonResponse(body, status=200)
    if outcome.kind == "busy":
        response = JsonResponse(body, status=503)
        response["Retry-After"] = str(outcome.retry_after)
        return response
    return JsonResponse(body, status=409 if outcome.kind == "lost" else 500)

"""HTTP endpoints that Google's services (or the emulator) deliver to."""

import json
import logging

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.tasks import task_backends
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from tasks_google import id_tokens, runtime
from tasks_google.options import BackendOptions

logger = logging.getLogger(__name__)

#: Header in which Cloud Tasks says how many attempts came before this one.
RETRY_COUNT_HEADER = "X-CloudTasks-TaskRetryCount"


def _attempts_made(request: HttpRequest) -> int | None:
    value = request.headers.get(RETRY_COUNT_HEADER)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _our_backend_configs() -> list[BackendOptions]:
    """The valid configurations of every configured tasks_google backend."""
    configs = []
    for backend in task_backends.all():
        parsed = getattr(backend, "_parsed", None)
        if parsed is not None and parsed[0] is not None:
            configs.append(parsed[0])
    return configs


def _refuse(status: int, reason: str) -> HttpResponse:
    logger.warning("execute/ refused a delivery (%s): %s", status, reason)
    return JsonResponse({"error": reason}, status=status)


@csrf_exempt
@require_POST
def execute(request: HttpRequest) -> HttpResponse:
    """Run one attempt of the execution named in the body: `{"execution_id": "..."}`.

    The bearer ID token is verified first; nothing runs without it. 2xx tells Cloud Tasks the
    outcome is final; any other status makes it retry.
    """
    configs = _our_backend_configs()
    if not configs:
        return _refuse(403, "no tasks_google backend is configured")
    try:
        id_tokens.authenticate(
            request.headers.get("Authorization"), [c for c in configs if c.oidc_verify]
        )
    except id_tokens.TokenRejected as rejection:
        return _refuse(rejection.status, rejection.reason)
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

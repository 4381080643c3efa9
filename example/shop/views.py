"""A one-page shop front to enqueue demo tasks and watch their executions."""

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.tasks import task_backends
from django.tasks.exceptions import TaskResultDoesNotExist
from django.views.decorators.http import require_POST

from shop.demos import DEMOS
from tasks_google import CancellationNotSupported, cancel_task
from tasks_google.models import TaskExecution

#: How many executions the page lists, newest first.
LISTED = 25


def wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def home(request: HttpRequest) -> HttpResponse:
    forceable = [
        alias
        for alias in settings.TASKS
        if getattr(task_backends[alias], "supports_forced_cancel", False)
    ]
    context = {
        "demos": [(name, demo.description) for name, demo in DEMOS.items()],
        # (execution, its task's function name)
        "executions": [
            (e, e.task_path.rpartition(".")[2]) for e in TaskExecution.objects.all()[:LISTED]
        ],
        "forceable": forceable,
    }
    return render(request, "shop/home.html", context)


@require_POST
def enqueue(request: HttpRequest, name: str) -> HttpResponse:
    if name not in DEMOS:
        return JsonResponse(
            {"error": f"unknown demo {name!r}", "allowed": sorted(DEMOS)}, status=404
        )
    result = DEMOS[name].enqueue()
    if wants_json(request):
        return JsonResponse({"id": result.id})
    messages.success(request, f"Enqueued {name} as {result.id}.")
    return redirect("home")


@require_POST
def cancel(request: HttpRequest, execution_id: str, mode: str) -> HttpResponse:
    try:
        outcome = cancel_task(execution_id, force=mode == "force")
    except (CancellationNotSupported, TaskResultDoesNotExist) as exc:
        error = str(exc) if isinstance(exc, CancellationNotSupported) else "no such execution"
        if wants_json(request):
            return JsonResponse({"error": error}, status=400)
        messages.error(request, f"{execution_id}: {error}")
        return redirect("home")
    if wants_json(request):
        return JsonResponse({"state": outcome.state, "message": outcome.message})
    messages.info(request, f"{execution_id}: {outcome.message}")
    return redirect("home")


def execution(request: HttpRequest, execution_id: str) -> JsonResponse:
    row = TaskExecution.objects.filter(pk=execution_id).first()
    if row is None:
        return JsonResponse({"error": "not found"}, status=404)
    return JsonResponse(
        {
            "id": row.id,
            "task": row.task_path,
            "status": row.status,
            "attempts": row.attempt_count,
            "errors": [e["exception_class_path"] for e in row.errors],
            "return_value": row.return_value,
            "cancelled": row.cancelled_at is not None,
            "progress": [row.progress_done, row.progress_total],
        }
    )

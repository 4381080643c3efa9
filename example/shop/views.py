"""A one-page shop front to enqueue demo tasks and watch their executions."""

from datetime import timedelta
from html import escape

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect
from django.tasks.exceptions import TaskResultDoesNotExist
from django.utils import timezone
from django.views.decorators.http import require_POST

from shop import tasks
from tasks_google import CancellationNotSupported, cancel_task
from tasks_google.models import TaskExecution

DEMOS = {
    "welcome": lambda: tasks.send_welcome_email.enqueue(user_id=42),
    "flaky": lambda: tasks.flaky_import.enqueue(fail_times=2),
    "report": lambda: tasks.build_report.enqueue(rows=6),
    "reject": lambda: tasks.reject_order.enqueue(order_id=7),
    "batch": lambda: tasks.rebuild_catalogue.enqueue(items=40),
    "later": lambda: tasks.send_reminder.using(
        run_after=timezone.now() + timedelta(seconds=10)
    ).enqueue(user_id=42),
}


def home(request: HttpRequest) -> HttpResponse:
    token = get_token(request)
    buttons = "".join(
        f'<form method="post" action="/enqueue/{name}/" style="display:inline">'
        f'<input type="hidden" name="csrfmiddlewaretoken" value="{token}">'
        f'<button type="submit">{name}</button></form> '
        for name in DEMOS
    )

    def cancel_buttons(e: TaskExecution) -> str:
        if e.status in ("SUCCESSFUL", "FAILED"):
            return "cancelled" if e.cancelled_at else ""
        return "".join(
            f'<form method="post" action="/cancel/{e.id}/{mode}/" style="display:inline">'
            f'<input type="hidden" name="csrfmiddlewaretoken" value="{token}">'
            f'<button type="submit">{mode}</button></form> '
            for mode in ("cancel", "force")
        )

    def progress(e: TaskExecution) -> str:
        if e.progress_done is None:
            return ""
        return f"{e.progress_done}/{e.progress_total or '?'} {escape(e.progress_message)}"

    rows = "".join(
        f"<tr><td>{escape(e.id)}</td><td>{escape(e.task_path)}</td><td>{e.status}</td>"
        f"<td>{e.attempt_count}</td><td>{len(e.errors)}</td><td>{progress(e)}</td>"
        f"<td>{escape(repr(e.return_value))}</td><td>{cancel_buttons(e)}</td></tr>"
        for e in TaskExecution.objects.all()[:25]
    )
    return HttpResponse(
        '<!doctype html><meta http-equiv="refresh" content="2"><title>tasks-google demo</title>'
        f"<h1>tasks-google demo</h1><p>Enqueue: {buttons}</p>"
        "<table border=1 cellpadding=4><tr><th>id</th><th>task</th><th>status</th>"
        "<th>attempts</th><th>errors</th><th>progress</th><th>result</th><th></th></tr>"
        f"{rows}</table>"
    )


@require_POST
def enqueue(request: HttpRequest, name: str) -> HttpResponse:
    if name not in DEMOS:
        return JsonResponse(
            {"error": f"unknown demo {name!r}", "allowed": sorted(DEMOS)}, status=404
        )
    result = DEMOS[name]()
    if "application/json" in request.headers.get("Accept", ""):
        return JsonResponse({"id": result.id})
    return redirect("home")


@require_POST
def cancel(request: HttpRequest, execution_id: str, mode: str) -> HttpResponse:
    try:
        outcome = cancel_task(execution_id, force=mode == "force")
    except (CancellationNotSupported, TaskResultDoesNotExist) as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    if "application/json" in request.headers.get("Accept", ""):
        return JsonResponse({"state": outcome.state, "message": outcome.message})
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

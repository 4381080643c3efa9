"""Deliveries to execute/ as Cloud Tasks sends them, signed by the in-process emulator."""

import json

from django.test import Client

from tasks_google.transports import inprocess
from tests.settings import SERVICE_ACCOUNT

AUDIENCE = "http://app.test"


def id_token(email: str = SERVICE_ACCOUNT, audience: str = AUDIENCE) -> str:
    return inprocess.current_cloud().oidc.mint(email, audience)


def post_execute(execution_id, retry_count=0, token: str | None = "mint", body=None, headers=None):
    headers = {"X-CloudTasks-TaskRetryCount": str(retry_count), **(headers or {})}
    if token == "mint":
        token = id_token()
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return Client().post(
        "/tasks/execute/",
        data=body if body is not None else json.dumps({"execution_id": execution_id}),
        content_type="application/json",
        headers=headers,
        HTTP_HOST="app.test",
    )


def post_schedule(name: str, slot: str, token: str | None = "mint"):
    """A Cloud Scheduler fire of schedule `name` for `slot` (RFC 3339)."""
    headers = {"X-CloudScheduler-JobName": name, "X-CloudScheduler-ScheduleTime": slot}
    if token == "mint":
        token = id_token()
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return Client().post(
        "/tasks/schedule/",
        data=json.dumps({"schedule": name}),
        content_type="application/json",
        headers=headers,
        HTTP_HOST="app.test",
    )

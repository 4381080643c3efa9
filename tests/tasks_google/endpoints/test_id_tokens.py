"""execute/ is secure by default: nothing runs without a valid ID token for our service account."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core import checks
from google.auth import crypt, jwt

from emulator.kit.oidc import OidcIssuer, generate_key_pem
from tasks_google.framework import TaskResultStatus, task_backends
from tasks_google.models import TaskExecution
from tasks_google.transports import inprocess
from tests.settings import SERVICE_ACCOUNT, TASKS
from tests.tasks_google import tasks
from tests.tasks_google.deliveries import AUDIENCE, id_token, post_execute

pytestmark = pytest.mark.django_db


def assert_refused(response, status, execution_id):
    assert response.status_code == status, response.content
    row = TaskExecution.objects.get(pk=execution_id)
    assert row.attempt_count == 0 and row.status == TaskResultStatus.READY


def forged(**claims) -> str:
    """A token signed with the emulator's real key but with chosen claims."""
    issuer = inprocess.current_cloud().oidc
    now = int(datetime.now(UTC).timestamp())
    payload = {
        "iss": issuer.issuer,
        "aud": AUDIENCE,
        "sub": "1",
        "email": SERVICE_ACCOUNT,
        "email_verified": True,
        "iat": now,
        "exp": now + 3600,
        **claims,
    }
    signer = crypt.RSASigner.from_string(issuer.key_pem, key_id=issuer.key_id)
    return jwt.encode(signer, payload, key_id=issuer.key_id).decode()


def test_valid_token_runs_the_task(tasks_emulator):
    result = tasks.calculate_meaning_of_life.enqueue()
    assert post_execute(result.id, token=id_token()).status_code == 200
    result.refresh()
    assert result.return_value == 42


def test_missing_token_is_401(tasks_emulator):
    result = tasks.noop_task.enqueue()
    assert_refused(post_execute(result.id, token=None), 401, result.id)


def test_garbage_token_is_401(tasks_emulator):
    result = tasks.noop_task.enqueue()
    assert_refused(post_execute(result.id, token="not.a.jwt"), 401, result.id)


def test_token_signed_by_another_key_is_401(tasks_emulator):
    impostor = OidcIssuer(inprocess.current_cloud().oidc.issuer, key_pem=generate_key_pem())
    result = tasks.noop_task.enqueue()
    token = impostor.mint(SERVICE_ACCOUNT, AUDIENCE)
    assert_refused(post_execute(result.id, token=token), 401, result.id)


def test_token_for_another_audience_is_401(tasks_emulator):
    result = tasks.noop_task.enqueue()
    token = id_token(audience="https://elsewhere.example")
    assert_refused(post_execute(result.id, token=token), 401, result.id)


def test_expired_token_is_401(tasks_emulator):
    result = tasks.noop_task.enqueue()
    token = inprocess.current_cloud().oidc.mint(
        SERVICE_ACCOUNT, AUDIENCE, now=datetime.now(UTC) - timedelta(hours=2)
    )
    assert_refused(post_execute(result.id, token=token), 401, result.id)


def test_token_from_another_issuer_is_401(tasks_emulator):
    result = tasks.noop_task.enqueue()
    token = forged(iss="https://accounts.example.com")
    assert_refused(post_execute(result.id, token=token), 401, result.id)


def test_token_for_another_service_account_is_403(tasks_emulator):
    result = tasks.noop_task.enqueue()
    token = id_token(email="intruder@demo-project.iam.gserviceaccount.com")
    assert_refused(post_execute(result.id, token=token), 403, result.id)


def test_unverified_email_is_403(tasks_emulator):
    result = tasks.noop_task.enqueue()
    assert_refused(post_execute(result.id, token=forged(email_verified=False)), 403, result.id)


def test_unauthenticated_request_learns_nothing():
    # Even for an unknown execution, an unauthenticated request is refused first.
    assert post_execute("0" * 32, token=None).status_code == 401


def test_verification_can_be_turned_off_explicitly(settings, tasks_emulator):
    options = {**TASKS["default"]["OPTIONS"], "oidc_verify": False}
    settings.TASKS = {"default": {**TASKS["default"], "OPTIONS": options}}
    result = tasks.calculate_meaning_of_life.enqueue()
    assert post_execute(result.id, token=None).status_code == 200
    warnings = [m for m in task_backends["default"].check() if m.level == checks.WARNING]
    assert [w.id for w in warnings] == ["tasks_google.W002"]

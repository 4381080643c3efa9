"""execute/ and schedule/ when the signing certificates are downloaded (Google's URL, or the
emulator server's): a malformed token costs no download, an unreachable URL is a retryable 503,
and made-up key ids cannot force downloads. Real HTTP throughout."""

import base64
import json
import logging
import math

import pytest

from emulator.kit.oidc import OidcIssuer
from tasks_google import clock
from tasks_google.config.options import EMULATOR_HOST_ENV, EMULATOR_URL_ENV
from tasks_google.endpoints import id_tokens, signing_certificates
from tasks_google.endpoints.signing_certificates import (
    CERTS_TTL_SECONDS,
    FAILED_DOWNLOAD_RETRY_SECONDS,
    UNKNOWN_KEY_REFETCH_SECONDS,
    CertificateCache,
)
from tasks_google.framework import TaskResultStatus
from tasks_google.models import TaskExecution
from tests.settings import SERVICE_ACCOUNT, TASKS
from tests.tasks_google.certificate_server import certificate_server, refused_url
from tests.tasks_google.deliveries import AUDIENCE, post_execute, post_schedule

pytestmark = pytest.mark.django_db

SLOT = "2026-01-05T08:00:00+00:00"


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


#: Tokens that are not well-formed JWTs with a key id: refused before anything is downloaded.
MALFORMED = [
    "garbage",
    "not.a.jwt",
    "a.b.c.d",
    f"{_b64({'alg': 'RS256', 'kid': 'k'})}.{_b64({'sub': '1'})}.",
    f"{_b64({'alg': 'RS256'})}.{_b64({'sub': '1'})}.c2ln",
    f"{_b64({'alg': 'RS256', 'kid': 'k'})}.bm90IGpzb24.c2ln",
    f"{_b64({'alg': 'RS256', 'kid': 'k'})}.{_b64({'sub': '1'})}.c2l*",
]


class MovableClock:
    """Monotonic seconds that move only when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(autouse=True)
def cache_clock(monkeypatch) -> MovableClock:
    """Each test starts with nothing downloaded, on a clock it moves itself."""
    moved = MovableClock()
    monkeypatch.setattr(signing_certificates, "default_cache", CertificateCache(clock=moved))
    return moved


def backend_options(**options) -> dict:
    """The test settings' TASKS, with the default backend on the gcp transport."""
    gcp = {
        **TASKS["default"]["OPTIONS"],
        "project_id": "my-project-1",
        "transport": "gcp",
        **options,
    }
    return {**TASKS, "default": {**TASKS["default"], "OPTIONS": gcp}}


@pytest.fixture
def server(settings):
    """A certificate server, as the emulator server's URL of a gcp backend."""
    with certificate_server() as server:
        # The emulator host is never contacted here: only its certificates are.
        settings.TASKS = backend_options(emulator_host="127.0.0.1:9", emulator_url=server.url)
        yield server


@pytest.fixture
def unreachable_google(settings, monkeypatch):
    """A gcp backend talking to Google, with Google's certificate URL refusing connections."""
    monkeypatch.delenv(EMULATOR_HOST_ENV, raising=False)
    monkeypatch.delenv(EMULATOR_URL_ENV, raising=False)
    monkeypatch.setattr(id_tokens, "GOOGLE_CERTS_URL", refused_url() + "/oauth2/v1/certs")
    settings.TASKS = backend_options()


def new_row() -> TaskExecution:
    return TaskExecution.objects.create(
        task_path="tests.tasks_google.tasks.noop_task",
        backend="default",
        queue="default",
        enqueued_at=clock.now(),
    )


def assert_untouched(row: TaskExecution) -> None:
    row.refresh_from_db()
    assert row.attempt_count == 0 and row.status == TaskResultStatus.READY


def test_malformed_token_is_401_without_any_download(server):
    row = new_row()
    for token in MALFORMED:
        assert post_execute(row.pk, token=token).status_code == 401, token
        assert post_schedule("nightly", SLOT, token=token).status_code == 401, token
    assert server.downloads == 0
    assert_untouched(row)
    # The same server verifies a real token: the URL was right all along.
    assert post_execute(row.pk, token=server.token()).status_code == 200
    assert server.downloads == 1


def test_malformed_token_is_401_when_google_is_unreachable(unreachable_google):
    row = new_row()
    assert post_execute(row.pk, token="garbage").status_code == 401
    assert post_schedule("nightly", SLOT, token="garbage").status_code == 401
    assert_untouched(row)


def test_unverifiable_token_is_503_with_retry_after_and_one_warning(unreachable_google, caplog):
    row = new_row()
    token = OidcIssuer("https://accounts.google.com").mint(SERVICE_ACCOUNT, AUDIENCE)
    caplog.set_level(logging.INFO)

    response = post_execute(row.pk, token=token)

    assert response.status_code == 503, response.content
    assert response["Retry-After"] == str(math.ceil(FAILED_DOWNLOAD_RETRY_SECONDS))
    assert_untouched(row)
    logged = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [(r.name, r.levelname) for r in logged] == [("tasks_google.endpoints.views", "WARNING")]
    assert logged[0].exc_info is None and "refused" in logged[0].getMessage()
    assert post_schedule("nightly", SLOT, token=token).status_code == 503


def test_failed_download_is_tried_again_after_the_wait(server, cache_clock):
    row = new_row()
    server.failing_status = 503
    assert post_execute(row.pk, token=server.token()).status_code == 503
    # Within the wait, deliveries are refused without another download.
    cache_clock.advance(FAILED_DOWNLOAD_RETRY_SECONDS - 1)
    response = post_execute(row.pk, token=server.token())
    assert response.status_code == 503 and response["Retry-After"] == "1"
    assert server.downloads == 1
    server.failing_status = None
    cache_clock.advance(1)
    assert post_execute(row.pk, token=server.token()).status_code == 200
    assert server.downloads == 2


def test_unknown_key_ids_download_at_most_once_a_minute(server, cache_clock):
    row = new_row()
    assert post_execute(row.pk, token=server.token()).status_code == 200
    assert server.downloads == 1
    for _ in range(5):
        stranger = server.token(server.stranger())
        assert post_execute(new_row().pk, token=stranger).status_code == 401
    assert server.downloads == 2
    cache_clock.advance(UNKNOWN_KEY_REFETCH_SECONDS - 1)
    assert post_execute(new_row().pk, token=server.token(server.stranger())).status_code == 401
    assert server.downloads == 2
    cache_clock.advance(1)
    assert post_execute(new_row().pk, token=server.token(server.stranger())).status_code == 401
    assert server.downloads == 3


def test_a_rotated_key_is_downloaded_and_accepted(server):
    assert post_execute(new_row().pk, token=server.token()).status_code == 200
    server.rotate()
    assert post_execute(new_row().pk, token=server.token()).status_code == 200
    assert post_execute(new_row().pk, token=server.token()).status_code == 200
    assert server.downloads == 2


def test_certificates_are_downloaded_again_once_expired(server, cache_clock):
    assert post_execute(new_row().pk, token=server.token()).status_code == 200
    cache_clock.advance(CERTS_TTL_SECONDS - 1)
    assert post_execute(new_row().pk, token=server.token()).status_code == 200
    assert server.downloads == 1
    cache_clock.advance(1)
    assert post_execute(new_row().pk, token=server.token()).status_code == 200
    assert server.downloads == 2

"""The local OIDC issuer (T23): tokens that google-auth's real verification code accepts."""

from __future__ import annotations

import base64
import json
import time

import pytest
from cryptography.hazmat.primitives import serialization
from google.auth import jwt
from google.cloud import tasks_v2
from google.oauth2 import id_token

from emulator import LocalCloud, OidcIssuer
from emulator.kit.oidc import DEFAULT_ISSUER, TOKEN_REUSE_MARGIN, generate_key_pem, subject_for
from tests.emulator.conftest import PARENT, QUEUE, URL, RecordingDispatcher

ISSUER = "http://127.0.0.1:8124"
ACCOUNT = "tasks@demo-project.iam.gserviceaccount.com"
AUDIENCE = "https://app.example.com/tasks/"


class CertsRequest:
    """A google.auth transport request answering every GET with the issuer's PEM map."""

    def __init__(self, payload: dict) -> None:
        self.payload = payload
        self.urls: list[str] = []

    def __call__(self, url: str, method: str = "GET", **kwargs: object) -> object:
        self.urls.append(url)
        body = json.dumps(self.payload).encode()
        return type("Response", (), {"status": 200, "data": body, "headers": {}})()


def header_of(token: str) -> dict:
    part = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def test_t23_token_claims_and_header():
    issuer = OidcIssuer(ISSUER)
    before = int(time.time())

    token = issuer.mint(ACCOUNT, AUDIENCE)

    claims = jwt.decode(token, certs=issuer.pem_certs(), audience=AUDIENCE)
    assert claims["iss"] == ISSUER
    assert claims["aud"] == AUDIENCE
    assert claims["email"] == ACCOUNT
    assert claims["email_verified"] is True
    assert claims["sub"] == claims["azp"] == subject_for(ACCOUNT)
    assert claims["sub"].isdigit() and len(claims["sub"]) == 21
    assert before <= claims["iat"] <= int(time.time())
    assert claims["exp"] == claims["iat"] + 3600
    assert header_of(token) == {"typ": "JWT", "alg": "RS256", "kid": issuer.key_id}


def test_t23_verify_token_with_a_certs_url_accepts_it():
    issuer = OidcIssuer(ISSUER)
    request = CertsRequest(issuer.pem_certs())

    claims = id_token.verify_token(
        issuer.mint(ACCOUNT, AUDIENCE),
        request,
        audience=AUDIENCE,
        certs_url=ISSUER + "/oauth2/v1/certs",
    )

    assert claims["email"] == ACCOUNT
    assert request.urls == [ISSUER + "/oauth2/v1/certs"]


@pytest.fixture(scope="module")
def other_key() -> bytes:
    return generate_key_pem()


def test_t23_wrong_audience_or_other_key_is_rejected(other_key):
    issuer = OidcIssuer(ISSUER)
    token = issuer.mint(ACCOUNT, AUDIENCE)

    with pytest.raises(ValueError, match="audience"):
        jwt.decode(token, certs=issuer.pem_certs(), audience="https://elsewhere.example.com/")
    other = OidcIssuer(ISSUER, key_pem=other_key)
    with pytest.raises(ValueError):
        jwt.decode(token, certs={issuer.key_id: other.pem_certs()[other.key_id]})


def test_sub_is_stable_per_email():
    assert subject_for(ACCOUNT) == subject_for(ACCOUNT)
    assert subject_for(ACCOUNT) != subject_for("other@demo-project.iam.gserviceaccount.com")


def test_jwks_is_rfc7517_for_the_signing_key():
    issuer = OidcIssuer(ISSUER)

    (key,) = issuer.jwks()["keys"]

    public = serialization.load_pem_private_key(issuer.key_pem, None).public_key()
    numbers = public.public_numbers()

    def uint(value: str) -> int:
        return int.from_bytes(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)), "big")

    assert {k: key[k] for k in ("kty", "alg", "use", "kid")} == {
        "kty": "RSA",
        "alg": "RS256",
        "use": "sig",
        "kid": issuer.key_id,
    }
    assert (uint(key["n"]), uint(key["e"])) == (numbers.n, numbers.e)


def test_openid_configuration_points_at_the_jwks():
    config = OidcIssuer(ISSUER + "/").openid_configuration()

    assert config["issuer"] == ISSUER
    assert config["jwks_uri"] == ISSUER + "/oauth2/v3/certs"
    assert config["id_token_signing_alg_values_supported"] == ["RS256"]


def test_issuers_share_the_process_key_unless_given_one(other_key):
    assert OidcIssuer("https://a.example").key_id == OidcIssuer("https://b.example").key_id
    assert OidcIssuer(ISSUER, key_pem=other_key).key_id != OidcIssuer(ISSUER).key_id


def test_t23_local_cloud_signs_with_its_issuer_and_the_task_url_as_audience(clock):
    dispatcher = RecordingDispatcher(200)
    cloud = LocalCloud(clock, dispatcher)
    cloud.cloud_tasks.create_queue(
        tasks_v2.CreateQueueRequest(parent=PARENT, queue=tasks_v2.Queue(name=QUEUE))
    )
    http = tasks_v2.HttpRequest(
        url=URL, oidc_token=tasks_v2.OidcToken(service_account_email=ACCOUNT)
    )
    cloud.cloud_tasks.create_task(
        tasks_v2.CreateTaskRequest(parent=QUEUE, task=tasks_v2.Task(http_request=http))
    )

    cloud.run_until_idle()

    scheme, _, token = dispatcher.deliveries[0].headers["Authorization"].partition(" ")
    claims = jwt.decode(token, certs=cloud.oidc.pem_certs(), audience=URL)
    assert scheme == "Bearer"
    assert cloud.oidc.issuer == DEFAULT_ISSUER == claims["iss"]
    assert claims["email"] == ACCOUNT


def test_local_cloud_issuer_can_be_overridden(clock):
    cloud = LocalCloud(clock, RecordingDispatcher(), oidc_issuer="https://issuer.test")

    assert jwt.decode(cloud.oidc.mint(ACCOUNT, "aud"), certs=cloud.oidc.pem_certs())["iss"] == (
        "https://issuer.test"
    )


def test_t23_a_token_is_reused_for_its_account_and_audience_until_near_its_expiry(monkeypatch):
    issuer = OidcIssuer(ISSUER)
    wall = [1_800_000_000.0]
    monkeypatch.setattr("emulator.kit.oidc.time.time", lambda: wall[0])

    first = issuer.mint(ACCOUNT, AUDIENCE)
    wall[0] += 3600 - TOKEN_REUSE_MARGIN.total_seconds() - 1  # still well within its hour
    assert issuer.mint(ACCOUNT, AUDIENCE) == first
    assert issuer.mint(ACCOUNT, "https://other.example.com") != first
    assert issuer.mint("other@demo.iam.gserviceaccount.com", AUDIENCE) != first

    wall[0] += 2  # within the margin: a fresh token, valid for a new hour
    fresh = issuer.mint(ACCOUNT, AUDIENCE)
    assert fresh != first
    assert jwt.decode(fresh, verify=False)["iat"] == int(wall[0])

"""Verification of the OIDC ID tokens that Cloud Tasks (or the emulator) attaches to deliveries.

One code path for every target: signature, expiry, audience, issuer and the service account's
verified email. Only where the signing keys come from differs: Google's published certificates,
the emulator server's copy of the same endpoint, or the in-process emulator's issuer directly.
A token's header is parsed (its key id) before any certificate is needed, so a malformed token
costs no download; downloads follow the policy of `tasks_google.endpoints.signing_certificates`.
"""

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from google.auth import exceptions as auth_exceptions
from google.auth import jwt

from tasks_google.config.options import BackendOptions
from tasks_google.config.targets import Target, TargetKind, resolve_target
from tasks_google.endpoints import signing_certificates
from tasks_google.endpoints.signing_certificates import CertificatesUnavailable

#: Google's signing certificates for ID tokens, as a {key id: PEM certificate} map.
GOOGLE_CERTS_URL = "https://www.googleapis.com/oauth2/v1/certs"
GOOGLE_ISSUERS = ("https://accounts.google.com", "accounts.google.com")
#: The emulator serves the same certificate format at this path of its control API.
EMULATOR_CERTS_PATH = "/oauth2/v1/certs"
CLOCK_SKEW_SECONDS = 30


class TokenRejected(Exception):
    """A delivery's token is missing or invalid (401) or not for our service account (403)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class KeySource:
    """Where a backend's tokens come from: accepted issuers and a way to get signing certs."""

    issuers: tuple[str, ...]
    #: The {key id: PEM} certificates that may hold the given key id (CertificatesUnavailable).
    certs: Callable[[str], Mapping[str, str]]


def _downloaded(url: str) -> Callable[[str], Mapping[str, str]]:
    return lambda key_id: signing_certificates.default_cache.certs_for(url, key_id)


def key_source(target: Target) -> KeySource:
    """The issuers and certificates that sign the tokens deliveries to `target` carry."""
    if target.kind is TargetKind.IN_PROCESS:
        from tasks_google.transports import inprocess

        issuer = inprocess.current_cloud().oidc
        return KeySource((issuer.issuer,), lambda key_id: issuer.pem_certs())
    if target.kind is TargetKind.EMULATOR and target.control_url:
        return KeySource(
            (target.control_url,), _downloaded(target.control_url + EMULATOR_CERTS_PATH)
        )
    return KeySource(GOOGLE_ISSUERS, _downloaded(GOOGLE_CERTS_URL))


def _segment(text: str) -> bytes:
    """One base64url segment of a JWT (unpadded, as JWTs are written)."""
    return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)


def key_id_of(token: str) -> str:
    """The key id (`kid`) in the header of `token`; TokenRejected(401) if it is not a JWT.

    Nothing is downloaded: a malformed token is refused before any certificate is needed.
    """
    parts = token.split(".")
    try:
        if len(parts) != 3 or not parts[2]:
            raise ValueError("expected three base64url segments header.payload.signature")
        header, payload = (json.loads(_segment(part)) for part in parts[:2])
        _segment(parts[2])
    except (ValueError, binascii.Error) as exc:
        raise TokenRejected(401, f"the ID token is not a JWT: {exc}") from None
    if not isinstance(header, dict) or not isinstance(payload, dict):
        raise TokenRejected(401, "the ID token is not a JWT: header or payload is not an object")
    key_id = header.get("kid")
    if not isinstance(key_id, str) or not key_id:
        raise TokenRejected(401, "the ID token's header names no key id (kid)")
    return key_id


def verify(token: str, config: BackendOptions) -> dict:
    """The claims of `token` if it is a valid ID token for `config`.

    Raises TokenRejected, or CertificatesUnavailable when its key cannot be checked now.
    """
    key_id = key_id_of(token)
    source = key_source(resolve_target(config))
    certs = source.certs(key_id)
    try:
        claims = jwt.decode(
            token, certs=certs, audience=config.audience, clock_skew_in_seconds=CLOCK_SKEW_SECONDS
        )
    except (ValueError, auth_exceptions.GoogleAuthError) as exc:
        raise TokenRejected(401, f"invalid ID token: {exc}") from None
    if claims.get("iss") not in source.issuers:
        raise TokenRejected(401, f"ID token from an unexpected issuer {claims.get('iss')!r}")
    if claims.get("email") != config.oidc_service_account:
        raise TokenRejected(
            403, f"ID token is for {claims.get('email')!r}, not the service account"
        )
    if claims.get("email_verified") is not True:
        raise TokenRejected(403, "ID token's email is not verified")
    return claims


def bearer_token(authorization: str | None) -> str:
    """The token of an `Authorization: Bearer <token>` header; TokenRejected(401) otherwise."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise TokenRejected(401, "missing Authorization: Bearer <ID token>")
    return token.strip()


def authenticate(authorization: str | None, configs: list[BackendOptions]) -> dict | None:
    """Accept a delivery whose token is valid for one of `configs` (the verifying backends).

    Returns its claims (None when no backend verifies tokens). Raises TokenRejected, or
    CertificatesUnavailable when no backend accepted the token and one could not check it now.
    """
    if not configs:
        return None
    token = bearer_token(authorization)
    rejections: list[TokenRejected] = []
    unavailable: list[CertificatesUnavailable] = []
    for config in configs:
        try:
            return verify(token, config)
        except TokenRejected as rejection:
            rejections.append(rejection)
        except CertificatesUnavailable as exc:
            unavailable.append(exc)
    if unavailable:
        # The token may be valid for a backend that could not check it: refuse it for now only.
        raise min(unavailable, key=lambda u: u.retry_after)
    # Prefer "valid token, wrong account" (403) over "invalid token" (401) when both were seen.
    raise max(rejections, key=lambda r: r.status)

"""Verification of the OIDC ID tokens that Cloud Tasks (or the emulator) attaches to deliveries.

One code path for every target: signature, expiry, audience, issuer and the service account's
verified email. Only where the signing keys come from differs: Google's published certificates,
the emulator server's copy of the same endpoint, or the in-process emulator's issuer directly.
"""

import json
import logging
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

from google.auth import exceptions as auth_exceptions
from google.auth import jwt

from tasks_google.options import BackendOptions

logger = logging.getLogger(__name__)

#: Google's signing certificates for ID tokens, as a {key id: PEM certificate} map.
GOOGLE_CERTS_URL = "https://www.googleapis.com/oauth2/v1/certs"
GOOGLE_ISSUERS = ("https://accounts.google.com", "accounts.google.com")
#: The emulator serves the same certificate format at this path of its control API.
EMULATOR_CERTS_PATH = "/oauth2/v1/certs"
CERTS_TTL_SECONDS = 3600.0
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
    certs: Callable[[bool], dict[str, str]]  # argument: bypass the cache


_cache_lock = threading.Lock()
_certs_cache: dict[str, tuple[float, dict[str, str]]] = {}


def fetch_certs(url: str, refresh: bool = False) -> dict[str, str]:
    """The {key id: PEM} map at `url`, cached for an hour (refetched when asked)."""
    with _cache_lock:
        cached = _certs_cache.get(url)
        if cached and not refresh and time.monotonic() - cached[0] < CERTS_TTL_SECONDS:
            return cached[1]
    with urllib.request.urlopen(url, timeout=5) as response:
        certs = json.load(response)
    with _cache_lock:
        _certs_cache[url] = (time.monotonic(), certs)
    return certs


def key_source(config: BackendOptions) -> KeySource:
    """The issuers and certificates that sign the tokens a backend's deliveries carry."""
    from tasks_google.transports import inprocess

    if inprocess.is_emulated() or config.transport == "inprocess":
        issuer = inprocess.current_cloud().oidc
        return KeySource((issuer.issuer,), lambda refresh: issuer.pem_certs())
    if config.emulator_host and config.emulator_url:
        url = config.emulator_url + EMULATOR_CERTS_PATH
        return KeySource((config.emulator_url,), lambda refresh: fetch_certs(url, refresh))
    return KeySource(GOOGLE_ISSUERS, lambda refresh: fetch_certs(GOOGLE_CERTS_URL, refresh))


def verify(token: str, config: BackendOptions) -> dict:
    """The claims of `token` if it is a valid ID token for `config`; else TokenRejected."""
    source = key_source(config)
    try:
        claims = _decode(token, source, config.audience)
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


def _decode(token: str, source: KeySource, audience: str) -> dict:
    try:
        return jwt.decode(
            token,
            certs=source.certs(False),
            audience=audience,
            clock_skew_in_seconds=CLOCK_SKEW_SECONDS,
        )
    except ValueError as exc:
        if "not found" not in str(exc).lower():
            raise
    # An unknown key id: the keys may have rotated (or the emulator restarted); refetch once.
    return jwt.decode(
        token, certs=source.certs(True), audience=audience, clock_skew_in_seconds=CLOCK_SKEW_SECONDS
    )


def bearer_token(authorization: str | None) -> str:
    """The token of an `Authorization: Bearer <token>` header; TokenRejected(401) otherwise."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise TokenRejected(401, "missing Authorization: Bearer <ID token>")
    return token.strip()


def authenticate(authorization: str | None, configs: list[BackendOptions]) -> dict | None:
    """Accept a delivery whose token is valid for one of `configs` (the verifying backends).

    Returns its claims (None when no backend verifies tokens); raises TokenRejected.
    """
    if not configs:
        return None
    token = bearer_token(authorization)
    rejections: list[TokenRejected] = []
    for config in configs:
        try:
            return verify(token, config)
        except TokenRejected as rejection:
            rejections.append(rejection)
    # Prefer "valid token, wrong account" (403) over "invalid token" (401) when both were seen.
    raise max(rejections, key=lambda r: r.status)

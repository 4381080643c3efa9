"""A local OpenID Connect issuer: signs the ID tokens Cloud Tasks attaches to requests (T23).

The emulator cannot sign as Google, so it signs with its own RSA key and publishes the public half
in the same formats Google does: an OpenID configuration, a JWKS (``/oauth2/v3/certs``) and a map
of key id to X.509 certificate (``/oauth2/v1/certs``). An app verifying tokens with
``google.oauth2.id_token.verify_token(..., certs_url=...)`` or ``google.auth.jwt.decode`` runs its
real verification code against the emulator.

Generating an RSA key takes tens of milliseconds, and tests build many clouds, so one key is
generated per process (lazily) and shared, unless the caller passes a key (e.g. persisted in a
data directory).
"""

from __future__ import annotations

import base64
import hashlib
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from google.auth import crypt, jwt

DEFAULT_ISSUER = "https://oidc.emulator.invalid"
TOKEN_LIFETIME = timedelta(hours=1)
#: A token minted on the wall clock is handed out again for the same account and audience until
#: this long before it expires (Google's services also reuse theirs within their hour), so a
#: delivery costs no RSA signature.
TOKEN_REUSE_MARGIN = timedelta(minutes=5)
SIGNING_ALGORITHM = "RS256"
JWKS_PATH = "/oauth2/v3/certs"
PEM_CERTS_PATH = "/oauth2/v1/certs"
CONFIGURATION_PATH = "/.well-known/openid-configuration"

_process_key_lock = threading.Lock()
_process_key_pem: bytes | None = None


def generate_key_pem() -> bytes:
    """A new 2048-bit RSA private key, PKCS#8 PEM."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def process_key_pem() -> bytes:
    """The key shared by every issuer of this process that was not given one."""
    global _process_key_pem
    with _process_key_lock:
        if _process_key_pem is None:
            _process_key_pem = generate_key_pem()
        return _process_key_pem


def subject_for(email: str) -> str:
    """A stable numeric ``sub`` for a service account, shaped like Google's 21-digit ids."""
    digest = int.from_bytes(hashlib.sha256(email.encode()).digest()[:16], "big")
    return str(10**20 + digest % (9 * 10**20))


def _b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class OidcIssuer:
    """Mints RS256 ID tokens as ``issuer`` and publishes the keys to verify them.

    ``key_pem`` is a PEM RSA private key; without one the process-wide key is used (created on
    first use, so building an issuer is cheap).
    """

    def __init__(self, issuer: str, key_pem: bytes | None = None) -> None:
        self.issuer = issuer.rstrip("/")
        self._given_key = key_pem
        self._lock = threading.RLock()
        self._signer: crypt.RSASigner | None = None
        self._key_id: str | None = None
        self._key_pem: bytes | None = None
        self._cert_pem: str | None = None
        #: {(service account, audience): (token, its exp)} of the tokens minted on the wall clock.
        self._minted: dict[tuple[str, str], tuple[str, float]] = {}
        self._reuse_lock = threading.Lock()

    @property
    def key_pem(self) -> bytes:
        """The private signing key (PEM); what a data directory persists."""
        self._load()
        assert self._key_pem is not None
        return self._key_pem

    @property
    def key_id(self) -> str:
        """The ``kid`` of the signing key (in token headers, the JWKS and the PEM map)."""
        self._load()
        assert self._key_id is not None
        return self._key_id

    def mint(
        self, service_account_email: str, audience: str, *, now: datetime | None = None
    ) -> str:
        """A signed ID token for ``service_account_email`` with audience ``audience``.

        Times are the wall clock's unless ``now`` is given: verifiers (google-auth) check ``iat``
        and ``exp`` against the wall clock, even when the emulator runs on a virtual one. On the
        wall clock a token is reused until TOKEN_REUSE_MARGIN before it expires.
        """
        if now is not None:
            return self._sign(service_account_email, audience, int(now.timestamp()))
        key = (service_account_email, audience)
        with self._reuse_lock:
            reused = self._minted.get(key)
            wall = time.time()
            if reused is not None and wall < reused[1] - TOKEN_REUSE_MARGIN.total_seconds():
                return reused[0]
            token = self._sign(service_account_email, audience, int(wall))
            self._minted[key] = (token, int(wall) + TOKEN_LIFETIME.total_seconds())
            return token

    def _sign(self, service_account_email: str, audience: str, issued: int) -> str:
        self._load()
        subject = subject_for(service_account_email)
        payload = {
            "iss": self.issuer,
            "aud": audience,
            "azp": subject,
            "sub": subject,
            "email": service_account_email,
            "email_verified": True,
            "iat": issued,
            "exp": issued + int(TOKEN_LIFETIME.total_seconds()),
        }
        assert self._signer is not None
        return jwt.encode(self._signer, payload, key_id=self._key_id).decode()

    def openid_configuration(self) -> dict[str, Any]:
        """The discovery document served at ``/.well-known/openid-configuration``."""
        return {
            "issuer": self.issuer,
            "jwks_uri": self.issuer + JWKS_PATH,
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": [SIGNING_ALGORITHM],
            "claims_supported": [
                "aud",
                "azp",
                "email",
                "email_verified",
                "exp",
                "iat",
                "iss",
                "sub",
            ],
        }

    def jwks(self) -> dict[str, Any]:
        """The public key as an RFC 7517 JWK Set (Google's ``/oauth2/v3/certs`` format)."""
        self._load()
        public = serialization.load_pem_private_key(self.key_pem, password=None).public_key()
        assert isinstance(public, rsa.RSAPublicKey)
        numbers = public.public_numbers()
        return {
            "keys": [
                {
                    "kty": "RSA",
                    "alg": SIGNING_ALGORITHM,
                    "use": "sig",
                    "kid": self.key_id,
                    "n": _b64url_uint(numbers.n),
                    "e": _b64url_uint(numbers.e),
                }
            ]
        }

    def pem_certs(self) -> dict[str, str]:
        """``{kid: self-signed X.509 certificate PEM}`` (Google's ``/oauth2/v1/certs`` format)."""
        self._load()
        with self._lock:
            if self._cert_pem is None:
                self._cert_pem = self._self_signed_certificate()
            return {self.key_id: self._cert_pem}

    def _load(self) -> None:
        with self._lock:
            if self._signer is not None:
                return
            key_pem = self._given_key if self._given_key is not None else process_key_pem()
            private = serialization.load_pem_private_key(key_pem, password=None)
            if not isinstance(private, rsa.RSAPrivateKey):
                raise ValueError("OidcIssuer needs an RSA private key.")
            public_der = private.public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            self._key_id = hashlib.sha256(public_der).hexdigest()[:40]
            self._key_pem = key_pem
            self._signer = crypt.RSASigner.from_string(key_pem, key_id=self._key_id)

    def _self_signed_certificate(self) -> str:
        private = serialization.load_pem_private_key(self.key_pem, password=None)
        assert isinstance(private, rsa.RSAPrivateKey)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tasks-google emulator OIDC")])
        now = datetime.now(UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(private.public_key())
            .serial_number(int(self.key_id[:16], 16))
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=3650))
            .sign(private, hashes.SHA256())
        )
        return certificate.public_bytes(serialization.Encoding.PEM).decode()

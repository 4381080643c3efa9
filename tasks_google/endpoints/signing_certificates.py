"""The certificates that verify ID tokens: downloaded from a URL, cached, refetched sparingly.

The policy, per URL:
- a download is kept for `CERTS_TTL_SECONDS`, then downloaded again on the next need;
- a token naming a key id the download lacks may mean the keys rotated, so the URL is downloaded
  again, but at most once per `UNKNOWN_KEY_REFETCH_SECONDS` (otherwise every request with a
  made-up key id would cost a download);
- a download that fails is not tried again for `FAILED_DOWNLOAD_RETRY_SECONDS`; until then, a
  token whose key is not among cached certificates raises `CertificatesUnavailable`.
One download per URL runs at a time; requests that need it wait for it and share its result.
"""

import http.client
import json
import math
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

CERTS_TTL_SECONDS = 3600.0
UNKNOWN_KEY_REFETCH_SECONDS = 60.0
FAILED_DOWNLOAD_RETRY_SECONDS = 10.0
DOWNLOAD_TIMEOUT_SECONDS = 5.0


class CertificatesUnavailable(Exception):
    """The certificates that could verify a token cannot be downloaded now; retry later."""

    def __init__(self, url: str, reason: str, retry_after: int) -> None:
        super().__init__(f"signing certificates unavailable from {url}: {reason}")
        self.url = url
        self.reason = reason
        #: Whole seconds (at least 1) until the next download of `url` may be tried.
        self.retry_after = retry_after


@dataclass(frozen=True)
class _Entry:
    """What is known of one URL: its last good download and the download attempts made."""

    certs: dict[str, str] | None = None
    expires_at: float = -math.inf
    attempted_at: float = -math.inf  # the last download attempt
    refetched_at: float = -math.inf  # the last attempt made for a key id the certs lacked
    failure: str | None = None  # why the last attempt failed (None: it succeeded)

    def usable(self, now: float) -> bool:
        return self.certs is not None and now < self.expires_at

    def next_download_at(self, now: float) -> float:
        """When this URL may be downloaded again, for a key id not among usable certificates."""
        at = -math.inf
        if self.failure is not None:
            at = self.attempted_at + FAILED_DOWNLOAD_RETRY_SECONDS
        if self.usable(now):
            at = max(at, self.refetched_at + UNKNOWN_KEY_REFETCH_SECONDS)
        return at

    def after_download(
        self, now: float, certs: dict[str, str] | None, failure: str | None
    ) -> "_Entry":
        """This entry once a download attempt at `now` got `certs` (or failed with `failure`)."""
        refetched_at = now if self.usable(now) else self.refetched_at
        if failure is not None:
            return _Entry(self.certs, self.expires_at, now, refetched_at, failure)
        return _Entry(certs, now + CERTS_TTL_SECONDS, now, refetched_at)


def download(url: str) -> dict[str, str]:
    """The `{key id: PEM certificate}` JSON object at `url`; OSError or ValueError on failure."""
    try:
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_SECONDS) as response:
            certs = json.load(response)
    except http.client.HTTPException as exc:
        raise OSError(f"{type(exc).__name__}: {exc}") from exc
    if not isinstance(certs, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in certs.items()
    ):
        raise ValueError("the response is not a JSON object of key id to certificate")
    return certs


class CertificateCache:
    """Certificates per URL, under the policy of this module. Safe to share between threads."""

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        fetch: Callable[[str], dict[str, str]] = download,
    ) -> None:
        self._clock = clock
        self._fetch = fetch
        self._lock = threading.Lock()
        self._url_locks: dict[str, threading.Lock] = {}
        self._entries: dict[str, _Entry] = {}

    def certs_for(self, url: str, key_id: str) -> dict[str, str]:
        """The certificates at `url`, downloaded when the policy allows and they are needed.

        The result may lack `key_id` (then the token is not ours to accept). Raises
        CertificatesUnavailable when a download it needed failed.
        """
        with self._url_lock(url):
            entry = self._entries.get(url, _Entry())
            now = self._clock()
            if entry.usable(now) and key_id in entry.certs:
                return entry.certs
            if now >= entry.next_download_at(now):
                entry = self._download(url, now)
            if entry.failure is None:
                return entry.certs  # the latest download, with or without `key_id`
            wait = entry.next_download_at(now) - now
            raise CertificatesUnavailable(url, entry.failure, max(1, math.ceil(wait)))

    def clear(self) -> None:
        """Forget every download (the next need downloads again)."""
        with self._lock:
            self._entries.clear()

    def _download(self, url: str, now: float) -> _Entry:
        previous = self._entries.get(url, _Entry())
        try:
            entry = previous.after_download(now, self._fetch(url), None)
        except (OSError, ValueError) as exc:
            entry = previous.after_download(now, None, str(exc) or type(exc).__name__)
        with self._lock:
            self._entries[url] = entry
        return entry

    def _url_lock(self, url: str) -> threading.Lock:
        with self._lock:
            return self._url_locks.setdefault(url, threading.Lock())


#: The process's cache, shared by every backend that verifies tokens.
default_cache = CertificateCache()

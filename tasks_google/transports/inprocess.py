"""The `inprocess` transport: an emulator engine living in this Python process.

Deliveries go straight into the Django app through its WSGI handler (no socket), carrying the same
headers a real delivery carries. Time is virtual: nothing is delivered until the test API
(`tasks_google.testing`) advances the clock.
"""

import contextlib
import functools
import threading
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.test import override_settings
from django.test.client import Client, RequestFactory
from google.cloud import run_v2

from emulator import Delivery, DeliveryResult, LocalCloud, VirtualClock
from tasks_google.transports.cloud import CloudTransport, Service

_lock = threading.Lock()
_default_cloud: LocalCloud | None = None
_installed: list[LocalCloud] = []
#: The host Django's test client and test environment use.
_TEST_CLIENT_HOST = "testserver"


def deliver_to_django(delivery: Delivery) -> DeliveryResult:
    """Hand one delivery to Django's request handler, as the HTTP request Cloud Tasks would send."""
    parts = urlsplit(delivery.url)
    headers = dict(delivery.headers)
    content_type = ""
    for key in list(headers):
        if key.lower() == "content-type":
            content_type = headers.pop(key)
    headers["Host"] = _reachable_host(parts.netloc)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    # Django's test client is the WSGI handler without the per-request connection closing that
    # would break a test's transaction; CSRF is enforced as in production.
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)
    with _hosts_allowing(headers["Host"]):
        response = client.generic(
            delivery.http_method,
            path,
            data=delivery.body,
            content_type=content_type,
            secure=parts.scheme == "https",
            headers=headers,
        )
    return DeliveryResult(status=response.status_code, headers=dict(response.headers.items()))


def _host_allowed(host: str) -> bool:
    """Whether Django's own host validation (ALLOWED_HOSTS, DEBUG's defaults) accepts `host`."""
    return _validates(host, tuple(settings.ALLOWED_HOSTS), settings.DEBUG)


@functools.lru_cache(maxsize=64)
def _validates(host: str, allowed_hosts: tuple[str, ...], debug: bool) -> bool:
    # Keyed on the settings it depends on, so every delivery does not build a request for it.
    try:
        RequestFactory(headers={"Host": host}).get("/").get_host()
    except DisallowedHost:
        return False
    return True


def _reachable_host(base_url_host: str) -> str:
    """The Host header an in-process delivery carries.

    The network is emulated, so whether `base_url`'s host is in ALLOWED_HOSTS says nothing about
    the code under test: when it is not, the delivery uses the test client's own host.
    """
    if _host_allowed(base_url_host):
        return base_url_host
    return _TEST_CLIENT_HOST


@contextlib.contextmanager
def _hosts_allowing(host: str) -> Iterator[None]:
    """Let `host` through ALLOWED_HOSTS for one delivery when neither host is allowed (outside a
    test environment, which would add the test client's host)."""
    if _host_allowed(host):
        yield
        return
    with override_settings(ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, host]):
        yield


def new_cloud(
    clock: VirtualClock | None = None,
    before_step: Callable[[], None] | None = None,
    job_kill_grace: float | None = None,
) -> LocalCloud:
    """A fresh in-process emulator delivering into this Django project."""
    extra = {} if job_kill_grace is None else {"job_kill_grace": job_kill_grace}
    return LocalCloud(clock or VirtualClock(), deliver_to_django, before_step=before_step, **extra)


def install(cloud: LocalCloud) -> None:
    """Make every tasks_google backend use `cloud` until `uninstall()`."""
    with _lock:
        _installed.append(cloud)


def uninstall(cloud: LocalCloud) -> None:
    with _lock:
        _installed.remove(cloud)


def is_emulated() -> bool:
    return bool(_installed)


def current_cloud() -> LocalCloud:
    """The emulator in use: the innermost installed one, else this process's default one."""
    global _default_cloud
    with _lock:
        if _installed:
            return _installed[-1]
        if _default_cloud is None:
            _default_cloud = new_cloud()
        return _default_cloud


def transport() -> CloudTransport:
    """A transport to the current in-process emulator (nothing cached across calls: the
    emulator in use changes as tests install their own)."""
    return CloudTransport(EngineChannel(), emulated=True)


#: The engine of each service in a LocalCloud (the Run services share one).
ENGINES: dict[Service, str] = {
    Service.CLOUD_TASKS: "cloud_tasks",
    Service.SCHEDULER: "scheduler",
    Service.RUN_JOBS: "run_jobs",
    Service.RUN_EXECUTIONS: "run_jobs",
    Service.RUN_TASKS: "run_jobs",
}


class EngineChannel:
    """Hands request messages to the engines of the current in-process emulator."""

    def call(self, service: Service, method: str, request: Any) -> Any:
        return getattr(getattr(current_cloud(), ENGINES[service]), method)(request)

    def list(self, service: Service, method: str, request: Any, field: str, limit: int) -> list:
        items: list = []
        while True:
            page = self.call(service, method, request)
            items.extend(getattr(page, field))
            request.page_token = page.next_page_token
            if not request.page_token or (limit and len(items) >= limit):
                return items[:limit] if limit else items

    def execution_name(self, operation: Any) -> str:
        return run_v2.Execution.deserialize(operation.metadata.value).name

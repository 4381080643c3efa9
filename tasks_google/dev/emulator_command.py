"""The command line that starts the emulator for this project: its project, location and queues
from TASKS, and routes that bring deliveries for production URLs to runserver."""

import importlib.util
import sys
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

from tasks_google.backends.stored import StoredExecutionBackend, configured_backends
from tasks_google.config import dev_emulator
from tasks_google.config.options import CLOUD_TASKS
from tasks_google.config.queue_config import queue_spec

DEFAULT_EMULATOR_PORT = 8123


def emulator_argv(
    *,
    port: int,
    http_port: int | None,
    data_dir: str | None,
    queue_specs: Sequence[str] = (),
    host: str = "127.0.0.1",
    app_url: str | None = None,
) -> list[str]:
    """`python -m emulator` for this project: its project, location and queues from TASKS.

    Each queue of TASKS carries its `queue_config` settings; queues named in `queue_specs`
    (`QUEUE_ID[:key=value,...]`) replace those from TASKS.
    With several projects, the first backend's project and location are used; queues elsewhere
    are created on first use, with defaults. With `app_url` (the local runserver's origin),
    deliveries to a `base_url` elsewhere (the production one, say), or to an `execute_url` or
    `schedule_url` elsewhere, are routed to it.
    """
    argv = [sys.executable, "-m", "emulator", "--host", host, "--port", str(port)]
    if http_port is not None:
        argv += ["--http-port", str(http_port)]
    if data_dir:
        argv += ["--data-dir", data_dir]
    backends = [b for b in configured_backends(CLOUD_TASKS) if b.config.transport == "gcp"]
    if backends:
        first = backends[0].config
        argv += ["--project", first.project_id, "--location", first.location]
    given = {spec.split(":", 1)[0]: spec for spec in queue_specs}
    for spec in {**_specs_from_tasks(backends), **given}.values():
        argv += ["--queue", spec]
    if app_url is not None:
        urls = [
            url
            for backend in backends
            for url in (
                backend.config.base_url,
                backend.config.execute_url,
                backend.config.schedule_url,
            )
        ]
        for route in local_routes(urls, app_url):
            argv += ["--route", route]
    return argv


def _specs_from_tasks(backends: Sequence[StoredExecutionBackend]) -> dict[str, str]:
    """Queue id -> its `--queue` spec with its `queue_config` settings, for the queues of the
    backends in the first backend's project and location."""
    specs: dict[str, str] = {}
    if not backends:
        return specs
    first = backends[0].config
    for backend in backends:
        config = backend.config
        if (config.project_id, config.location) != (first.project_id, first.location):
            continue
        for queue in sorted(backend.queues):
            queue_id, settings = config.queue_id(queue), config.queue_config.get(queue, {})
            if settings or queue_id not in specs:
                specs[queue_id] = queue_spec(queue_id, settings)
    return specs


def local_routes(urls: Sequence[str], app_url: str) -> list[str]:
    """`FROM=TO` routes that bring each URL (a `base_url`, an `execute_url` or `schedule_url`
    elsewhere) not already on `app_url`, nor under a URL routed before it, to the same path there.

    The project's settings keep their production URLs (and with them the ID token's audience);
    only where the emulator sends the requests changes.
    """
    routes, routed = [], []
    for url in dict.fromkeys(urls):
        parts = urlsplit(url)
        prefix = f"{parts.scheme}://{parts.netloc}{parts.path}"
        if not url or url.startswith(app_url + "/") or prefix.startswith(tuple(routed)):
            continue
        routed.append(prefix)
        routes.append(f"{prefix}={app_url}{parts.path}")
    return routes


def default_data_dir() -> str:
    """`.emulator-data` beside the project (BASE_DIR if the settings have one)."""
    return str(dev_emulator.default_data_dir())


def package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent

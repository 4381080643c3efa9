"""The emulator as a server: Google's APIs over gRPC, a control API over HTTP, real deliveries.

``start_server`` wires one ``LocalCloud`` on the wall clock to a gRPC server, the HTTP control API
(whose base URL is also the OIDC issuer), the real-time driver and an HTTP dispatcher, optionally
persisted in a data directory. Tests start it in process on free ports; ``python -m emulator``
runs it from the command line.
"""

from __future__ import annotations

import errno
import importlib.metadata
import logging
import os
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType

import grpc

from emulator.cloud import LocalCloud
from emulator.cloud_tasks.queue_specs import QueueSpec, apply_queue_spec
from emulator.kit.clock import WallClock
from emulator.kit.delivery import Dispatcher
from emulator.kit.faults import CLOUD_TASKS, RUN_JOBS, SCHEDULER, Faults
from emulator.kit.http_delivery import HttpDispatcher
from emulator.kit.oidc import OidcIssuer
from emulator.kit.realtime import DEFAULT_MAX_PARALLEL, RealTimeDriver
from emulator.kit.store import DataDirectory, DataDirInUse
from emulator.run_jobs.engine import DEFAULT_KILL_GRACE_SECONDS
from emulator.run_jobs.job_specs import JobSpec, apply_job_spec
from emulator.server.cloud_tasks_service import cloud_tasks_service
from emulator.server.control_api import ControlApiServer
from emulator.server.grpc_api import PortInUse, ServiceTable, bracketed, build_grpc_server
from emulator.server.locations_service import locations_service
from emulator.server.rest_api import RestApi
from emulator.server.run_jobs_service import run_jobs_services
from emulator.server.scheduler_service import scheduler_service

logger = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8123
DEFAULT_PROJECT = "demo-project"
DEFAULT_LOCATION = "us-central1"
SERVICES = (CLOUD_TASKS, SCHEDULER, RUN_JOBS)


class StartupError(Exception):
    """The server cannot start for a reason the user can fix (port in use, bad queue, ...)."""


def package_version() -> str:
    """The installed tasks-google version, or "dev" when running from a source tree."""
    try:
        return importlib.metadata.version("tasks-google")
    except importlib.metadata.PackageNotFoundError:
        return "dev"


class EmulatorServer:
    """A running emulator: ``grpc_target`` for the official clients, ``url`` for the control API.

    Use ``start_server`` to build one. ``stop()`` (or leaving a ``with`` block) shuts it down.
    """

    def __init__(
        self,
        *,
        host: str,
        grpc_server: grpc.Server,
        grpc_port: int,
        tables: Sequence[ServiceTable],
        http_server: ControlApiServer,
        cloud: LocalCloud,
        driver: RealTimeDriver,
        data_dir: DataDirectory | None,
        project: str,
        location: str,
    ) -> None:
        self.host = host
        self.grpc_port = grpc_port
        self.http_port = http_server.server_address[1]
        self.cloud = cloud
        self.project = project
        self.location = location
        self.version = package_version()
        self.services = SERVICES
        self.rest_api = RestApi(tables)
        self._grpc_server = grpc_server
        self._http_server = http_server
        self._driver = driver
        self._data_dir = data_dir
        self._http_thread: threading.Thread | None = None
        self._stopped = threading.Event()

    @property
    def grpc_target(self) -> str:
        """``host:port`` for ``grpc.insecure_channel`` (the ``CLOUD_TASKS_EMULATOR_HOST``)."""
        return f"{bracketed(self.host)}:{self.grpc_port}"

    @property
    def url(self) -> str:
        """The control API's base URL, also the OIDC issuer (``TASKS_GOOGLE_EMULATOR_URL``)."""
        return f"http://{bracketed(self.host)}:{self.http_port}"

    @property
    def faults(self) -> Faults:
        """The fault rules (the same list the control API's ``/v1/faults`` edits)."""
        return self.cloud.faults

    @property
    def oidc(self) -> OidcIssuer:
        """The issuer signing delivery tokens; its ``issuer`` is ``url``."""
        return self.cloud.oidc

    @property
    def parent(self) -> str:
        """``projects/<project>/locations/<location>``, where ``--queue`` queues live."""
        return f"projects/{self.project}/locations/{self.location}"

    def _start(self) -> None:
        self._http_server.target = self
        self._http_server.server_activate()  # only now: it can answer from here on
        self._http_thread = threading.Thread(
            target=self._http_server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="emulator-control-api",
            daemon=True,
        )
        self._http_thread.start()
        self._grpc_server.start()
        self._driver.start()
        logger.info(
            "Emulator serving %s on %s (gRPC) and %s (control API)%s",
            ", ".join(self.services),
            self.grpc_target,
            self.url,
            f", data in {self._data_dir.path}" if self._data_dir else ", state in memory",
        )

    def stop(self, grace: float = 5.0) -> None:
        """Stop accepting RPCs, let deliveries in flight finish (up to ``grace`` s), close."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        self._grpc_server.stop(grace=min(grace, 1.0)).wait()
        self._driver.stop(grace=grace)
        self._http_server.shutdown()
        self._http_server.server_close()
        self.cloud.close()
        if self._data_dir is not None:
            self._data_dir.close()
        logger.info("Emulator stopped.")

    def __enter__(self) -> EmulatorServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def start_server(
    *,
    host: str = DEFAULT_HOST,
    port: int = 0,
    http_port: int = 0,
    data_dir: str | os.PathLike[str] | None = None,
    project: str = DEFAULT_PROJECT,
    location: str = DEFAULT_LOCATION,
    queues: Iterable[QueueSpec] = (),
    max_parallel: int = DEFAULT_MAX_PARALLEL,
    dispatcher: Dispatcher | None = None,
    fault_seed: int | None = None,
    jobs: Iterable[JobSpec] = (),
    job_kill_grace: float = DEFAULT_KILL_GRACE_SECONDS,
    default_job_command: Sequence[str] | None = None,
    default_job_workdir: str | os.PathLike[str] | None = None,
    routes: Mapping[str, str] | None = None,
) -> EmulatorServer:
    """Start an emulator server and return it once it accepts RPCs and control requests.

    Ports 0 pick free ports (read them back from the result). ``data_dir`` persists the state
    in SQLite; without it the state lives in memory. ``dispatcher`` replaces real HTTP delivery
    (tests); ``routes`` sends deliveries for some URL prefixes elsewhere (see HttpDispatcher).
    Raises StartupError for a port or data directory in use or an invalid queue spec.

    Cloud Run Jobs: ``default_job_command`` (with ``default_job_workdir``) is what jobs run
    when their container names no command, and what RunJob registers unknown jobs of
    ``project``/``location`` with; ``jobs`` are created with it at start (StartupError if
    invalid); ``job_kill_grace`` is the seconds between SIGTERM and SIGKILL when an attempt is
    cancelled or times out.
    """
    opened: list[object] = []
    try:
        directory = None
        if data_dir is not None:
            directory = DataDirectory(Path(data_dir))
            opened.append(directory)
        http_server = _control_api_server(host, http_port)
        opened.append(http_server)
        parent = f"projects/{project}/locations/{location}"
        cloud = LocalCloud(
            WallClock(),
            dispatcher or HttpDispatcher(routes=routes),
            oidc_issuer=f"http://{bracketed(host)}:{http_server.server_address[1]}",
            fault_seed=fault_seed,
            store=directory.store if directory is not None else None,
            job_kill_grace=job_kill_grace,
            default_job_command=default_job_command,
            default_job_workdir=default_job_workdir,
            default_job_parents=(parent,),
        )
        _apply_specs(cloud, parent, queues, jobs)
        server = _assemble(
            cloud, http_server, directory, (host, port), max_parallel, (project, location)
        )
        server._start()
        return server
    except DataDirInUse as error:
        _close_all(opened)
        raise StartupError(str(error)) from None
    except BaseException:
        _close_all(opened)
        raise


def _control_api_server(host: str, http_port: int) -> ControlApiServer:
    """The control API's server, bound but not listening yet; StartupError if the port is taken."""
    try:
        return ControlApiServer((host, http_port), listen=False)
    except OSError as error:
        if error.errno in (errno.EADDRINUSE, errno.EACCES):
            raise StartupError(
                f"Cannot listen for the control API on {host}:{http_port}: "
                f"{os.strerror(error.errno)} (choose another with --http-port, or 0)."
            ) from None
        raise


def _apply_specs(
    cloud: LocalCloud, parent: str, queues: Iterable[QueueSpec], jobs: Iterable[JobSpec]
) -> None:
    """Create or update the ``--queue`` and ``--job`` resources; StartupError for a bad one."""
    for spec in queues:
        try:
            apply_queue_spec(cloud.cloud_tasks, parent, spec)
        except ValueError as error:
            raise StartupError(f"--queue {spec.queue_id}: {error}") from None
    for job_spec in jobs:
        try:
            apply_job_spec(cloud.run_jobs, parent, job_spec)
        except ValueError as error:
            raise StartupError(f"--job {job_spec.job_id}: {error}") from None


def _assemble(
    cloud: LocalCloud,
    http_server: ControlApiServer,
    directory: DataDirectory | None,
    grpc_address: tuple[str, int],
    max_parallel: int,
    place: tuple[str, str],
) -> EmulatorServer:
    """The gRPC server over the three services and the real-time driver, around ``cloud``;
    ``place`` is the (project, location) of the ``--queue``/``--job`` resources."""
    host, port = grpc_address
    tables = [
        cloud_tasks_service(cloud.cloud_tasks),
        scheduler_service(cloud.scheduler),
        *run_jobs_services(cloud.run_jobs),
        locations_service(cloud, place[1]),
    ]
    try:
        grpc_server, bound_grpc = build_grpc_server(tables, host, port)
    except PortInUse as error:
        raise StartupError(f"{error} (choose another with --port, or 0).") from None
    driver = RealTimeDriver(
        cloud.clock, [cloud.cloud_tasks, cloud.scheduler], max_parallel=max_parallel
    )
    cloud.faults.subscribe(driver.wake)
    return EmulatorServer(
        host=host,
        grpc_server=grpc_server,
        grpc_port=bound_grpc,
        tables=tables,
        http_server=http_server,
        cloud=cloud,
        driver=driver,
        data_dir=directory,
        project=place[0],
        location=place[1],
    )


def _close_all(opened: list[object]) -> None:
    for resource in reversed(opened):
        if isinstance(resource, ControlApiServer):
            resource.server_close()
        elif isinstance(resource, DataDirectory):
            resource.close()

"""The development loop: the emulator and runserver as child processes of one command.

Before starting anything, every port it needs must be free (a second `tasks_dev` would otherwise
find its health check answered by the first one's emulator).

Each child runs in its own session, so stopping it reaches its whole process tree (runserver's
threads, task subprocesses) and Ctrl-C in the terminal reaches only the parent, which then stops
the children in order: SIGTERM to the process group, SIGKILL to whatever is left after a grace
period (including descendants that left the group, or that outlived a child which died).
"""

import contextlib
import errno
import importlib.util
import logging
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tasks_google import dev_emulator
from tasks_google.backends.stored import configured_backends
from tasks_google.options import CLOUD_TASKS

logger = logging.getLogger(__name__)

DEFAULT_EMULATOR_PORT = 8123
STOP_GRACE_SECONDS = 5.0
HEALTH_TIMEOUT_SECONDS = 30.0
#: How long one health request may take before it counts as unanswered.
HEALTH_REQUEST_SECONDS = 5.0
#: How often the supervisor looks at its children.
CHECK_INTERVAL_SECONDS = 0.25
#: How often the emulator's descendants (the Run Jobs processes) are listed.
DESCENDANTS_READ_SECONDS = 1.0


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

    Queues named in `queue_specs` (`QUEUE_ID[:key=value,...]`) replace the plain ones from TASKS.
    With several projects, the first backend's project and location are used; queues elsewhere
    are created on first use, with defaults. With `app_url` (the local runserver's origin),
    deliveries to a `base_url` elsewhere (the production one, say) are routed to it.
    """
    argv = [sys.executable, "-m", "emulator", "--host", host, "--port", str(port)]
    if http_port is not None:
        argv += ["--http-port", str(http_port)]
    if data_dir:
        argv += ["--data-dir", data_dir]
    specs = {spec.split(":", 1)[0]: spec for spec in queue_specs}
    backends = [b for b in configured_backends(CLOUD_TASKS) if b.config.transport == "gcp"]
    if backends:
        first = backends[0].config
        argv += ["--project", first.project_id, "--location", first.location]
        for backend in backends:
            config = backend.config
            if (config.project_id, config.location) != (first.project_id, first.location):
                continue
            for queue in sorted(backend.queues):
                specs.setdefault(config.queue_id(queue), config.queue_id(queue))
    for spec in specs.values():
        argv += ["--queue", spec]
    if app_url is not None:
        for route in local_routes([b.config.base_url for b in backends], app_url):
            argv += ["--route", route]
    return argv


def local_routes(base_urls: Sequence[str], app_url: str) -> list[str]:
    """`FROM=TO` routes that bring each `base_url` not already on `app_url` to the same path there.

    The project's settings keep their production `base_url` (and with it the ID token's
    audience); only where the emulator sends the requests changes.
    """
    routes = []
    for base_url in dict.fromkeys(base_urls):
        if base_url and not base_url.startswith(app_url + "/"):
            routes.append(f"{base_url}={app_url}{urlsplit(base_url).path}")
    return routes


def app_url(addrport: str) -> str | None:
    """The origin where the emulator reaches runserver for its `addrport` argument."""
    address = runserver_address(addrport)
    if address is None:
        return None
    host, port = address
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    return f"http://{f'[{host}]' if ':' in host else host}:{port}"


def default_data_dir() -> str:
    """`.emulator-data` beside the project (BASE_DIR if the settings have one)."""
    return str(dev_emulator.default_data_dir())


def package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent


class Child:
    """A child process in its own session, stopped with its whole tree."""

    def __init__(
        self,
        name: str,
        argv: list[str],
        env: dict[str, str],
        stop_signal: signal.Signals = signal.SIGTERM,
    ) -> None:
        self.name = name
        self.argv = argv
        self.env = env
        self.stop_signal = stop_signal
        self.process: subprocess.Popen | None = None
        self._descendants: dict[int, Any] = {}  # pid -> psutil.Process
        self._descendants_read_at = 0.0

    def start(self) -> None:
        self.process = subprocess.Popen(self.argv, env=self.env, start_new_session=True)
        self._descendants = {}

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid

    @property
    def returncode(self) -> int | None:
        """The exit status once the process has ended (negative: killed by that signal)."""
        return None if self.process is None else self.process.poll()

    def remember_descendants(self) -> None:
        """Note the processes the child started (at most once a second): once the child is
        dead they are re-parented away from it, and this is how they are still found."""
        import psutil

        now = time.monotonic()
        if not self.running or now - self._descendants_read_at < DESCENDANTS_READ_SECONDS:
            return
        self._descendants_read_at = now
        with contextlib.suppress(psutil.Error):
            for proc in psutil.Process(self.process.pid).children(recursive=True):
                self._descendants.setdefault(proc.pid, proc)

    def _tree(self) -> list[Any]:
        """The child (first, if it is still there), its descendants and those remembered."""
        import psutil

        tree: dict[int, Any] = {}
        if self.process.poll() is None:  # not reaped yet, so its pid is still its own
            with contextlib.suppress(psutil.NoSuchProcess):
                leader = psutil.Process(self.process.pid)
                tree = {proc.pid: proc for proc in [leader, *leader.children(recursive=True)]}
        for pid, proc in self._descendants.items():
            if pid not in tree and proc.is_running():  # is_running() also rules out pid reuse
                tree[pid] = proc
        return list(tree.values())

    def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """Signal the process group (`stop_signal`), SIGTERM the rest of the tree, then SIGKILL
        every survivor (descendants that left the group or outlived the child included)."""
        if self.process is None:
            return
        import psutil

        tree = self._tree()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, self.stop_signal)
        for proc in tree:
            if proc.pid != self.process.pid:
                with contextlib.suppress(psutil.NoSuchProcess):
                    proc.terminate()
        _, alive = psutil.wait_procs(tree, timeout=grace)
        self._kill(alive, grace)

    def kill_leftovers(self) -> None:
        """SIGKILL at once whatever a child that died left running (as the emulator itself
        does with the task processes an earlier emulator left behind)."""
        if self.process is not None:
            self._kill(self._tree(), STOP_GRACE_SECONDS)

    def _kill(self, procs: list[Any], grace: float) -> None:
        import psutil

        for proc in procs:
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.kill()
        psutil.wait_procs(procs, timeout=grace)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self.process = None
        self._descendants = {}


def wait_until_healthy(url: str, child: Child, timeout: float = HEALTH_TIMEOUT_SECONDS) -> None:
    """Return once `url` answers; raise RuntimeError if the child exits or time runs out.

    Each request may take HEALTH_REQUEST_SECONDS: a busy emulator is waited for, not hung up on
    (a request given up on leaves the server writing its answer to a closed connection).
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=HEALTH_REQUEST_SECONDS):
                return
        except OSError:
            pass
        if not child.running:
            raise RuntimeError(f"The {child.name} exited before answering at {url}.")
        if time.monotonic() > deadline:
            raise RuntimeError(f"The {child.name} did not answer at {url} within {timeout:.0f} s.")
        time.sleep(0.1)


def describe_exit(returncode: int) -> str:
    """How a process ended, in words: `was killed by SIGKILL`, `exited with status 1`."""
    if returncode < 0:
        try:
            return f"was killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"was killed by signal {-returncode}"
    return f"exited with status {returncode}"


def listening(host: str, port: int) -> bool:
    """Whether another process listens on `host:port`.

    Binding the address with SO_REUSEADDR, as the servers do, fails only if a socket listens on
    it (connections of an earlier run still in TIME_WAIT do not count).
    """
    try:
        family, _, _, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror:
        return False  # an address runserver cannot use either: it says so itself
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            return error.errno == errno.EADDRINUSE
    return False


def runserver_address(addrport: str) -> tuple[str, int] | None:
    """The host and port runserver listens on for its `addrport` argument (None if runserver
    refuses the argument; it says why itself)."""
    from django.core.management.commands.runserver import Command as Runserver
    from django.core.management.commands.runserver import naiveip_re

    match = naiveip_re.match(addrport)
    if match is None:
        return None
    return (match["addr"] or Runserver.default_addr).strip("[]"), int(match["port"])


def port_taken(addrport: str | None, host: str, port: int, http_port: int | None) -> str | None:
    """`port N (what) is in use (another tasks_dev?)` for the first port tasks_dev needs that
    another process listens on: runserver's (for `addrport`), the emulator's gRPC port or its
    control API's."""
    control_port = port + 1 if http_port is None else http_port
    wanted = [
        ("the emulator's gRPC API", host, port),
        ("the emulator's control API", host, control_port),
    ]
    server = runserver_address(addrport) if addrport is not None else None
    if server is not None:
        wanted.insert(0, ("runserver", *server))
    for what, where, number in wanted:
        if listening(where, number):
            return f"port {number} ({what}) is in use (another tasks_dev?)"
    return None


class DevLoop:
    """The emulator and runserver, kept running until a stop event is set.

    A change to the project's code restarts runserver, a change to the emulator's code restarts
    the emulator, and an emulator that dies is restarted. The children are looked at every
    CHECK_INTERVAL_SECONDS whatever the file watcher does: a running task writes the project's
    SQLite database and the emulator's data directory all the time, and watchfiles keeps
    collecting those changes (which its filter then drops) without ever yielding or timing out.
    """

    def __init__(
        self,
        emulator: Child,
        server: Child,
        health_url: str,
        watched: Sequence[Path],
        emulator_dir: Path | None,
        say: Callable[[str], None],
        warn: Callable[[str], None],
    ) -> None:
        self.emulator = emulator
        self.server = server
        self.health_url = health_url
        self.watched = list(watched)
        self.emulator_dir = emulator_dir
        self.say = say
        self.warn = warn
        self._server_exit_reported = False

    def start(self) -> None:
        """Start the emulator, wait until it answers, then start runserver (RuntimeError if
        the emulator does not come up)."""
        self._start_emulator()
        self.server.start()

    def supervise(self, stop: threading.Event) -> None:
        """Restart what needs restarting until `stop` is set."""
        changes: queue.SimpleQueue[list[Path] | BaseException] = queue.SimpleQueue()
        threading.Thread(
            target=self._watch, args=(stop, changes), name="tasks_dev-watcher", daemon=True
        ).start()
        while not stop.is_set():
            try:
                changed = changes.get(timeout=CHECK_INTERVAL_SECONDS)
            except queue.Empty:
                changed = []
            if isinstance(changed, BaseException):
                raise RuntimeError(f"Watching the code for changes failed: {changed}")
            if changed:
                self._code_changed(changed)
            self._look_after_children()

    def stop(self) -> None:
        """Stop runserver, then the emulator, each with everything it started."""
        self.server.stop()
        self.emulator.stop()

    def _watch(self, stop: threading.Event, changes: queue.SimpleQueue) -> None:
        import watchfiles

        try:
            for batch in watchfiles.watch(
                *self.watched,
                watch_filter=watchfiles.PythonFilter(),
                stop_event=stop,
                raise_interrupt=False,
            ):
                changes.put([Path(path) for _, path in batch])
        except Exception as error:
            changes.put(error)

    def _code_changed(self, changed: list[Path]) -> None:
        if self.emulator_dir and any(self.emulator_dir in path.parents for path in changed):
            self.say("Emulator code changed: restarting the emulator.")
            self.emulator.stop()
            self._start_emulator()
        else:
            self.say(f"{changed[0].name} changed: restarting runserver.")
            self.server.stop()
            self.server.start()
            self._server_exit_reported = False

    def _look_after_children(self) -> None:
        pid, returncode = self.emulator.pid, self.emulator.returncode
        if returncode is not None:
            self.warn(f"The emulator (pid {pid}) {describe_exit(returncode)}: restarting it.")
            self.emulator.kill_leftovers()
            self._start_emulator()
        self.emulator.remember_descendants()
        returncode = self.server.returncode
        if returncode is not None and not self._server_exit_reported:
            self.warn(f"runserver {describe_exit(returncode)}: a code change starts it again.")
            self._server_exit_reported = True

    def _start_emulator(self) -> None:
        self.emulator.start()
        try:
            wait_until_healthy(self.health_url, self.emulator)
        except RuntimeError:
            self.emulator.stop()
            raise

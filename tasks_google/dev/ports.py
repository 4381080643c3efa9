"""The addresses of the development loop: where runserver listens, and whether a port it needs
is already taken (a second `tasks_dev` would otherwise find its health check answered by the
first one's emulator)."""

import errno
import socket


def app_url(addrport: str) -> str | None:
    """The origin where the emulator reaches runserver for its `addrport` argument."""
    address = runserver_address(addrport)
    if address is None:
        return None
    host, port = address
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    return f"http://{f'[{host}]' if ':' in host else host}:{port}"


def runserver_address(addrport: str) -> tuple[str, int] | None:
    """The host and port runserver listens on for its `addrport` argument (None if runserver
    refuses the argument; it says why itself)."""
    from django.core.management.commands.runserver import Command as Runserver
    from django.core.management.commands.runserver import naiveip_re

    match = naiveip_re.match(addrport)
    if match is None:
        return None
    return (match["addr"] or Runserver.default_addr).strip("[]"), int(match["port"])


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

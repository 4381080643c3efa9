"""An emulator that does not answer: how it is noticed fast, and what it is reported as.

Loading Google's client libraries (and the `gcp` transport with them) takes a second or more, a
lot more on a busy machine. Before loading them for an emulator host, `get_transport` tries a
plain TCP connection to it: when nothing listens there, every call of the transport it returns
raises EmulatorUnavailableError at once. Once the emulator has answered, the official clients
report an outage themselves, as fast (`gcp.GrpcChannel`).
"""

from collections.abc import Callable
from typing import NoReturn

from tasks_google.config.dev_emulator import START_HINT
from tasks_google.exceptions import EmulatorUnavailableError

#: How long the connection to an emulator host may take before it counts as unanswered.
CONNECT_SECONDS = 1.0


def emulator_unavailable(host: str, reason: str) -> EmulatorUnavailableError:
    """The error for an emulator at `host` that does not answer: what was tried, what to do."""
    return EmulatorUnavailableError(
        f"The emulator at {host} does not answer ({reason}): it is not running, or not on that "
        f"port. {START_HINT} Or unset the *_EMULATOR_HOST variables and "
        "OPTIONS['emulator_host'] to use Google."
    )


def connect_problem(host: str) -> str | None:
    """Why no TCP connection to `host` (`address:port`) can be made, or None if one can."""
    import socket

    address, _, port = host.rpartition(":")
    try:
        with socket.create_connection((address.strip("[]"), int(port)), CONNECT_SECONDS):
            return None
    except OSError as error:
        return error.strerror or str(error) or type(error).__name__


class UnreachableEmulator:
    """The transport of an emulator host nothing listens on: each call of the transport
    interface raises EmulatorUnavailableError. Never kept: the next `get_transport` looks
    again."""

    def __init__(self, host: str, reason: str) -> None:
        self.emulator_host = host
        self.reason = reason

    def __getattr__(self, name: str) -> Callable[..., NoReturn]:
        from tasks_google.transports import TRANSPORT_METHODS

        if name not in TRANSPORT_METHODS:
            raise AttributeError(name)

        def unavailable(*args: object, **kwargs: object) -> NoReturn:
            raise emulator_unavailable(self.emulator_host, self.reason)

        return unavailable

"""The web server of the development loop: the project's own runserver, minus Nagle's delay.

runserver writes a response's headers and its body in separate sends. On a kept-alive
connection (the emulator keeps its connections to the app alive, as Cloud Tasks does), the
second send waits, by Nagle's algorithm, for the client to acknowledge the first, and the client
delays that acknowledgement: about 40 ms on Linux, on every response. With TCP_NODELAY set on
each accepted connection, the body leaves at once.

It also closes a serving thread's database connections when its HTTP connection ends, so a
project may keep them open across the requests of one HTTP connection (CONN_MAX_AGE).
"""

import socket
from typing import Any

from django.core.management import get_commands, load_command_class
from django.core.management.base import BaseCommand
from django.core.servers.basehttp import WSGIServer
from django.db import connections as db_connections


class NoDelayWSGIServer(WSGIServer):
    """runserver's server, whose accepted connections send without delay, and whose serving
    threads close their database connections when their HTTP connection ends."""

    # runserver's backlog of 10 unaccepted connections drops the rest of a burst of connects
    # (the emulator opens up to 64 at once), which the clients' TCP retries a second later.
    request_queue_size = socket.SOMAXCONN

    def get_request(self) -> tuple[socket.socket, Any]:
        connection, address = super().get_request()
        if connection.family in (socket.AF_INET, socket.AF_INET6):
            connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection, address

    def close_request(self, request: Any) -> None:
        # runserver serves each HTTP connection on a thread of its own, which ends with it;
        # with persistent database connections (CONN_MAX_AGE), the thread's would be left open.
        db_connections.close_all()
        super().close_request(request)


def runserver_command() -> type[BaseCommand]:
    """The project's runserver command (Django's; staticfiles' when that app is installed, so
    static files are served; or another app's), using `NoDelayWSGIServer`.

    An app whose runserver brings its own server (an ASGI one, say) ignores `server_cls`: its
    server runs unchanged."""
    base = type(load_command_class(get_commands()["runserver"], "runserver"))
    return type(
        "Command",
        (base,),
        {
            "__module__": __name__,
            "server_cls": NoDelayWSGIServer,
            "help": f"{base.help} What tasks_dev runs: responses are sent without Nagle's delay.",
        },
    )

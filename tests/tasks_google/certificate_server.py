"""A local stand-in for a certificate URL (Google's, or the emulator's): real HTTP, counted.

It serves `/oauth2/v1/certs` ({key id: PEM certificate}) from an OidcIssuer whose issuer is the
server's own URL, as the emulator server does, so tokens it mints verify for a backend whose
`emulator_url` is this server. It can rotate its key and answer errors instead.
"""

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from emulator.kit.oidc import PEM_CERTS_PATH, OidcIssuer, generate_key_pem
from tests.settings import SERVICE_ACCOUNT
from tests.tasks_google.deliveries import AUDIENCE


class CertificateServer:
    """Serves an issuer's certificates; `downloads` counts the requests for them."""

    def __init__(self) -> None:
        self.downloads = 0
        #: When set, the status answered instead of the certificates.
        self.failing_status: int | None = None
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path != PEM_CERTS_PATH:
                    self.send_error(404)
                    return
                with server._lock:
                    server.downloads += 1
                    status, certs = server.failing_status, server.issuer.pem_certs()
                if status is not None:
                    self.send_error(status)
                    return
                body = json.dumps(certs).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._lock = threading.Lock()
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._http.server_port}"
        self.issuer = OidcIssuer(self.url)
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)
        self._thread.start()

    def token(self, issuer: OidcIssuer | None = None) -> str:
        """A delivery token for our service account, signed by `issuer` (default: ours)."""
        return (issuer or self.issuer).mint(SERVICE_ACCOUNT, AUDIENCE)

    def stranger(self) -> OidcIssuer:
        """An issuer with the same name but a key this server does not publish."""
        return OidcIssuer(self.url, key_pem=generate_key_pem())

    def rotate(self) -> None:
        """Publish (and sign with) a new key instead of the current one."""
        with self._lock:
            self.issuer = self.stranger()

    def close(self) -> None:
        self._http.shutdown()
        self._http.server_close()


@contextmanager
def certificate_server() -> Iterator[CertificateServer]:
    server = CertificateServer()
    try:
        yield server
    finally:
        server.close()


def refused_url() -> str:
    """The URL of a local port nothing listens on: connecting to it is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"

"""A stand-in for the app in tests: a local HTTP server that records requests and answers
scripted statuses (shared by the HTTP delivery unit tests and the integration tests)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Answer = int | tuple[int, dict[str, str]]


@dataclass(frozen=True)
class ReceivedRequest:
    """One request as the app saw it; ``raw_headers`` keeps the names' casing as sent."""

    method: str
    path: str
    raw_headers: list[tuple[str, str]]
    body: bytes
    received_at: float  # time.monotonic()
    client_port: int = 0  # the sender's side of the TCP connection it came on

    def header(self, name: str) -> str | None:
        """A header's value, whatever the casing of its name."""
        return next((v for k, v in self.raw_headers if k.lower() == name.lower()), None)

    @property
    def header_names(self) -> list[str]:
        return [name for name, _ in self.raw_headers]


class RecordingTarget:
    """Records every request; answers each path from its script (the last answer repeats).

    ``delay`` seconds are spent before answering (a slow handler). With ``keep_alive`` it speaks
    HTTP/1.1 and keeps connections open, closing one idle for ``idle_timeout`` seconds.
    """

    def __init__(
        self, *, delay: float = 0.0, keep_alive: bool = False, idle_timeout: float | None = None
    ) -> None:
        self.delay = delay
        self.requests: list[ReceivedRequest] = []
        self._scripts: dict[str, list[Answer]] = {}
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self.on_request: Callable[[ReceivedRequest], None] | None = None
        target = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1" if keep_alive else "HTTP/1.0"
            timeout = idle_timeout

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = ReceivedRequest(
                    self.command,
                    self.path,
                    list(self.headers.items()),
                    body,
                    time.monotonic(),
                    self.client_address[1],
                )
                status, headers = target._record(request)
                if target.on_request is not None:
                    target.on_request(request)
                if target.delay:
                    time.sleep(target.delay)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 256

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # the emulator may have gone away mid-request (kill -9 tests)

        self._server = Server(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def url(self, path: str = "/task") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def script(self, path: str, *answers: Answer) -> None:
        """What ``path`` answers from now on (an int status, or (status, headers))."""
        with self._lock:
            self._scripts[path] = list(answers)

    def wait_for(self, count: int, timeout: float = 10.0, path: str | None = None) -> list:
        """Wait until ``count`` requests (to ``path``, if given) arrived; return them."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while True:
                matching = [r for r in self.requests if path is None or r.path == path]
                if len(matching) >= count:
                    return matching
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"expected {count} request(s){f' to {path}' if path else ''} within "
                        f"{timeout} s, got {len(matching)}"
                    )
                self._arrived.wait(remaining)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _record(self, request: ReceivedRequest) -> tuple[int, dict[str, str]]:
        with self._arrived:
            self.requests.append(request)
            self._arrived.notify_all()
            script = self._scripts.get(request.path.split("?")[0], [200])
            answer = script.pop(0) if len(script) > 1 else script[0]
        return answer if isinstance(answer, tuple) else (answer, {})

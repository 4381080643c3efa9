"""Running the development loop in tests: free ports, polling, talking to the example app."""

import http.cookiejar
import json
import re
import socket
import time
import urllib.request
from pathlib import Path

import psutil


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def free_port_pair() -> int:
    """A port p such that p and p + 1 are both free (gRPC and the control API)."""
    for _ in range(50):
        port = free_port()
        try:
            with socket.socket() as a, socket.socket() as b:
                a.bind(("127.0.0.1", port))
                b.bind(("127.0.0.1", port + 1))
            return port
        except OSError:
            continue
    raise RuntimeError("no free pair of ports")


def wait_until(check, timeout: float, what: str):
    """Poll `check` until it returns something truthy; OSError counts as not yet."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = check()
            if value:
                return value
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def processes_using(*ports: int) -> list[dict]:
    """Live Python processes whose command line names one of `ports` (as a whole number: other
    programs' arguments, a browser's say, are full of digits)."""
    needles = [re.compile(rf"(?<!\d){port}(?!\d)") for port in ports]
    return [
        p.info
        for p in psutil.process_iter(["pid", "cmdline"])
        if (cmdline := p.info["cmdline"] or [])
        and "python" in Path(cmdline[0]).name
        and any(n.search(arg) for n in needles for arg in cmdline)
    ]


class ExampleApp:
    """A browser-like client of the example project (session cookie and CSRF token)."""

    def __init__(self, base: str) -> None:
        self.base = base
        jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        self.opener.open(base + "/", timeout=5)
        self.csrf = next(c.value for c in jar if c.name == "csrftoken")

    def page(self) -> str:
        return self.opener.open(self.base + "/", timeout=5).read().decode()

    def enqueue(self, name: str) -> str:
        request = urllib.request.Request(
            f"{self.base}/enqueue/{name}/",
            method="POST",
            headers={"X-CSRFToken": self.csrf, "Accept": "application/json", "Referer": self.base},
        )
        return json.load(self.opener.open(request, timeout=10))["id"]

    def state(self, execution_id: str) -> dict:
        return json.load(self.opener.open(f"{self.base}/api/executions/{execution_id}/", timeout=5))

    def wait_for(self, execution_id: str, status: str, timeout: float = 30) -> dict:
        def reached():
            state = self.state(execution_id)
            return state if state["status"] == status else None

        return wait_until(reached, timeout, f"{execution_id} to be {status}")

    def cancel(self, execution_id: str, mode: str) -> dict:
        request = urllib.request.Request(
            f"{self.base}/cancel/{execution_id}/{mode}/",
            method="POST",
            headers={"X-CSRFToken": self.csrf, "Accept": "application/json", "Referer": self.base},
        )
        return json.load(self.opener.open(request, timeout=10))

"""Every `gcloud` command of docs/deployment.md is one the real `gcloud` CLI accepts, run with the
page's own variables, and nothing reaches Google:

- the commands of the APIs the emulator serves (`gcloud tasks`, `gcloud scheduler`) run against
  an emulator server holding the page's queue, and must succeed;
- the others (IAM, Cloud Run, service usage) send their API calls (as plain http, through
  gcloud's proxy setting) to a local server that answers every one 404: an argument error exits
  2 before any call, a command that parsed fails on the answer (exit 1)."""

import http.server
import os
import re
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
from google.cloud import tasks_v2

from emulator.server import start_server

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "deployment.md"
#: The APIs the page's commands call.
APIS = (
    "ARTIFACTREGISTRY",
    "CLOUDBUILD",
    "CLOUDRESOURCEMANAGER",
    "CLOUDSCHEDULER",
    "CLOUDTASKS",
    "IAM",
    "RUN",
    "SERVICEUSAGE",
)

pytestmark = pytest.mark.skipif(shutil.which("gcloud") is None, reason="needs the gcloud CLI")


def shell_lines() -> list[str]:
    """The commands of the page's ```sh blocks, continuation lines joined."""
    commands, inside, pending = [], False, ""
    for line in DOC.read_text().splitlines():
        stripped = line.strip()
        if stripped.startswith("```"):
            inside = stripped == "```sh"
            continue
        if not inside:
            continue
        pending += stripped.removesuffix("\\").strip() + " "
        if not stripped.endswith("\\"):
            commands.append(pending.strip())
            pending = ""
    return [command for command in commands if command]


EXPORTS = "; ".join(line for line in shell_lines() if line.startswith("export "))
GCLOUD = [line for line in shell_lines() if line.startswith("gcloud ")]


class _NotFound(http.server.BaseHTTPRequestHandler):
    def _answer(self) -> None:
        body = b'{"error": {"code": 404, "message": "not here", "status": "NOT_FOUND"}}'
        self.send_response(404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def nowhere():
    """gcloud's settings that send every API call to a local server answering 404. The calls go
    through it as a proxy: `gcloud run` puts the region before an endpoint's host name."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NotFound)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield {
        "CLOUDSDK_PROXY_TYPE": "http",
        "CLOUDSDK_PROXY_ADDRESS": "127.0.0.1",
        "CLOUDSDK_PROXY_PORT": str(server.server_address[1]),
        **{f"CLOUDSDK_API_ENDPOINT_OVERRIDES_{api}": "http://nowhere.invalid/" for api in APIS},
    }
    server.shutdown()


def test_the_page_has_its_commands():
    assert "PROJECT=" in EXPORTS and len(GCLOUD) >= 15


#: The command groups whose API the emulator serves.
ON_THE_EMULATOR = ("gcloud tasks ", "gcloud scheduler ")


@pytest.fixture(scope="module")
def emulator():
    """An emulator server holding the page's `default` queue; gcloud's settings that reach it."""
    variables = dict(re.findall(r"(\w+)=(\S+)", EXPORTS.replace("export ", "")))
    parent = f"projects/{variables['PROJECT']}/locations/{variables['REGION']}"
    with start_server(dispatcher=lambda delivery: None) as server:
        queue = tasks_v2.Queue(name=f"{parent}/queues/default")
        server.cloud.cloud_tasks.create_queue(
            tasks_v2.CreateQueueRequest(parent=parent, queue=queue)
        )
        yield {
            "CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDTASKS": f"{server.url}/",
            "CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDSCHEDULER": f"{server.url}/",
        }


def run_gcloud(command: str, settings: dict[str, str], tmp_path) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "CLOUDSDK_CONFIG": str(tmp_path / "gcloud"),
        "CLOUDSDK_CORE_DISABLE_PROMPTS": "1",
        "CLOUDSDK_AUTH_ACCESS_TOKEN": "not-a-token",
        **settings,
    }
    return subprocess.run(
        ["bash", "-c", f"{EXPORTS}; {command}"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("command", GCLOUD, ids=[" ".join(c.split()[:4]) for c in GCLOUD])
def test_gcloud_accepts_the_command(command, nowhere, emulator, tmp_path):
    if command.startswith(ON_THE_EMULATOR):
        done = run_gcloud(command, emulator, tmp_path)
        assert done.returncode == 0, done.stderr[-2000:]
        return
    done = run_gcloud(command, nowhere, tmp_path)
    parse_error = re.search(r"unrecognized arguments|Invalid choice|argument .*: ", done.stderr)
    assert done.returncode != 2 and parse_error is None, done.stderr[-2000:]
    assert done.returncode == 1, done.stderr[-2000:]  # it parsed, then met the 404s


def test_some_commands_run_against_the_emulator():
    assert sum(command.startswith(ON_THE_EMULATOR) for command in GCLOUD) >= 3

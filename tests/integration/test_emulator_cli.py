"""``python -m emulator`` as a process: the export lines, the control API, a clean stop."""

from __future__ import annotations

import json
import urllib.request

from google.cloud import tasks_v2

from tests.emulator.emulator_process import EmulatorProcess, tasks_client


def test_cli_prints_its_addresses_serves_and_stops_on_sigterm(tmp_path):
    emulator = EmulatorProcess(
        "--port",
        "0",
        "--project",
        "demo-project",
        "--queue",
        "default:max_attempts=5,min_backoff=1,max_backoff=10",
        "--queue",
        "emails",
        log_path=tmp_path / "emulator.log",
    )
    try:
        host, _, grpc_port = emulator.grpc_target.rpartition(":")
        assert host == "127.0.0.1" and int(grpc_port) > 0
        assert emulator.url.startswith("http://127.0.0.1:")

        with urllib.request.urlopen(emulator.url + "/health", timeout=10) as response:
            health = json.load(response)
        assert health["status"] == "ok"
        assert {"cloud_tasks", "scheduler", "run_jobs"} <= set(health["services"])
        with tasks_client(emulator.grpc_target) as client:
            queues = {
                q.name.rsplit("/", 1)[1]: q
                for q in client.list_queues(parent="projects/demo-project/locations/us-central1")
            }
        assert sorted(queues) == ["default", "emails"]
        assert queues["default"].retry_config.max_attempts == 5
        assert queues["emails"].state == tasks_v2.Queue.State.RUNNING
    finally:
        status = emulator.stop()

    assert status == 0
    assert "Emulator stopped." in emulator.log()

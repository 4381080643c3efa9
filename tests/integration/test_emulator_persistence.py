"""``--data-dir``: ``kill -9`` in the middle of a burst loses no acknowledged task (T12
at-least-once across a crash)."""

from __future__ import annotations

import time

from google.cloud import tasks_v2

from tests.emulator.emulator_process import EmulatorProcess, tasks_client
from tests.emulator.http_target import RecordingTarget

PARENT = "projects/demo-project/locations/us-central1"
QUEUE = f"{PARENT}/queues/burst"
BURST = 200


def start(data_dir, log_path) -> EmulatorProcess:
    return EmulatorProcess(
        "--port",
        "0",
        "--data-dir",
        str(data_dir),
        "--queue",
        "burst",
        "--max-parallel",
        "32",
        log_path=log_path,
    )


def test_every_acknowledged_task_is_delivered_after_kill_9_and_restart(tmp_path):
    app = RecordingTarget(delay=0.2)  # a slow handler: most of the burst is still queued
    data_dir = tmp_path / "data"
    log_path = tmp_path / "emulator.log"
    first = start(data_dir, log_path)
    second = None
    try:
        with tasks_client(first.grpc_target) as client:
            created = [
                client.create_task(
                    parent=QUEUE,
                    task=tasks_v2.Task(http_request=tasks_v2.HttpRequest(url=app.url())),
                ).name.rsplit("/", 1)[1]
                for _ in range(BURST)
            ]
        app.wait_for(10)
        first.kill()
        before_crash = {r.header("X-CloudTasks-TaskName") for r in app.requests}
        assert len(before_crash) < BURST, "the burst finished before the crash; slow the app down"

        second = start(data_dir, log_path)

        deadline = time.monotonic() + 60
        while True:
            delivered = {r.header("X-CloudTasks-TaskName") for r in list(app.requests)}
            missing = set(created) - delivered
            if not missing:
                break
            assert time.monotonic() < deadline, f"{len(missing)} task(s) never delivered"
            time.sleep(0.1)
        assert len(set(created)) == BURST
    finally:
        if first.process.poll() is None:
            first.kill()
        if second is not None:
            assert second.stop() == 0, second.log()
        app.close()

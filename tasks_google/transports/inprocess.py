"""The `inprocess` transport: an emulator engine living in this Python process.

Deliveries go straight into the Django app through its WSGI handler (no socket), carrying the same
headers a real delivery carries. Time is virtual: nothing is delivered until the test API
(`tasks_google.testing`) advances the clock.
"""

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.test import override_settings
from django.test.client import Client, RequestFactory
from google.api_core import exceptions as api_exceptions
from google.cloud import run_v2, scheduler_v1, tasks_v2

from emulator import Delivery, DeliveryResult, LocalCloud, VirtualClock
from tasks_google.transports import (
    CloudTaskSpec,
    ExecutionEnd,
    JobRunSpec,
    RetryPolicy,
    SchedulerJobSpec,
)
from tasks_google.transports.messages import task_message
from tasks_google.transports.run_messages import (
    create_job_request,
    execution_end,
    run_job_request,
)
from tasks_google.transports.scheduler_messages import job_message, update_request

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_default_cloud: LocalCloud | None = None
_installed: list[LocalCloud] = []
#: The host Django's test client and test environment use.
_TEST_CLIENT_HOST = "testserver"


def deliver_to_django(delivery: Delivery) -> DeliveryResult:
    """Hand one delivery to Django's request handler, as the HTTP request Cloud Tasks would send."""
    parts = urlsplit(delivery.url)
    headers = dict(delivery.headers)
    content_type = ""
    for key in list(headers):
        if key.lower() == "content-type":
            content_type = headers.pop(key)
    headers["Host"] = _reachable_host(parts.netloc)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    # Django's test client is the WSGI handler without the per-request connection closing that
    # would break a test's transaction; CSRF is enforced as in production.
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)
    with _hosts_allowing(headers["Host"]):
        response = client.generic(
            delivery.http_method,
            path,
            data=delivery.body,
            content_type=content_type,
            secure=parts.scheme == "https",
            headers=headers,
        )
    return DeliveryResult(status=response.status_code, headers=dict(response.headers.items()))


def _host_allowed(host: str) -> bool:
    """Whether Django's own host validation (ALLOWED_HOSTS, DEBUG's defaults) accepts `host`."""
    try:
        RequestFactory(headers={"Host": host}).get("/").get_host()
    except DisallowedHost:
        return False
    return True


def _reachable_host(base_url_host: str) -> str:
    """The Host header an in-process delivery carries.

    The network is emulated, so whether `base_url`'s host is in ALLOWED_HOSTS says nothing about
    the code under test: when it is not, the delivery uses the test client's own host.
    """
    if _host_allowed(base_url_host):
        return base_url_host
    return _TEST_CLIENT_HOST


@contextlib.contextmanager
def _hosts_allowing(host: str) -> Iterator[None]:
    """Let `host` through ALLOWED_HOSTS for one delivery when neither host is allowed (outside a
    test environment, which would add the test client's host)."""
    if _host_allowed(host):
        yield
        return
    with override_settings(ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, host]):
        yield


def new_cloud(
    clock: VirtualClock | None = None,
    before_step: Callable[[], None] | None = None,
    job_kill_grace: float | None = None,
) -> LocalCloud:
    """A fresh in-process emulator delivering into this Django project."""
    extra = {} if job_kill_grace is None else {"job_kill_grace": job_kill_grace}
    return LocalCloud(clock or VirtualClock(), deliver_to_django, before_step=before_step, **extra)


def install(cloud: LocalCloud) -> None:
    """Make every tasks_google backend use `cloud` until `uninstall()`."""
    with _lock:
        _installed.append(cloud)


def uninstall(cloud: LocalCloud) -> None:
    with _lock:
        _installed.remove(cloud)


def is_emulated() -> bool:
    return bool(_installed)


def current_cloud() -> LocalCloud:
    """The emulator in use: the innermost installed one, else this process's default one."""
    global _default_cloud
    with _lock:
        if _installed:
            return _installed[-1]
        if _default_cloud is None:
            _default_cloud = new_cloud()
        return _default_cloud


def transport() -> "InProcessTransport":
    return InProcessTransport()


class InProcessTransport:
    """Calls the services of the current in-process emulator."""

    def create_task(self, spec: CloudTaskSpec) -> str:
        engine = current_cloud().tasks
        request = tasks_v2.CreateTaskRequest(parent=spec.queue_path, task=task_message(spec))
        try:
            return engine.create_task(request).name
        except api_exceptions.AlreadyExists:
            return spec.task_name
        except api_exceptions.NotFound:
            # As in emulator mode with the gcp transport: a missing queue is created with defaults.
            logger.info("Creating missing emulator queue %s with default settings", spec.queue_path)
            self._ensure_queue(spec.queue_path)
            return engine.create_task(request).name

    def delete_task(self, name: str) -> None:
        with contextlib.suppress(api_exceptions.NotFound):
            current_cloud().tasks.delete_task(tasks_v2.DeleteTaskRequest(name=name))

    def task_exists(self, name: str) -> bool:
        try:
            current_cloud().tasks.get_task(tasks_v2.GetTaskRequest(name=name))
        except api_exceptions.NotFound:
            return False
        return True

    def retry_policy(self, queue_path: str) -> RetryPolicy:
        engine = current_cloud().tasks
        try:
            queue = engine.get_queue(tasks_v2.GetQueueRequest(name=queue_path))
        except api_exceptions.NotFound:
            queue = self._ensure_queue(queue_path)
        config = queue.retry_config
        return RetryPolicy(
            max_attempts=config.max_attempts, max_retry_duration=config.max_retry_duration
        )

    def get_queue_state(self, queue_path: str) -> str:
        engine = current_cloud().tasks
        return engine.get_queue(tasks_v2.GetQueueRequest(name=queue_path)).state.name

    def pause_queue(self, queue_path: str) -> str:
        engine = current_cloud().tasks
        return engine.pause_queue(tasks_v2.PauseQueueRequest(name=queue_path)).state.name

    def resume_queue(self, queue_path: str) -> str:
        engine = current_cloud().tasks
        return engine.resume_queue(tasks_v2.ResumeQueueRequest(name=queue_path)).state.name

    def purge_queue(self, queue_path: str) -> str:
        engine = current_cloud().tasks
        return engine.purge_queue(tasks_v2.PurgeQueueRequest(name=queue_path)).state.name

    def list_queues(self, parent: str) -> list[tasks_v2.Queue]:
        engine = current_cloud().tasks
        return _all_pages(
            lambda token: engine.list_queues(
                tasks_v2.ListQueuesRequest(parent=parent, page_token=token)
            ),
            "queues",
        )

    def _ensure_queue(self, queue_path: str) -> tasks_v2.Queue:
        engine = current_cloud().tasks
        parent = queue_path.rsplit("/queues/", 1)[0]
        try:
            return engine.create_queue(
                tasks_v2.CreateQueueRequest(parent=parent, queue=tasks_v2.Queue(name=queue_path))
            )
        except api_exceptions.AlreadyExists:
            return engine.get_queue(tasks_v2.GetQueueRequest(name=queue_path))

    def run_job(self, spec: JobRunSpec) -> str:
        engine = current_cloud().run
        try:
            job = engine.get_job(run_v2.GetJobRequest(name=spec.job_path))
        except api_exceptions.NotFound:
            if not spec.command:
                raise
            logger.info("Creating missing emulator job %s running %s", spec.job_path, spec.command)
            with contextlib.suppress(api_exceptions.AlreadyExists):
                engine.create_job(create_job_request(spec))
            job = engine.get_job(run_v2.GetJobRequest(name=spec.job_path))
        request = run_job_request(spec, job.template.template.max_retries)
        operation = engine.run_job(request)
        return run_v2.Execution.deserialize(operation.metadata.value).name

    def list_run_jobs(self, parent: str) -> list[run_v2.Job]:
        engine = current_cloud().run
        return _all_pages(
            lambda token: engine.list_jobs(run_v2.ListJobsRequest(parent=parent, page_token=token)),
            "jobs",
        )

    def list_run_executions(self, job_path: str, limit: int) -> list[run_v2.Execution]:
        request = run_v2.ListExecutionsRequest(parent=job_path, page_size=limit)
        return list(current_cloud().run.list_executions(request).executions)[:limit]

    def list_run_tasks(self, execution_path: str) -> list[run_v2.Task]:
        engine = current_cloud().run
        return _all_pages(
            lambda token: engine.list_tasks(
                run_v2.ListTasksRequest(parent=execution_path, page_token=token)
            ),
            "tasks",
        )

    def cancel_execution(self, name: str) -> None:
        # NotFound: gone; FailedPrecondition: already finished.
        with contextlib.suppress(api_exceptions.NotFound, api_exceptions.FailedPrecondition):
            current_cloud().run.cancel_execution(run_v2.CancelExecutionRequest(name=name))

    def execution_end(self, name: str) -> ExecutionEnd | None:
        request = run_v2.GetExecutionRequest(name=name)
        try:
            execution = current_cloud().run.get_execution(request)
        except api_exceptions.NotFound:
            return ExecutionEnd("GONE")
        return execution_end(execution)

    def job_max_retries(self, job_path: str) -> int:
        job = current_cloud().run.get_job(run_v2.GetJobRequest(name=job_path))
        return job.template.template.max_retries

    def upsert_scheduler_job(self, spec: SchedulerJobSpec) -> str:
        engine = current_cloud().scheduler
        try:
            job = engine.update_job(update_request(spec))
        except api_exceptions.NotFound:
            parent = spec.name.rsplit("/jobs/", 1)[0]
            job = engine.create_job(
                scheduler_v1.CreateJobRequest(parent=parent, job=job_message(spec))
            )
        paused = job.state == scheduler_v1.Job.State.PAUSED
        if spec.enabled and paused:
            engine.resume_job(scheduler_v1.ResumeJobRequest(name=spec.name))
        elif not spec.enabled and not paused:
            engine.pause_job(scheduler_v1.PauseJobRequest(name=spec.name))
        return job.name

    def delete_scheduler_job(self, name: str) -> None:
        with contextlib.suppress(api_exceptions.NotFound):
            current_cloud().scheduler.delete_job(scheduler_v1.DeleteJobRequest(name=name))

    def run_scheduler_job(self, name: str) -> None:
        current_cloud().scheduler.run_job(scheduler_v1.RunJobRequest(name=name))

    def list_scheduler_jobs(self, parent: str) -> list[scheduler_v1.Job]:
        engine = current_cloud().scheduler
        return _all_pages(
            lambda token: engine.list_jobs(
                scheduler_v1.ListJobsRequest(parent=parent, page_token=token)
            ),
            "jobs",
        )

    def pause_scheduler_job(self, name: str) -> None:
        current_cloud().scheduler.pause_job(scheduler_v1.PauseJobRequest(name=name))

    def resume_scheduler_job(self, name: str) -> None:
        current_cloud().scheduler.resume_job(scheduler_v1.ResumeJobRequest(name=name))


def _all_pages(list_page: Callable[[str], Any], field: str) -> list:
    """Every item of a paged List call: `list_page(token)` answers one page whose `field`
    holds its items."""
    items, token = [], ""
    while True:
        page = list_page(token)
        items.extend(getattr(page, field))
        token = page.next_page_token
        if not token:
            return items

"""``google.cloud.scheduler.v1.CloudScheduler`` over gRPC: each RPC maps to one engine method."""

from __future__ import annotations

from google.cloud import scheduler_v1

from emulator.scheduler import SchedulerEngine
from emulator.server.grpc_api import ServiceTable, empty_method, message_method

SERVICE = "google.cloud.scheduler.v1.CloudScheduler"


def scheduler_service(engine: SchedulerEngine) -> ServiceTable:
    """The CloudScheduler service table for ``engine`` (every v1 RPC is served)."""
    job = scheduler_v1.Job
    return ServiceTable(
        SERVICE,
        {
            "ListJobs": message_method(
                scheduler_v1.ListJobsRequest, scheduler_v1.ListJobsResponse, engine.list_jobs
            ),
            "GetJob": message_method(scheduler_v1.GetJobRequest, job, engine.get_job),
            "CreateJob": message_method(scheduler_v1.CreateJobRequest, job, engine.create_job),
            "UpdateJob": message_method(scheduler_v1.UpdateJobRequest, job, engine.update_job),
            "DeleteJob": empty_method(scheduler_v1.DeleteJobRequest, engine.delete_job),
            "PauseJob": message_method(scheduler_v1.PauseJobRequest, job, engine.pause_job),
            "ResumeJob": message_method(scheduler_v1.ResumeJobRequest, job, engine.resume_job),
            "RunJob": message_method(scheduler_v1.RunJobRequest, job, engine.run_job),
        },
    )

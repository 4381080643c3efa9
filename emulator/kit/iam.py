"""TestIamPermissions, answered as Google answers a caller granted every role.

Of the permissions asked about, the answer holds those that apply to the resource (a queue, a
job), in the order asked: a permission of another resource type or service is left out, as
Google leaves it out. A ``DenyPermissions`` fault rule takes some (or all) of them away, as for a
caller not granted them. The engines check that the resource exists first (``NOT_FOUND``).
"""

from __future__ import annotations

from collections.abc import Iterable

from google.iam.v1 import iam_policy_pb2

from emulator.kit.faults import DenyPermissions, Effect

QUEUE_PERMISSIONS = frozenset(
    {
        "cloudtasks.queues.get",
        "cloudtasks.queues.update",
        "cloudtasks.queues.delete",
        "cloudtasks.queues.pause",
        "cloudtasks.queues.resume",
        "cloudtasks.queues.purge",
        "cloudtasks.queues.getIamPolicy",
        "cloudtasks.queues.setIamPolicy",
        "cloudtasks.tasks.create",
        "cloudtasks.tasks.get",
        "cloudtasks.tasks.list",
        "cloudtasks.tasks.delete",
        "cloudtasks.tasks.run",
        "cloudtasks.tasks.fullView",
    }
)
"""The permissions a Cloud Tasks queue's IAM policy can grant (on the queue or its tasks)."""

JOB_PERMISSIONS = frozenset(
    {
        "run.jobs.get",
        "run.jobs.update",
        "run.jobs.delete",
        "run.jobs.run",
        "run.jobs.runWithOverrides",
        "run.jobs.getIamPolicy",
        "run.jobs.setIamPolicy",
        "run.executions.get",
        "run.executions.list",
        "run.executions.delete",
        "run.executions.cancel",
        "run.tasks.get",
        "run.tasks.list",
    }
)
"""The permissions a Cloud Run job's IAM policy can grant (on the job, its executions, tasks)."""


def tested_permissions(
    requested: Iterable[str], valid: frozenset[str], effect: Effect | None
) -> iam_policy_pb2.TestIamPermissionsResponse:
    """The answer to TestIamPermissions for ``requested`` on a resource whose policy can grant
    ``valid``, less what a ``DenyPermissions`` ``effect`` refuses."""
    denied = effect if isinstance(effect, DenyPermissions) else None
    granted = [
        permission
        for permission in dict.fromkeys(requested)
        if permission in valid and (denied is None or not denied.denies(permission))
    ]
    return iam_policy_pb2.TestIamPermissionsResponse(permissions=granted)

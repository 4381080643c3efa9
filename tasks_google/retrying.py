"""Re-enqueue a copy of an execution (the dashboard's and the admin's "retry")."""

from django.tasks import TaskResult, task_backends
from django.tasks.exceptions import TaskResultDoesNotExist

from tasks_google.executions import is_valid_execution_id, load_task
from tasks_google.models import TaskExecution


def retry_task(result_or_id: TaskResult | str) -> TaskResult:
    """Enqueue a new execution of the same task with the same arguments, backend and queue.

    The original is left as it is; the copy runs as soon as possible (its `run_after` is not
    copied). Raises TaskResultDoesNotExist for an unknown id.
    """
    execution_id = result_or_id.id if isinstance(result_or_id, TaskResult) else result_or_id
    if not is_valid_execution_id(execution_id):
        raise TaskResultDoesNotExist(execution_id)
    row = TaskExecution.objects.filter(pk=execution_id).first()
    if row is None:
        raise TaskResultDoesNotExist(execution_id)
    task_backends[row.backend]  # a clear InvalidTaskBackend if the backend is gone
    task = load_task(row.task_path).using(
        backend=row.backend, queue_name=row.queue, priority=row.priority
    )
    return task.enqueue(*row.args, **row.kwargs)

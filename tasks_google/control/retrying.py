"""Re-enqueue a copy of an execution (the dashboard's and the admin's "retry")."""

from tasks_google.executions import find_execution, load_task
from tasks_google.framework import TaskResult, task_backends


def retry_task(result_or_id: TaskResult | str) -> TaskResult:
    """Enqueue a new execution of the same task with the same arguments, backend and queue.

    The original is left as it is; the copy runs as soon as possible (its `run_after` is not
    copied). Raises TaskResultDoesNotExist for an unknown id.
    """
    row = find_execution(result_or_id)
    task_backends[row.backend]  # a clear InvalidTaskBackend if the backend is gone
    task = load_task(row.task_path).using(
        backend=row.backend, queue_name=row.queue, priority=row.priority
    )
    return task.enqueue(*row.args, **row.kwargs)

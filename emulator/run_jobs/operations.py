"""Long-running operations of Cloud Run (R8): what ``google.longrunning.Operations`` reports.

CreateJob, UpdateJob, DeleteJob and DeleteExecution are done when they return. RunJob and
CancelExecution follow their execution: ``done`` is False while it runs, with the Execution as
``metadata``. A RunJob operation ends with the Execution as ``response``, or with an ``error``
when the execution failed; a cancelled execution is a response, not an error (as Google does).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from google.api_core.exceptions import NotFound
from google.cloud import run_v2
from google.longrunning import operations_pb2
from google.protobuf import any_pb2
from google.rpc import code_pb2, status_pb2

from emulator.run_jobs.model import ExecutionState, ExecutionStatus

OPERATION_LIMIT = 10_000
"""How many operations are remembered (the oldest are forgotten first)."""
FAILED_EXECUTION_CODE = code_pb2.FAILED_PRECONDITION
"""The ``error.code`` of a RunJob operation whose execution failed."""


@dataclass(frozen=True)
class Operation:
    """One operation: a finished result (``resource``) or a live execution to follow."""

    name: str
    resource: run_v2.Job | run_v2.Execution | None = None
    execution: ExecutionState | None = None
    fails_with_execution: bool = False  # RunJob: a failed execution is the operation's error

    def to_proto(self) -> operations_pb2.Operation:
        """The operation as ``google.longrunning.Operation`` (call under the engine lock)."""
        if self.execution is None:
            assert self.resource is not None
            packed = _pack(self.resource)
            return operations_pb2.Operation(
                name=self.name, metadata=packed, done=True, response=packed
            )
        execution = self.execution
        packed = _pack(execution.to_proto())
        operation = operations_pb2.Operation(
            name=self.name, metadata=packed, done=execution.terminal
        )
        if not execution.terminal:
            return operation
        if self.fails_with_execution and execution.status == ExecutionStatus.FAILED:
            operation.error.CopyFrom(
                status_pb2.Status(code=FAILED_EXECUTION_CODE, message=execution.message)
            )
        else:
            operation.response.CopyFrom(packed)
        return operation


class OperationLog:
    """The operations the engine has started, by name (not thread-safe: use the engine lock)."""

    def __init__(self, limit: int = OPERATION_LIMIT) -> None:
        self._limit = limit
        self._operations: OrderedDict[str, Operation] = OrderedDict()

    def add(self, operation: Operation) -> operations_pb2.Operation:
        """Remember ``operation``; return its current proto."""
        self._operations[operation.name] = operation
        while len(self._operations) > self._limit:
            self._operations.popitem(last=False)
        return operation.to_proto()

    def get(self, name: str) -> operations_pb2.Operation:
        """The operation's current proto; NOT_FOUND if unknown or forgotten."""
        operation = self._operations.get(name)
        if operation is None:
            raise NotFound(f"Operation {name} not found.")
        return operation.to_proto()

    def clear(self) -> None:
        """Forget every operation."""
        self._operations.clear()


def _pack(message: run_v2.Job | run_v2.Execution) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(type(message).pb(message))
    return packed

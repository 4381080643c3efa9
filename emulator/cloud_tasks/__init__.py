"""Cloud Tasks v2 (HTTP targets), emulated in process."""

from emulator.cloud_tasks.engine import CloudTasksEngine, IdTokenMinter

__all__ = ["CloudTasksEngine", "IdTokenMinter"]

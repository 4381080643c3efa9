"""What the timed engines (Cloud Tasks, Cloud Scheduler) share around their state: listeners
that a driver subscribes to, the executor that makes Run* calls return before delivering, and
reloading from the store."""

from __future__ import annotations

from collections.abc import Callable

from emulator.kit.delivery import DeliveryExecutor


class EngineLifecycle:
    """Mixin: the host sets `_lock`, `_history`, `_listeners = []`, `_executor = None` and
    implements `_load()` (rebuild the working state from the store, under the lock)."""

    def subscribe(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` (no arguments, must not block) whenever work may have become due."""
        self._listeners.append(listener)

    def set_delivery_executor(self, executor: DeliveryExecutor | None) -> None:
        """Make RunTask / RunJob hand its delivery to ``executor`` and return at once, as Google
        does. Without one (the default, for virtual time) the call delivers before it returns."""
        self._executor = executor

    def reload(self) -> None:
        """Rebuild the working state from the store (after it was reset or imported)."""
        with self._lock:
            self._history.clear()
            self._load()
        self._notify()

    def _notify(self) -> None:
        for listener in list(self._listeners):
            listener()

"""The end of what an attempt wrote to stderr, kept so that a failure can say why it failed.

An attempt's stderr is a pipe. A thread copies everything it reads to the emulator's own stderr
(where Cloud Run would send it to Cloud Logging) and keeps the last bytes, from which
``text()`` gives the last ``TAIL_LINES`` lines: a Python traceback's final line, "Couldn't
import Django", a shell's "command not found". The pipe closes when the attempt's whole process
tree is gone.
"""

from __future__ import annotations

import contextlib
import os
import threading

TAIL_LINES = 10
"""How many of the last lines of stderr a failed attempt's message quotes."""
TAIL_CHARS = 2000
"""At most this many characters of them (the end is kept)."""
_KEEP_BYTES = 4 * TAIL_CHARS


class StderrTail:
    """Copies a pipe to ``forward_fd`` on a daemon thread and keeps the pipe's last bytes."""

    def __init__(self, read_fd: int, forward_fd: int) -> None:
        self._fd = read_fd
        self._forward_fd = forward_fd
        self._kept = b""
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._copy, name="run-attempt-stderr", daemon=True)
        self._thread.start()

    def _copy(self) -> None:
        try:
            while chunk := os.read(self._fd, 65536):
                self._forward(chunk)
                with self._lock:
                    self._kept = (self._kept + chunk)[-_KEEP_BYTES:]
        except OSError:
            pass
        finally:
            os.close(self._fd)

    def _forward(self, chunk: bytes) -> None:
        view = memoryview(chunk)
        with contextlib.suppress(OSError):  # the emulator's stderr is gone: keep the tail
            while view:
                view = view[os.write(self._forward_fd, view) :]

    def text(self, wait: float = 1.0) -> str:
        """The last lines read, once the pipe closed (waiting up to ``wait`` seconds for it:
        a descendant that escaped the process group may hold it open)."""
        self._thread.join(wait)
        with self._lock:
            kept = self._kept
        lines = kept.decode("utf-8", errors="replace").rstrip().splitlines()[-TAIL_LINES:]
        return "\n".join(lines)[-TAIL_CHARS:]

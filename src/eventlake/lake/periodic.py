"""A writer that commits what it has queued from a background thread, every few seconds,
and once more when closed (the console's usage recorder, the audit journal's committer)."""

from __future__ import annotations

import threading


class PeriodicFlush:
    """Subclasses set `seconds` and `thread_name` and define `flush()`; `final_flush()`
    (default: `flush()`) runs at `close()`."""

    seconds: float = 2.0
    thread_name: str = "eventlake-flush"
    _thread: threading.Thread | None = None
    _stop: threading.Event | None = None

    def flush(self) -> int:
        raise NotImplementedError

    def final_flush(self) -> int:
        return self.flush()

    def start(self) -> None:
        if self._thread is None:
            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._loop, name=self.thread_name, daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.seconds):
            self.flush()

    def close(self) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join(timeout=10)
            self._thread = None
        self.final_flush()

"""The collector's loader process: loads the raw log's sealed segments into the lake
for a running collector, out of the collector's own process.

Loading is DuckDB work plus Python around it. In a thread of the collector it took the
GIL and a CPU from the event loop that answers requests (about 15% of its time under
full load, measured in bench/README.md); in a process of its own, at a lower CPU
priority, it only takes a CPU the requests leave idle.

    LoaderProcess(lake, rawlog_dir)    the collector's end: load_pending(), close()
    python -m eventlake.collect.loadworker FD PARENT_PID NICE LOG_LEVEL RAW_DIR
                                       the process: one Loader, one lake connection
                                       kept between loads

Requests and answers are pickled tuples, each preceded by its length (4 bytes), on a
socket pair: first ("lake", settings) (on the socket, not the command line, which
other users can read: a PostgreSQL catalog's connection string may hold a password),
then ("load",) -> ("ok", IngestStats) | ("error", message); ("close",) ends it. The process also ends when the socket closes, ignores SIGINT and SIGTERM (the
collector closes it after its last load at shutdown), and is killed with the
collector (PR_SET_PDEATHSIG), as the loader thread was: a load stopped half way is the crash
the loader is built to resume from (segments are removed only after their commit)."""

from __future__ import annotations

import logging
import os
import pickle
import signal
import socket
import struct
import subprocess
import sys
import threading
from pathlib import Path

from ..errors import EventlakeError

log = logging.getLogger(__name__)

_LEN = struct.Struct("<I")


class LoaderProcessError(EventlakeError):
    """The loader process stopped or could not start (the load is retried)."""


def _send(sock: socket.socket, obj) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    sock.sendall(_LEN.pack(len(data)) + data)


def _recv_exact(sock: socket.socket, n: int) -> bytes | None:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


def _recv(sock: socket.socket):
    head = _recv_exact(sock, _LEN.size)
    if head is None:
        return None
    body = _recv_exact(sock, _LEN.unpack(head)[0])
    if body is None:
        return None
    return pickle.loads(body)


class LoaderProcess:
    """Runs the collector's loads in a child process; same calls as Loader
    (load_pending, close), one at a time (a lock keeps them apart). A process that died
    is started again at the next load."""

    def __init__(self, lake, rawlog_dir: Path | str, *, nice: int = 10):
        self.lake = lake
        self.rawlog_dir = Path(rawlog_dir)
        self.nice = nice
        self._proc: subprocess.Popen | None = None
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self.starts = 0

    @property
    def pid(self) -> int | None:
        proc = self._proc
        return proc.pid if proc is not None and proc.poll() is None else None

    def _start(self) -> None:
        lake = self.lake
        settings = {"path": str(lake.path), "catalog": lake.catalog, "memory_limit": lake.memory_limit, "threads": lake.threads, "schema": lake.schema}
        try:
            base = os.getpriority(os.PRIO_PROCESS, os.getpid())  # the collector's main thread
        except (AttributeError, OSError):
            base = 0
        level = logging.getLevelName(logging.getLogger("eventlake").getEffectiveLevel())
        parent, child = socket.socketpair()
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "eventlake.collect.loadworker", str(child.fileno()), str(os.getpid()),
                 str(min(19, base + self.nice)), str(level), str(self.rawlog_dir)],
                pass_fds=(child.fileno(),), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, close_fds=True,
            )
        except OSError as exc:
            parent.close()
            raise LoaderProcessError(f"cannot start the loader process: {exc.strerror or exc}") from None
        finally:
            child.close()
        self._sock = parent
        self.starts += 1
        _send(parent, ("lake", settings))

    def _stop(self) -> None:
        sock, self._sock = self._sock, None
        proc, self._proc = self._proc, None
        if sock is not None:
            sock.close()
        if proc is not None:
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def load_pending(self):
        """Load every sealed segment, in the loader process; its IngestStats."""
        with self._lock:
            if self._proc is None or self._proc.poll() is not None:
                self._stop()
                self._start()
            try:
                _send(self._sock, ("load",))
                answer = _recv(self._sock)
            except OSError:
                answer = None
            if answer is None:
                proc = self._proc
                try:
                    code = proc.wait(10) if proc is not None else None
                except subprocess.TimeoutExpired:  # its socket closed, yet it runs: end it
                    proc.kill()
                    code = proc.wait()
                self._stop()
                raise LoaderProcessError(f"the loader process stopped (exit status {code}); the load is retried")
            kind, value = answer
            if kind == "error":
                raise LoaderProcessError(value)
            return value

    def close(self) -> None:
        """Let the process close its lake connection and exit."""
        with self._lock:
            if self._sock is not None:
                try:
                    _send(self._sock, ("close",))
                except OSError:
                    pass
            self._stop()


def _die_with(parent_pid: int) -> None:
    """Be killed when the collector dies (Linux); exit now if it already has."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent_pid:
        os._exit(0)


def main(argv: list[str] | None = None) -> int:
    fd, parent_pid, nice, level, raw_dir = (sys.argv[1:] if argv is None else argv)[:5]
    _die_with(int(parent_pid))
    # Ctrl-C in a terminal (or a service manager's SIGTERM) reaches the whole process
    # group: the collector shuts down and closes this process itself, after its last load
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        os.setpriority(os.PRIO_PROCESS, 0, int(nice))
    except (AttributeError, OSError):
        pass
    logging.basicConfig(stream=sys.stderr, level=level if level.isupper() else "WARNING",
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from ..lake import Lake
    from .loader import Loader

    sock = socket.socket(fileno=int(fd))
    first = _recv(sock)
    if first is None or first[0] != "lake":
        sock.close()
        return 0
    cfg = dict(first[1])
    lake = Lake(cfg.pop("path"), cfg.pop("catalog"), **cfg)
    loader = Loader(lake, raw_dir, keep_connection=True)
    try:
        while True:
            try:
                request = _recv(sock)
            except OSError:
                request = None
            if request is None or request[0] == "close":
                return 0
            if request[0] == "load":
                try:
                    answer = ("ok", loader.load_pending())
                except Exception as exc:  # reported to the collector, which logs and retries
                    answer = ("error", f"{type(exc).__name__}: {exc}")
                try:
                    _send(sock, answer)
                except OSError:
                    return 0
    finally:
        loader.close()
        sock.close()


if __name__ == "__main__":
    sys.exit(main())

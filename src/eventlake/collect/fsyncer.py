"""The raw log's fsync helper: a small process that makes segment files durable for
the collector's event loop.

The event loop writes each group of records to the active segment itself (a write to
the page cache, microseconds) and asks this process to fsync it. The process answers on
the same socket; the loop reads the answer like any other ready socket. No thread of the
collector waits in fsync, so no thread has to win the GIL back to report it: that
hand-off cost a millisecond or more per group under load.

Protocol: a SOCK_SEQPACKET pair, one message per request, answered in order.
    N <seg> <0>       + one fd (SCM_RIGHTS): the segment `seg` is open on that fd
    S <seg> <token>   fsync the segment (and, the first time, its directory);
                      answer S <token> <errno> (0: durable)
    C <seg> <token> path
                      seal: fsync, close, rename path (.open) to .log, fsync the
                      directory; answer C <token> <errno> message
    X <seg> <0>       forget the segment (close the fd; the collector sealed it)
The process exits when the socket closes (the collector stopped or died). It ignores
SIGINT and SIGTERM, so that a collector shutting down gracefully keeps its helper
until it has sealed its last segment.

Standard library only: it starts with `python -I -S` in a few tens of milliseconds."""

from __future__ import annotations

import errno
import os
import signal
import socket
import struct
import sys

REQUEST = struct.Struct("<cQQ")  # op, segment id, token
REPLY = struct.Struct("<cQi")  # op, token, errno (0 = done)


def fsync_dir(directory) -> None:
    """Make a directory's entries (a created, renamed or removed file) durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _answer(sock: socket.socket, reply: bytes) -> bool:
    """Send one answer; False when the collector is gone (it died: nothing waits for
    the answer, and the helper exits quietly)."""
    try:
        sock.send(reply)
    except (BrokenPipeError, ConnectionResetError):
        return False
    return True


def serve(sock: socket.socket, directory: str) -> int:
    """Answer requests until the socket closes."""
    fds: dict[int, int] = {}
    fresh: set[int] = set()  # segments whose directory entry is not fsynced yet
    while True:
        try:
            msg, got, _flags, _addr = socket.recv_fds(sock, 1 << 16, 4)
        except InterruptedError:
            continue
        except OSError:
            return 0
        if not msg:
            return 0
        op, seg, token = REQUEST.unpack_from(msg)
        if op == b"N":
            if not got:
                continue
            old = fds.pop(seg, None)
            if old is not None:
                os.close(old)
            fds[seg] = got[0]
            for extra in got[1:]:
                os.close(extra)
            fresh.add(seg)
            continue
        for extra in got:
            os.close(extra)
        if op == b"S":
            err = 0
            fd = fds.get(seg)
            try:
                if fd is None:
                    raise OSError(errno.EBADF, f"segment {seg} is not open in the fsync helper")
                os.fsync(fd)
                if seg in fresh:
                    fsync_dir(directory)
                    fresh.discard(seg)
            except OSError as exc:
                err = exc.errno or errno.EIO
            if not _answer(sock, REPLY.pack(b"S", token, err)):
                return 0
        elif op == b"C":
            path = msg[REQUEST.size:].decode("utf-8", "surrogateescape")
            err, text = 0, ""
            fd = fds.pop(seg, None)
            fresh.discard(seg)
            try:
                if fd is not None:
                    try:
                        os.fsync(fd)
                    finally:
                        os.close(fd)
                os.rename(path, path[: -len(".open")] + ".log" if path.endswith(".open") else path + ".log")
                fsync_dir(directory)
            except OSError as exc:
                err, text = exc.errno or errno.EIO, str(exc)
            if not _answer(sock, REPLY.pack(b"C", token, err) + text.encode("utf-8", "replace")[:4000]):
                return 0
        elif op == b"X":
            fd = fds.pop(seg, None)
            fresh.discard(seg)
            if fd is not None:
                os.close(fd)


def main(argv: list[str] | None = None) -> int:
    """`fsyncer.py SOCKET_FD DIRECTORY`"""
    args = sys.argv[1:] if argv is None else argv
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    sock = socket.socket(fileno=int(args[0]))
    try:
        return serve(sock, args[1])
    finally:
        sock.close()


if __name__ == "__main__":
    sys.exit(main())

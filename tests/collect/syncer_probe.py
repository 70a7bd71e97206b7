"""A fault-injecting stand-in for the raw log's fsync helper (tests only): runs the real
helper (`fsyncer.py`, loaded from the path given) with os.fsync wrapped.

    syncer_probe.py FSYNCER_PATH SPEC SOCKET_FD DIRECTORY

SPEC is comma-separated, counting fsyncs of regular files (segments) from 1:
    record:DIR   after each segment fsync, copy the segment's content to DIR/sync-<n>
    slow:S       sleep S seconds before each segment fsync
    fail:N       the Nth segment fsync fails with EIO
    die:N        the process exits (status 3) at the Nth segment fsync, before syncing
    once:PATH    die only if PATH does not exist (and create it first): the helper
                 started next does not die again"""

import errno
import importlib.util
import os
import stat
import sys
import time


def main() -> int:
    fsyncer_path, spec, *rest = sys.argv[1:]
    mod_spec = importlib.util.spec_from_file_location("fsyncer", fsyncer_path)
    fsyncer = importlib.util.module_from_spec(mod_spec)
    mod_spec.loader.exec_module(fsyncer)
    opts = dict(part.split(":", 1) for part in spec.split(",") if part)
    real_fsync = os.fsync
    count = {"n": 0}

    def probe_fsync(fd):
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return real_fsync(fd)
        count["n"] += 1
        n = count["n"]
        if "slow" in opts:
            time.sleep(float(opts["slow"]))
        if opts.get("die") == str(n):
            marker = opts.get("once")
            if marker is None or not os.path.exists(marker):
                if marker is not None:
                    open(marker, "w").close()
                os._exit(3)
        if opts.get("fail") == str(n):
            raise OSError(errno.EIO, "Input/output error")
        real_fsync(fd)
        if "record" in opts:
            with open(os.path.join(opts["record"], f"sync-{n:05d}"), "wb") as out:
                with open(os.readlink(f"/proc/self/fd/{fd}"), "rb") as seg:  # fd is write-only
                    out.write(seg.read())

    os.fsync = probe_fsync
    return fsyncer.main(rest)


if __name__ == "__main__":
    sys.exit(main())

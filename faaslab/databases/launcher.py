"""Start a database engine as its own unprivileged user, in a mount namespace of its own.

    python -S faaslab/databases/launcher.py '{"dir": ..., "uid": ..., "gid": ..., "argv": [...]}'

Why a namespace: the cluster's directory lives in faaslab's state dir, which may sit below
a directory the engine's user cannot enter (`/root`, pytest's 0700 temp dirs), and
PostgreSQL refuses to run as root. Inside a private mount namespace the directory is
bound at `ENGINE_ROOT` (below a fresh tmpfs on /tmp, which is also the engine's own
/tmp), so the engine reaches it by a short path whatever the host path is — short
enough for Unix socket names, too. Then the uid is dropped and the engine exec'd, so the
engine is this process (its pid is what faaslab waits on and signals).
"""

from __future__ import annotations

import json
import os
import sys

if __name__ == "__main__":
    # Run as a file under `python -S` (no site import: it starts in ~20 ms instead of ~55,
    # which is most of what a resume costs beyond the engine's own start), so the package
    # is found from this file's place rather than from site-packages.
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(__file__))))

from faaslab.linux import MS_BIND, MS_REC, mount, mount_tmpfs, unshare_mounts

ENGINE_ROOT = "/tmp/cluster"  # where the cluster dir appears to the engine


def enter(directory: str, uid: int, gid: int) -> None:
    unshare_mounts()
    # Opened in the new namespace (a bind source must be), before /tmp may cover it.
    keep = os.open(directory, os.O_PATH | os.O_DIRECTORY)
    mount_tmpfs("/tmp", 64, "1777")
    os.mkdir(ENGINE_ROOT, 0o755)
    mount(f"/proc/self/fd/{keep}", ENGINE_ROOT, None, MS_BIND | MS_REC)
    os.close(keep)
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)
    os.chdir(ENGINE_ROOT)


def main() -> None:
    spec = json.loads(sys.argv[1])
    enter(spec["dir"], int(spec["uid"]), int(spec["gid"]))
    os.execvp(spec["argv"][0], spec["argv"])


if __name__ == "__main__":
    main()

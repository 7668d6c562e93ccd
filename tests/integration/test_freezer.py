"""The cgroup v2 freezer on this kernel (a user's laptop is v2 only; this project's machines
run faaslab on v1, whose freezer the tenant tests cover): freeze, thaw and kill a real
process through the driver's files, in the v2 hierarchy even when it has no controllers."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from faaslab.functions.cgroups import Cgroup, cgroup2_root

COUNTER = """
import os, sys, time
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT, 0o600)
n = 0
while True:
    n += 1
    os.pwrite(fd, str(n).encode().ljust(20), 0)
    time.sleep(0.001)
"""


def _until(condition: Callable[[], object], what: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.01)
    pytest.fail(f"timed out waiting for {what}")


def test_v2_freeze_thaw_and_kill_of_a_real_group(tmp_path: Path) -> None:
    root = cgroup2_root()
    if root is None or os.geteuid() != 0 or not (root / "cgroup.procs").exists():
        pytest.skip("no writable cgroup2 hierarchy here")
    group_dir = root / f"faaslab-freeze-test-{uuid.uuid4().hex[:8]}"
    group_dir.mkdir()
    counter = tmp_path / "n"
    proc = subprocess.Popen([sys.executable, "-c", COUNTER, str(counter)])
    try:
        (group_dir / "cgroup.procs").write_text(str(proc.pid))
        group = Cgroup([group_dir], group_dir, 2, freezer_dir=group_dir)
        _until(lambda: counter.exists() and counter.read_text().strip(), "the counter")
        assert group.freeze()
        _until(lambda: "frozen 1" in (group_dir / "cgroup.events").read_text(), "frozen 1")
        before = counter.read_text()
        window_end = time.monotonic() + 0.3  # awake, it would count ~300 times meanwhile
        while time.monotonic() < window_end:
            time.sleep(0.05)
            assert counter.read_text() == before
        assert group.thaw()
        _until(lambda: counter.read_text() != before, "counting again after the thaw")
        assert group.freeze()
        _until(lambda: "frozen 1" in (group_dir / "cgroup.events").read_text(), "frozen 1")
        group.kill_all()  # frozen: it must die all the same
        proc.wait(30)
        group.destroy()
        assert not group_dir.exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            (group_dir / "cgroup.freeze").write_text("0")
            proc.wait()
        if group_dir.exists():
            group_dir.rmdir()

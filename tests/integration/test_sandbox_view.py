"""What a function sees of the machine, asked from inside real functions: Lambda's view
(read-only root, /tmp the only writable place, its own processes, MemorySize as the
machine's memory, uptime from the environment's start), memory limits that do not count
/tmp, and path layouts under 0700 parents."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from faaslab.functions.manager import runtime_paths
from tests.conftest import FIXTURES, ROOT, Faaslab, invoke, start_faaslab


def _host_stat(key: str) -> int:
    with open("/proc/stat") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(key + " "))


def _allowed(parent: str) -> set[str]:
    """The entries of `parent` the runtime needs (ancestors of its own paths)."""
    out = set()
    for p in runtime_paths():
        if p.startswith(parent.rstrip("/") + "/"):
            out.add(p[len(parent.rstrip("/")) + 1 :].split("/")[0])
    return out


def test_lambdas_view_of_the_machine(faaslab: Faaslab, lam: Any) -> None:
    parent = str(ROOT.parent)
    hidden = ["/home", "/root", parent, str(faaslab.state_dir)]
    _, out = invoke(lam, "probe", {"action": "view", "paths": hidden})
    view = out["view"]
    assert view["processes"] == [1]  # its own PID namespace: not the host's processes
    # its own /tmp only: no copy of another environment's (nor of a spare's) mount
    assert view["loop_mounts"] in (["/tmp"], []), view["loop_mounts"]
    assert view["mem_total_kb"] == 256 * 1024  # MemorySize, not the host's memory
    # a time namespace: booted when the environment started, long after the host
    assert view["btime"] > _host_stat("btime")
    with open("/proc/uptime") as f:
        assert view["uptime"] < float(f.read().split()[0])
    _, again = invoke(lam, "probe", {"action": "view", "paths": []})
    assert again["view"]["btime"] == view["btime"]  # (the same environment: same boot)
    assert again["view"]["boot_id"] == view["boot_id"]
    writes = view["writes"]
    assert writes.pop("/tmp") == "written"
    assert all(result != "written" for result in writes.values()), writes
    listed = view["listed"]
    for path in ("/var/lib/mysql", "/var/lib/postgresql", "/var/tmp", str(faaslab.state_dir)):
        assert isinstance(listed[path], str), (path, listed[path])  # an error: not there
    # (a checkout in /tmp: the function's /tmp is its own, with what earlier tests wrote)
    for path in ("/home", "/root", *([parent] if parent != "/tmp" else [])):
        entries = listed[path] if isinstance(listed[path], list) else []
        assert set(entries) <= _allowed(path), (path, entries)
    if parent != "/tmp":
        assert os.listdir(parent) != listed[parent] or _allowed(parent) >= set(os.listdir(parent))


def test_a_restarted_runtime_stays_in_its_environment(lam: Any) -> None:
    """After a timeout the new runtime has the same /tmp, boot time and boot id (one VM)."""
    marker = f"restart-{os.urandom(4).hex()}"
    _, before = invoke(lam, "sleeper", {"sleep": 0, "file": marker})
    r, _ = invoke(lam, "sleeper", {"sleep": 3})  # (the most recently used environment)
    assert r["FunctionError"] == "Unhandled"
    for _ in range(10):
        _, after = invoke(lam, "sleeper", {"sleep": 0})
        if marker in after["tmp"]:
            break
    assert marker in after["tmp"]
    assert after["process"] != before["process"]
    assert (after["btime"], after["boot_id"]) == (before["btime"], before["boot_id"])


def test_over_memory_size_is_out_of_memory_whatever_tmp_holds(lam: Any) -> None:
    """256 MB: 400 MB in /tmp do not count toward it; 400 MB allocated do."""
    r, out = invoke(lam, "memory", {"mode": "tmp_then_alloc", "tmp_mb": 400, "alloc_mb": 150})
    assert "FunctionError" not in r, out
    assert out == {"tmp_written_mb": 400, "held_mb": 150}
    r, out = invoke(lam, "memory", {"mode": "tmp_then_alloc", "tmp_mb": 1, "alloc_mb": 400})
    assert r["FunctionError"] == "Unhandled"
    assert out["errorType"] == "Runtime.OutOfMemory", out


def test_tmp_is_capped_at_ephemeral_storage(lam: Any) -> None:
    _, out = invoke(lam, "memory", {"mode": "tmp_then_alloc", "tmp_mb": 1100, "alloc_mb": 0})
    assert out["tmp_error"] == "No space left on device"
    assert 900 <= out["tmp_written_mb"] < 1024, out


def test_checkout_and_state_dir_under_one_0700_parent() -> None:
    """`mktemp -d` (0700) holding both the checkout and the state dir."""
    top = Path(tempfile.mkdtemp(prefix="faaslab-0700-"))
    try:
        assert top.stat().st_mode & 0o777 == 0o700
        repo = top / "repo"
        shutil.copytree(ROOT / "faaslab", repo / "faaslab")
        shutil.copytree(FIXTURES, repo / "fixtures")
        fl = start_faaslab(repo / "fixtures" / "template.yaml", top / "state", cwd=repo)
        try:
            r, out = invoke(fl.client(), "probe", {"action": "write_tmp", "file": "f", "data": "x"})
            assert "FunctionError" not in r, out
            # (a runtime below /tmp stays at its path: bound back into the function's /tmp;
            # so is this checkout's, when it lies in /tmp too, as a fresh CI clone does)
            runtime_tops = {
                Path(p).relative_to("/tmp").parts[0]
                for p in (str(ROOT), sys.prefix, os.path.realpath(sys.prefix))
                if p.startswith("/tmp/")
            }
            assert set(out["tmp"]) == {"f", top.name} | runtime_tops, out["tmp"]
            assert out["uid"] != 0
            # the runtime is the copy's, from under the 0700 parent (bound back for it)
            _, out = invoke(fl.client(), "probe", {"action": "listdir", "path": str(repo)})
            assert "faaslab" in out["listdir"], out
            _, out = invoke(fl.client(), "probe", {"action": "listdir", "path": str(top / "state")})
            assert "listdir_error" in out, out  # (the state dir stays hidden)
        finally:
            assert fl.stop() == 0
    finally:
        shutil.rmtree(top, ignore_errors=True)

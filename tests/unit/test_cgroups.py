"""The cgroup driver against fake hierarchies: v2 (a laptop), v1 (this project's machines),
and none. Real cgroupfs behaviour (limits enforced, OOM kills) is covered by the
integration tests on whichever version the machine has."""

from __future__ import annotations

from pathlib import Path

from faaslab.functions.cgroups import PIDS_MAX, detect, kill_groups


def test_v2_enables_controllers_down_to_the_instance(tmp_path: Path) -> None:
    root = tmp_path / "unified"
    root.mkdir()
    (root / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    driver = detect("inst1", base=tmp_path, mounts=f"cgroup2 {root} cgroup2 rw 0 0\n")
    assert driver.version == 2
    parent = root / "faaslab" / "inst1"
    assert driver.roots == {"memory": parent}
    for level in (root, root / "faaslab", parent):
        assert (level / "cgroup.subtree_control").read_text() == "+memory +pids"
    group = driver.create("env1", 640)
    assert group is not None and group.version == 2
    assert (parent / "env1" / "memory.max").read_text() == str(640 * 1024 * 1024)
    assert (parent / "env1" / "pids.max").read_text() == str(PIDS_MAX)
    assert group.procs_files == [str(parent / "env1" / "cgroup.procs")]
    group.set_limit(128)
    assert (parent / "env1" / "memory.max").read_text() == str(128 * 1024 * 1024)
    (parent / "env1" / "memory.events").write_text("low 0\nhigh 0\nmax 4\noom 1\noom_kill 1\n")
    (parent / "env1" / "memory.peak").write_text("52428800\n")
    assert group.oom_kills() == 1
    assert group.peak_bytes() == 52428800


def test_v2_without_memory_controller_falls_back_to_v1(tmp_path: Path) -> None:
    unified = tmp_path / "unified"
    unified.mkdir()
    (unified / "cgroup.controllers").write_text("\n")  # as on this project's machines
    for controller in ("memory", "pids"):
        (tmp_path / controller).mkdir()
        (tmp_path / controller / "cgroup.procs").write_text("")
    driver = detect("inst2", base=tmp_path, mounts=f"cgroup2 {unified} cgroup2 rw 0 0\n")
    assert driver.version == 1
    assert set(driver.roots) == {"memory", "pids"}
    group = driver.create("env2", 256)
    assert group is not None
    env_mem = tmp_path / "memory" / "faaslab" / "inst2" / "env2"
    assert (env_mem / "memory.limit_in_bytes").read_text() == str(256 * 1024 * 1024)
    assert (tmp_path / "pids" / "faaslab" / "inst2" / "env2" / "pids.max").read_text() == str(
        PIDS_MAX
    )
    assert len(group.procs_files) == 2
    (env_mem / "memory.oom_control").write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n")
    (env_mem / "memory.max_usage_in_bytes").write_text("1048576\n")
    assert group.oom_kills() == 3
    assert group.peak_bytes() == 1048576


def test_no_writable_hierarchy_means_rlimits(tmp_path: Path) -> None:
    driver = detect("inst3", base=tmp_path, mounts="proc /proc proc rw 0 0\n")
    assert driver.version == 0
    assert driver.create("env", 128) is None
    assert "rlimits" in driver.description


def test_unreadable_counters_are_harmless(tmp_path: Path) -> None:
    (tmp_path / "memory").mkdir()
    (tmp_path / "memory" / "cgroup.procs").write_text("")
    group = detect("inst4", base=tmp_path, mounts="").create("env", 128)
    assert group is not None
    assert group.oom_kills() == 0 and group.peak_bytes() is None


def test_cpu_quota_v1_and_v2(tmp_path: Path) -> None:
    v1 = tmp_path / "v1"
    for controller in ("memory", "pids", "cpu"):
        (v1 / controller).mkdir(parents=True)
        (v1 / controller / "cgroup.procs").write_text("")
    driver = detect("i", base=v1, mounts="", cpu=True)
    group = driver.create("env", 512)
    assert group is not None and len(group.procs_files) == 3
    group.set_cpu(0.5)
    cpu_dir = v1 / "cpu" / "faaslab" / "i" / "env"
    assert (cpu_dir / "cpu.cfs_period_us").read_text() == "100000"
    assert (cpu_dir / "cpu.cfs_quota_us").read_text() == "50000"
    assert "cpu" in driver.description

    v2 = tmp_path / "v2"
    v2.mkdir()
    (v2 / "cgroup.controllers").write_text("cpu memory pids\n")
    driver = detect("i", base=tmp_path, mounts=f"cgroup2 {v2} cgroup2 rw 0 0", cpu=True)
    assert (v2 / "cgroup.subtree_control").read_text() == "+memory +pids +cpu"
    group = driver.create("env", 512)
    assert group is not None
    group.set_cpu(2.0)
    assert (v2 / "faaslab" / "i" / "env" / "cpu.max").read_text() == "200000 100000"


def test_v1_freezer_group_freezes_and_thaws_through_its_state_file(tmp_path: Path) -> None:
    for controller in ("memory", "pids", "freezer"):
        (tmp_path / controller).mkdir()
        (tmp_path / controller / "cgroup.procs").write_text("")
    driver = detect("i", base=tmp_path, mounts="")
    assert driver.version == 1 and driver.freeze and "freezer" in driver.description
    root = tmp_path / "freezer" / "faaslab" / "i"
    # the instance's anchor group: frozen for its lifetime (cheap freezes, see cgroups.py)
    assert (root / "keep-frozen" / "freezer.state").read_text() == "FROZEN"
    group = driver.create("env", 128)
    assert group is not None and group.freezer_dir == root / "env"
    assert str(root / "env" / "cgroup.procs") in group.procs_files  # (spares join it too)
    state = root / "env" / "freezer.state"
    state.write_text("THAWED")  # (the kernel provides the file)
    assert group.freeze() and state.read_text() == "FROZEN"
    assert group.thaw() and state.read_text() == "THAWED"
    group.freeze()
    group.kill_all()  # a frozen v1 task dies only when thawed
    assert state.read_text() == "THAWED"
    group.destroy()
    driver.remove()
    assert (root / "keep-frozen" / "freezer.state").read_text() == "THAWED"


def test_v2_freezes_with_cgroup_freeze_in_the_group(tmp_path: Path) -> None:
    v2 = tmp_path / "unified"
    (v2 / "faaslab" / "i").mkdir(parents=True)
    (v2 / "cgroup.controllers").write_text("memory pids\n")
    (v2 / "faaslab" / "i" / "cgroup.freeze").write_text("0")  # non-root groups have it
    driver = detect("i", base=tmp_path, mounts=f"cgroup2 {v2} cgroup2 rw 0 0")
    assert driver.version == 2 and driver.freeze and "freeze" in driver.description
    group = driver.create("env", 128)
    assert group is not None and group.freezer_dir == v2 / "faaslab" / "i" / "env"
    (group.freezer_dir / "cgroup.freeze").write_text("0")
    assert group.freeze() and (group.freezer_dir / "cgroup.freeze").read_text() == "1"
    assert group.thaw() and (group.freezer_dir / "cgroup.freeze").read_text() == "0"


def test_without_a_freezer_freeze_reports_failure(tmp_path: Path) -> None:
    (tmp_path / "memory").mkdir()
    (tmp_path / "memory" / "cgroup.procs").write_text("")
    driver = detect("i", base=tmp_path, mounts="")
    assert not driver.freeze
    group = driver.create("env", 128)
    assert group is not None and group.freezer_dir is None
    assert not group.freeze()  # the environment falls back to SIGSTOP


def test_kill_groups_thaws_the_groups_it_is_given(tmp_path: Path) -> None:
    d = tmp_path / "env"
    d.mkdir()
    (d / "cgroup.procs").write_text("")
    (d / "freezer.state").write_text("FROZEN")
    kill_groups([str(d / "cgroup.procs")])
    assert (d / "freezer.state").read_text() == "THAWED"

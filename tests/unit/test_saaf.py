"""Tests for the SAAF 0.7 Inspector port: real /proc where it matters, fake /proc for
exactness (names and units as SAAF 0.7's Python Inspector reports them)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from faaslab import saaf
from faaslab.saaf import CPU_METRICS, Inspector

PLATFORM_ENV = (
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_REGION",
    "X_GOOGLE_FUNCTION_NAME",
    "__OW_ACTION_NAME",
    "CONTAINER_NAME",
)

needs_proc = pytest.mark.skipif(not os.path.isfile("/proc/stat"), reason="needs Linux /proc")

FAKE_STAT = """\
cpu  100 2 30 4000 5 6 7 8 0 0
cpu0 50 1 15 2000 2 3 3 4 0 0
intr 12345 0 0
ctxt 9000
btime 1700000000
processes 42
"""

FAKE_CPUINFO = """\
processor\t: 0
vendor_id\t: GenuineIntel
cpu family\t: 6
model\t\t: 85
model name\t: Intel(R) Xeon(R) Processor @ 2.50GHz
stepping\t: 7
flags\t\t: fpu vme sse2
power management:

processor\t: 1
model\t\t: 99
model name\t: Other CPU
flags\t\t: fpu
power management:

"""

#: A Graviton (arm64) /proc/cpuinfo: no "model name"; SAAF reads "Model" in the last block.
ARM_CPUINFO = """\
processor\t: 0
BogoMIPS\t: 243.75
Features\t: fp asimd evtstrm
CPU implementer\t: 0x41
CPU part\t: 0xd0c
CPU revision\t: 1

processor\t: 1
BogoMIPS\t: 243.75
Features\t: fp asimd evtstrm
CPU implementer\t: 0x41
CPU part\t: 0xd0c
CPU revision\t: 1

Model\t\t: Neoverse-N1
"""

FAKE_MEMINFO = """\
MemTotal:        2048000 kB
MemFree:          512000 kB
MemAvailable:    1024000 kB
"""

FAKE_VMSTAT = """\
nr_free_pages 1000
pgpgin 5
pgfault 70000
pgmajfault 300
"""


def _write_fake_proc(root: Path) -> Path:
    (root / "sys" / "kernel" / "random").mkdir(parents=True)
    (root / "self").mkdir()
    (root / "stat").write_text(FAKE_STAT)
    (root / "cpuinfo").write_text(FAKE_CPUINFO)
    (root / "meminfo").write_text(FAKE_MEMINFO)
    (root / "vmstat").write_text(FAKE_VMSTAT)
    (root / "sys" / "kernel" / "random" / "boot_id").write_text(
        "609cada4-b17c-430e-abe0-9a1c36a0583a\n"
    )
    (root / "self" / "cgroup").write_text("0::/sandbox-abc\n")
    (root / "version").write_text("Linux version 5.10.0-fake (b@h) (gcc) #1 SMP\n")
    return root


@pytest.fixture
def fake_proc(tmp_path: Path) -> Path:
    return _write_fake_proc(tmp_path / "proc")


@pytest.fixture
def no_platform_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PLATFORM_ENV:
        monkeypatch.delenv(name, raising=False)


def _btime() -> int:
    with open("/proc/stat") as fh:
        for line in fh:
            if line.startswith("btime "):
                return int(line.split()[1])
    raise AssertionError("no btime line in /proc/stat")


def test_constructor_records_version_lang_start_and_invocations() -> None:
    before = round(time.time() * 1000)
    inspector = Inspector()
    after = round(time.time() * 1000)
    assert inspector.getAttribute("version") == 0.7
    assert inspector.getAttribute("lang") == "python"
    start = inspector.getAttribute("startTime")
    assert isinstance(start, int)
    assert before <= start <= after
    init = inspector.getAttribute("initializationTime")
    assert isinstance(init, int) and init <= start  # when the module was imported
    calls = inspector.getAttribute("invocations")
    again = Inspector()
    assert again.getAttribute("invocations") == calls + 1  # per runtime process, as in SAAF
    assert again.getAttribute("initializationTime") == init


def test_newcontainer_then_warm_reuse_same_uuid(tmp_path: Path) -> None:
    stamp = tmp_path / "container-id"
    first = Inspector(container_id_path=str(stamp))
    first.inspectContainer()
    assert first.getAttribute("newcontainer") == 1
    first_uuid = first.getAttribute("uuid")
    assert str(uuid.UUID(first_uuid)) == first_uuid  # a real uuid
    assert stamp.read_text().strip() == first_uuid

    second = Inspector(container_id_path=str(stamp))
    second.inspectContainer()
    assert second.getAttribute("newcontainer") == 0
    assert second.getAttribute("uuid") == first_uuid


def test_separate_containers_get_different_uuids(tmp_path: Path) -> None:
    a = Inspector(container_id_path=str(tmp_path / "a"))
    b = Inspector(container_id_path=str(tmp_path / "b"))
    a.inspectContainer()
    b.inspectContainer()
    assert a.getAttribute("newcontainer") == b.getAttribute("newcontainer") == 1
    assert a.getAttribute("uuid") != b.getAttribute("uuid")


def test_default_container_path_is_module_constant(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stamp = tmp_path / "cid"
    monkeypatch.setattr(saaf, "CONTAINER_ID_PATH", str(stamp))
    inspector = Inspector()
    inspector.inspectContainer()
    assert stamp.read_text() == inspector.getAttribute("uuid")


def test_unwritable_container_path_does_not_raise(tmp_path: Path) -> None:
    inspector = Inspector(container_id_path=str(tmp_path / "missing-dir" / "container-id"))
    inspector.inspectContainer()
    assert inspector.getAttribute("newcontainer") == 1
    assert uuid.UUID(inspector.getAttribute("uuid"))
    assert "SAAFContainerError" in inspector.finish()


@needs_proc
def test_boot_time_is_btime_from_proc_stat(tmp_path: Path) -> None:
    inspector = Inspector(container_id_path=str(tmp_path / "cid"))
    inspector.inspectCPU()
    assert inspector.getAttribute("bootTime") == _btime()


@needs_proc
def test_cpu_deltas_after_burning_cpu_are_milliseconds(tmp_path: Path) -> None:
    inspector = Inspector(container_id_path=str(tmp_path / "cid"))
    inspector.inspectCPU()
    for name in CPU_METRICS:
        assert isinstance(inspector.getAttribute(name), float), name

    deadline = time.process_time() + 0.3
    x = 0
    while time.process_time() < deadline:
        x += 1
    inspector.inspectCPUDelta()

    deltas = {name: inspector.getAttribute(name + "Delta") for name in CPU_METRICS}
    for name, value in deltas.items():
        assert isinstance(value, float), name
        assert value >= 0, name
    # 0.3 s of CPU is ~300 ms somewhere on the host (in ms now, not ticks).
    assert deltas["cpuUser"] + deltas["cpuNice"] + deltas["cpuKernel"] >= 200
    assert x > 0


def test_cpu_delta_without_snapshot_records_error() -> None:
    inspector = Inspector()
    inspector.inspectCPUDelta()
    result = inspector.finish()
    assert "SAAFCPUDeltaError" in result
    assert "cpuUserDelta" not in result


def test_fake_proc_parsing_is_exact(fake_proc: Path, tmp_path: Path) -> None:
    tick_ms = 1000 / os.sysconf("SC_CLK_TCK")
    inspector = Inspector(container_id_path=str(tmp_path / "cid"), proc_root=str(fake_proc))
    inspector.inspectContainer()
    inspector.inspectCPUInfo()
    inspector.inspectCPU()
    inspector.inspectMemory()
    result = inspector.finish()
    assert result["bootTime"] == 1700000000
    assert result["cpuType"] == "Intel(R) Xeon(R) Processor @ 2.50GHz"
    assert result["cpuModel"] == "85"
    assert result["architecture"] == "x86"
    assert result["cpuCores"] == 2
    assert result["cpuInfo"][0]["model_name"] == "Intel(R) Xeon(R) Processor @ 2.50GHz"
    assert result["cpuInfo"][0]["flags"] == ["fpu", "vme", "sse2"]
    assert [b["processor"] for b in result["cpuInfo"]] == ["0", "1"]
    ticks = [100, 2, 30, 4000, 5, 6, 7, 8, 0, 0]
    assert [result[name] for name in CPU_METRICS] == [t * tick_ms for t in ticks]
    assert "contextSwitches" not in result and "vmuptime" not in result  # (SAAF 0.5's)
    assert result["totalMemory"] == 2048000
    assert result["freeMemory"] == 512000
    assert result["pageFaults"] == 70000
    assert result["majorPageFaults"] == 300


def test_fake_proc_deltas_are_current_minus_snapshot(fake_proc: Path) -> None:
    inspector = Inspector(proc_root=str(fake_proc))
    inspector.inspectCPU()
    inspector.inspectMemory()
    (fake_proc / "stat").write_text(
        FAKE_STAT.replace("cpu  100 2 30 4000 5 6 7 8", "cpu  110 2 33 4100 6 6 9 8").replace(
            "ctxt 9000", "ctxt 9500"
        )
    )
    (fake_proc / "vmstat").write_text(
        FAKE_VMSTAT.replace("pgfault 70000", "pgfault 70123").replace(
            "pgmajfault 300", "pgmajfault 304"
        )
    )
    inspector.inspectCPUDelta()
    inspector.inspectMemoryDelta()
    inspector.processCPUPolls()
    result = inspector.finish()
    tick_ms = 1000 / os.sysconf("SC_CLK_TCK")
    ticks = [10, 0, 3, 100, 1, 0, 2, 0, 0, 0]
    assert [result[name + "Delta"] for name in CPU_METRICS] == [t * tick_ms for t in ticks]
    first, last = result["cpuPolls"]
    assert (first["ctxt"], last["ctxt"]) == (9000, 9500)
    assert first["cpu0"]["cpuUser"] == 50 * tick_ms and first["btime"] == 1700000000
    assert last["time"] >= first["time"]
    assert result["pageFaultsDelta"] == 123
    assert result["majorPageFaultsDelta"] == 4


def test_missing_vmstat_does_not_raise(fake_proc: Path) -> None:
    (fake_proc / "vmstat").unlink()
    inspector = Inspector(proc_root=str(fake_proc))
    inspector.inspectMemory()
    inspector.inspectMemoryDelta()
    result = inspector.finish()
    assert result["totalMemory"] == 2048000
    assert "pageFaults" not in result
    assert "pageFaultsDelta" not in result
    assert result["SAAFMemoryError"] == "/proc/vmstat does not exist!"
    assert result["SAAFMemoryDeltaError"] == "/proc/vmstat does not exist!"


def test_no_proc_at_all_never_raises(tmp_path: Path, no_platform_env: None) -> None:
    inspector = Inspector(
        container_id_path=str(tmp_path / "cid"), proc_root=str(tmp_path / "nonexistent")
    )
    inspector.inspectAll()
    inspector.inspectAllDeltas()
    result = inspector.finish()
    json.dumps(result)
    for absent in ("bootTime", "cpuType", "cpuUser", "cpuUserDelta", "totalMemory", "vmID"):
        assert absent not in result, absent
    assert result["newcontainer"] == 1
    assert result["platform"] == "Unknown Platform"


def test_malformed_proc_fields_are_dropped(fake_proc: Path) -> None:
    (fake_proc / "stat").write_text("cpu  1 x 3\nctxt nope\nbtime 5\n")
    inspector = Inspector(proc_root=str(fake_proc))
    inspector.inspectCPU()
    result = inspector.finish()
    assert result["cpuUser"] == 1000 / os.sysconf("SC_CLK_TCK")
    assert "cpuNice" not in result
    assert result["cpuKernel"] == 3 * 1000 / os.sysconf("SC_CLK_TCK")
    assert "cpuIdle" not in result
    assert result["bootTime"] == 5


def test_finish_is_json_and_times_are_consistent(tmp_path: Path) -> None:
    inspector = Inspector(container_id_path=str(tmp_path / "cid"))
    inspector.inspectAll()
    time.sleep(0.05)
    inspector.inspectAllDeltas()
    result = inspector.finish()
    decoded = json.loads(json.dumps(result))
    assert decoded == result
    assert isinstance(result["runtime"], int)
    assert result["runtime"] >= 0
    assert result["endTime"] >= result["startTime"]
    assert result["runtime"] == result["endTime"] - result["startTime"]
    assert result["frameworkRuntime"] >= 0
    assert result["userRuntime"] >= 49  # the 50 ms sleep, minus ms rounding
    assert result["frameworkRuntimeDeltas"] >= 0
    assert result["runtime"] >= result["userRuntime"]


def test_finish_returns_a_copy() -> None:
    inspector = Inspector()
    result = inspector.finish()
    result["version"] = "tampered"
    assert inspector.getAttribute("version") == 0.7


def test_add_and_get_attribute_round_trip() -> None:
    inspector = Inspector()
    inspector.addAttribute("message", "hello")
    inspector.addAttribute("items", [1, 2, 3])
    assert inspector.getAttribute("message") == "hello"
    assert inspector.getAttribute("items") == [1, 2, 3]
    assert inspector.getAttribute("never-set") is None
    result = inspector.finish()
    assert result["message"] == "hello"
    assert result["items"] == [1, 2, 3]


def test_add_time_stamp_measures_from_start_or_given_time() -> None:
    inspector = Inspector()
    start = inspector.getAttribute("startTime")
    time.sleep(0.02)
    inspector.addTimeStamp("sinceStart")
    inspector.addTimeStamp("sinceLongAgo", start - 10_000)
    assert inspector.getAttribute("sinceStart") >= 19
    assert inspector.getAttribute("sinceLongAgo") >= 10_019


def test_aws_env_fields(monkeypatch: pytest.MonkeyPatch, no_platform_env: None) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "hello-fn")
    monkeypatch.setenv("AWS_LAMBDA_LOG_STREAM_NAME", "2024/01/01/[$LATEST]abcdef0123456789")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    inspector = Inspector()
    inspector.inspectPlatform()
    assert inspector.getAttribute("platform") == "AWS Lambda"
    assert inspector.getAttribute("functionName") == "hello-fn"
    assert inspector.getAttribute("containerID") == "2024/01/01/[$LATEST]abcdef0123456789"
    assert inspector.getAttribute("functionMemory") == "512"
    assert inspector.getAttribute("functionRegion") == "eu-west-1"


def test_function_name_alone_means_aws(
    monkeypatch: pytest.MonkeyPatch, no_platform_env: None
) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "only-name")
    inspector = Inspector()
    inspector.inspectPlatform()
    assert inspector.getAttribute("platform") == "AWS Lambda"
    assert inspector.getAttribute("functionName") == "only-name"
    assert inspector.getAttribute("containerID") is None


def test_unknown_platform(no_platform_env: None) -> None:
    inspector = Inspector()
    inspector.inspectPlatform()
    assert inspector.getAttribute("platform") == "Unknown Platform"
    assert inspector.getAttribute("functionName") is None


def test_vm_id_from_boot_id_then_cgroup(fake_proc: Path, no_platform_env: None) -> None:
    inspector = Inspector(proc_root=str(fake_proc))
    inspector.inspectPlatform()
    assert inspector.getAttribute("vmID") == "609cada4"

    (fake_proc / "sys" / "kernel" / "random" / "boot_id").unlink()
    fallback = Inspector(proc_root=str(fake_proc))
    fallback.inspectPlatform()
    assert fallback.getAttribute("vmID") == "0::/sandbox-abc"


@needs_proc
def test_vm_id_is_stable_on_this_machine(no_platform_env: None) -> None:
    a, b = Inspector(), Inspector()
    a.inspectPlatform()
    b.inspectPlatform()
    assert a.getAttribute("vmID")
    assert a.getAttribute("vmID") == b.getAttribute("vmID")


def test_linux_version_is_what_uname_a_prints() -> None:
    inspector = Inspector()
    inspector.inspectLinux()
    u = os.uname()
    assert inspector.getAttribute("linuxVersion") == (
        f"{u.sysname} {u.nodename} {u.release} {u.version} {u.machine} GNU/Linux"
    )
    if shutil.which("uname"):  # the same line as SAAF's `uname -a` (GNU coreutils)
        out = subprocess.run(["uname", "-a"], capture_output=True, text=True, check=True)
        assert inspector.getAttribute("linuxVersion") == out.stdout.strip()


def test_linux_version_falls_back_to_proc_version(
    fake_proc: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delattr(os, "uname")
    inspector = Inspector(proc_root=str(fake_proc))
    inspector.inspectLinux()
    assert inspector.getAttribute("linuxVersion") == (
        "Linux version 5.10.0-fake (b@h) (gcc) #1 SMP"
    )


def test_arm64_cpuinfo_as_saaf_reads_it(fake_proc: Path) -> None:
    (fake_proc / "cpuinfo").write_text(ARM_CPUINFO)
    inspector = Inspector(proc_root=str(fake_proc))
    inspector.inspectCPUInfo()
    result = inspector.finish()
    assert result["architecture"] == "arm64"
    assert result["cpuModel"] == "Neoverse-N1"
    assert result["cpuCores"] == 2
    assert "cpuType" not in result
    assert result["cpuInfo"][0]["Features"] == ["fp", "asimd", "evtstrm"]
    assert result["cpuInfo"][0]["CPU_part"] == "0xd0c"


def _lambda_env(monkeypatch: pytest.MonkeyPatch, memory: str) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "fn")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", memory)


def test_configuration_recommended_on_lambda(
    fake_proc: Path, monkeypatch: pytest.MonkeyPatch, no_platform_env: None
) -> None:
    """availableCPUs = memory / 1792 (SAAF's); utilizedCPUs = (user + kernel ms) / userRuntime;
    recommendedMemory: the memory whose CPU share covers what was used."""
    _lambda_env(monkeypatch, "3584")
    tick_ms = 1000 / os.sysconf("SC_CLK_TCK")
    inspector = Inspector(proc_root=str(fake_proc))
    inspector.inspectPlatform()
    inspector.inspectCPU()
    # 100 ms of user + kernel time over a userRuntime of 200 ms: 0.5 CPUs used of 2
    busy = round(100 / tick_ms)
    (fake_proc / "stat").write_text(FAKE_STAT.replace("cpu  100 ", f"cpu  {100 + busy} "))
    inspector.addTimeStamp("userRuntime", inspector.getAttribute("startTime") - 200)
    inspector.inspectCPUDelta()
    inspector._recommendConfiguration()
    result = inspector.finish()
    assert result["availableCPUs"] == 2.0
    user_runtime = result["userRuntime"]
    assert result["utilizedCPUs"] == round(busy * tick_ms / user_runtime, 3)
    utilized = busy * tick_ms / user_runtime
    assert result["recommendedMemory"] == round((utilized - 0.012346) / 0.000556)
    assert 128 < result["recommendedMemory"] < 3584


def test_configuration_fully_used_gets_headroom_and_bounds(
    fake_proc: Path, monkeypatch: pytest.MonkeyPatch, no_platform_env: None
) -> None:
    _lambda_env(monkeypatch, "10240")
    inspector = Inspector(proc_root=str(fake_proc))
    inspector.inspectPlatform()
    inspector.inspectCPU()
    (fake_proc / "stat").write_text(FAKE_STAT.replace("cpu  100 ", "cpu  100000000 "))
    inspector.addTimeStamp("userRuntime", inspector.getAttribute("startTime") - 1000)
    inspector.inspectCPUDelta()
    inspector._recommendConfiguration()
    assert inspector.getAttribute("recommendedMemory") == 10240  # capped at Lambda's maximum


def test_configuration_needs_cpu_delta_and_platform() -> None:
    inspector = Inspector()
    inspector.inspectAllDeltas()
    assert inspector.getAttribute("SAAFRecommendConfigurationError") == (
        "CPU, CPU Delta, and Platform must be inspected before recommending a configuration!"
    )


def test_no_configuration_off_lambda(tmp_path: Path, no_platform_env: None) -> None:
    inspector = Inspector(container_id_path=str(tmp_path / "cid"))
    inspector.inspectAll()
    inspector.inspectAllDeltas()
    result = inspector.finish()
    assert "availableCPUs" not in result and "SAAFRecommendConfigurationError" not in result


def test_inspect_all_collects_everything(tmp_path: Path, no_platform_env: None) -> None:
    inspector = Inspector(container_id_path=str(tmp_path / "cid"))
    inspector.inspectAll()
    result = inspector.finish()
    expected = {"version", "lang", "startTime", "invocations", "initializationTime"}
    expected |= {"uuid", "newcontainer", "platform", "linuxVersion", "frameworkRuntime"}
    if os.path.isfile("/proc/stat"):
        expected |= {"bootTime", *CPU_METRICS, "totalMemory", "freeMemory", "pageFaults"}
        expected |= {"architecture", "cpuCores", "cpuInfo", "cpuType", "cpuModel"}
    assert expected <= result.keys()

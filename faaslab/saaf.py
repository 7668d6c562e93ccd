"""A stdlib-only port of the SAAF Inspector (Serverless Application Analytics Framework).

SAAF (https://github.com/wlloyduw/SAAF) is the de facto way FaaS research code reports where
and how a function ran: container reuse, the host VM, CPU ticks, page faults and runtimes.
This module keeps SAAF's Python 0.5 method and attribute names so existing handlers and result
tooling work unchanged, but reads ``/proc`` directly instead of shelling out (no ``cat``/
``grep`` processes, no shell-injection surface, far less framework overhead) and never raises
when a file is missing, so a handler cannot crash because of its own instrumentation.

It is deliberately a single self-contained file: copy it next to a real AWS Lambda
``lambda_function.py`` and ``from saaf import Inspector`` works there too.

Typical use::

    inspector = Inspector()
    inspector.inspectAll()
    ...  # the function's own work
    inspector.inspectAllDeltas()
    return inspector.finish()
"""

from __future__ import annotations

import os
import time
import uuid
from typing import Any

__all__ = ["CONTAINER_ID_PATH", "SAAF_VERSION", "Inspector"]

#: Where the container's identity is stamped. ``/tmp`` survives warm starts but not cold ones,
#: which is exactly what makes the file a container-reuse detector.
CONTAINER_ID_PATH = "/tmp/container-id"

#: The SAAF release whose attribute names and semantics this port follows.
SAAF_VERSION = "0.5"

#: Fields of the aggregate ``cpu`` line of /proc/stat, in kernel order, under SAAF's names.
CPU_METRICS = (
    "cpuUsr",
    "cpuNice",
    "cpuKrn",
    "cpuIdle",
    "cpuIowait",
    "cpuIrq",
    "cpuSoftIrq",
    "vmcpusteal",
)

#: /proc/vmstat counters and the SAAF attributes they feed.
VMSTAT_METRICS = (("pgfault", "pageFaults"), ("pgmajfault", "majorPageFaults"))


def _now_ms() -> int:
    """Epoch milliseconds, rounded as SAAF does, so timestamps compare with other SAAF ports."""
    return round(time.time() * 1000)


def _read_text(path: str) -> str | None:
    """Return a file's text, or None if it cannot be read: instrumentation must never raise."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read()
    except (OSError, ValueError):
        return None


def _parse_int(text: str) -> int | None:
    """Parse an int, or None: a malformed /proc field drops one attribute, not the handler."""
    try:
        return int(text.strip())
    except ValueError:
        return None


class Inspector:
    """Collects SAAF attributes about the container, platform, CPU and memory of one call.

    Create one at the very start of a handler (its creation time is ``startTime``), call the
    ``inspect*`` methods you want, and return :meth:`finish`'s dict (or merge it into yours).
    """

    def __init__(self, *, container_id_path: str | None = None, proc_root: str = "/proc") -> None:
        """Record the start time first, so ``runtime`` covers everything after creation.

        ``container_id_path`` (default :data:`CONTAINER_ID_PATH`, read at call time) and
        ``proc_root`` exist so tests can point the inspector at fake files.
        """
        self._startTime = _now_ms()
        self._container_id_path = (
            container_id_path if container_id_path is not None else CONTAINER_ID_PATH
        )
        self._proc = proc_root.rstrip("/") or "/"
        self._attributes: dict[str, Any] = {
            "version": SAAF_VERSION,
            "lang": "python",
            "startTime": self._startTime,
        }
        self._inspectedCPU = False
        self._inspectedMemory = False

    # ------------------------------------------------------------------ helpers

    def _proc_path(self, name: str) -> str:
        """Path of a file under the (possibly faked) /proc root."""
        return os.path.join(self._proc, name)

    def _read_proc(self, name: str) -> str | None:
        """Read a /proc file, or None when it is absent (gVisor, macOS, locked-down sandboxes)."""
        return _read_text(self._proc_path(name))

    def _proc_stat(self) -> tuple[dict[str, int], int | None, int | None]:
        """Parse /proc/stat into (aggregate cpu counters, ctxt, btime); missing parts are empty."""
        cpu: dict[str, int] = {}
        ctxt: int | None = None
        btime: int | None = None
        text = self._read_proc("stat")
        if text is None:
            return cpu, ctxt, btime
        for line in text.splitlines():
            fields = line.split()
            if not fields:
                continue
            key = fields[0]
            if key == "cpu" and not cpu:
                for index, name in enumerate(CPU_METRICS, start=1):
                    if index >= len(fields):
                        break
                    value = _parse_int(fields[index])
                    if value is not None:
                        cpu[name] = value
            elif key == "ctxt" and len(fields) > 1:
                ctxt = _parse_int(fields[1])
            elif key == "btime" and len(fields) > 1:
                btime = _parse_int(fields[1])
        return cpu, ctxt, btime

    def _vmstat(self) -> dict[str, int] | None:
        """Read SAAF's page-fault counters from /proc/vmstat, or None if the file is missing.

        Keys are matched exactly (SAAF's substring match misses ``pgmajfault``).
        """
        text = self._read_proc("vmstat")
        if text is None:
            return None
        wanted = dict(VMSTAT_METRICS)
        found: dict[str, int] = {}
        for line in text.splitlines():
            fields = line.split()
            if len(fields) >= 2 and fields[0] in wanted:
                value = _parse_int(fields[1])
                if value is not None:
                    found[wanted[fields[0]]] = value
        return found

    def _vm_id(self) -> str | None:
        """A stable identifier of the (micro)VM hosting this container.

        SAAF sliced characters out of the ``cpu`` line of ``/proc/self/cgroup``, which only
        ever identified hosts on the pre-Firecracker Lambda fleet. Here the kernel boot id
        (``/proc/sys/kernel/random/boot_id``, fixed for the life of a kernel, i.e. of a VM) is
        used, shortened to its first 8 hex digits; if it is unreadable the first line of
        ``/proc/self/cgroup`` (what SAAF reads) is used verbatim. Containers on one VM thus share
        a vmID. On Lambda each environment is its own microVM, and so it is in faaslab: each
        environment sees a boot id of its own (bound over the kernel's).
        """
        boot_id = self._read_proc("sys/kernel/random/boot_id")
        if boot_id is not None:
            digits = boot_id.strip().replace("-", "")
            if digits:
                return digits[:8]
        cgroup = self._read_proc("self/cgroup")
        if cgroup is not None:
            lines = cgroup.splitlines()
            if lines and lines[0].strip():
                return lines[0].strip()
        return None

    # ---------------------------------------------------------------- inspectors

    def inspectContainer(self) -> None:
        """Detect container reuse: ``uuid``, ``newcontainer`` (1 = cold start) and ``vmuptime``.

        The first call in a fresh container stamps a uuid4 into the container-id file; later
        (warm) invocations find it and report ``newcontainer`` = 0 with the same ``uuid``.
        ``vmuptime`` is the VM's boot time (``btime`` of /proc/stat, epoch seconds): in faaslab,
        as on Lambda, the environment's start (a time namespace per environment).
        """
        path = self._container_id_path
        my_uuid = ""
        new_container = 1
        existing = _read_text(path) if os.path.isfile(path) else None
        if existing is not None and existing.strip():
            my_uuid = existing.strip().splitlines()[0]
            new_container = 0
        else:
            my_uuid = str(uuid.uuid4())
            try:
                with open(path, "w", encoding="utf-8") as fh:
                    fh.write(my_uuid)
            except OSError:
                # Unwritable /tmp: still report a cold container, just not a reusable stamp.
                self._attributes["SAAFContainerError"] = f"cannot write {path}"
        self._attributes["uuid"] = my_uuid
        self._attributes["newcontainer"] = new_container

        _, _, btime = self._proc_stat()
        if btime is not None:
            self._attributes["vmuptime"] = btime

    def inspectCPU(self) -> None:
        """Snapshot CPU identity and counters; :meth:`inspectCPUDelta` reports the change.

        ``cpuType``/``cpuModel`` come from the first ``model name``/``model`` lines of
        /proc/cpuinfo (absent on e.g. ARM, where they are left out). The tick counters are the
        aggregate ``cpu`` line of /proc/stat (USER_HZ ticks, host-wide), plus ``ctxt``.
        """
        self._inspectedCPU = True
        cpuinfo = self._read_proc("cpuinfo")
        if cpuinfo is not None:
            wanted = {"model name": "cpuType", "model": "cpuModel"}
            found: dict[str, str] = {}
            for line in cpuinfo.splitlines():
                key, sep, value = line.partition(":")
                name = wanted.get(key.strip()) if sep else None
                if name is not None and name not in found:
                    found[name] = value.strip()
            self._attributes.update(found)
        cpu, ctxt, _ = self._proc_stat()
        self._attributes.update(cpu)
        if ctxt is not None:
            self._attributes["contextSwitches"] = ctxt

    def inspectCPUDelta(self) -> None:
        """Add ``<metric>Delta`` = now minus the :meth:`inspectCPU` snapshot, per CPU counter.

        Must follow :meth:`inspectCPU`; otherwise SAAF's ``SAAFCPUDeltaError`` is recorded.
        """
        if not self._inspectedCPU:
            self._attributes["SAAFCPUDeltaError"] = "CPU not inspected before collecting deltas!"
            return
        cpu, ctxt, _ = self._proc_stat()
        for name, value in cpu.items():
            before = self._attributes.get(name)
            if isinstance(before, int):
                self._attributes[name + "Delta"] = value - before
        before_ctxt = self._attributes.get("contextSwitches")
        if ctxt is not None and isinstance(before_ctxt, int):
            self._attributes["contextSwitchesDelta"] = ctxt - before_ctxt

    def inspectMemory(self) -> None:
        """Record ``totalMemory``/``freeMemory`` (kB, /proc/meminfo) and page-fault counters.

        ``pageFaults``/``majorPageFaults`` are host-wide totals since boot from /proc/vmstat;
        if that file is missing SAAF's ``SAAFMemoryError`` is recorded instead.
        """
        self._inspectedMemory = True
        meminfo = self._read_proc("meminfo")
        if meminfo is not None:
            names = {"MemTotal": "totalMemory", "MemFree": "freeMemory"}
            for line in meminfo.splitlines():
                key, sep, value = line.partition(":")
                if sep and key in names:
                    parsed = _parse_int(value.replace("kB", ""))
                    if parsed is not None:
                        self._attributes[names[key]] = parsed
        vmstat = self._vmstat()
        if vmstat is None:
            self._attributes["SAAFMemoryError"] = "/proc/vmstat does not exist!"
        else:
            self._attributes.update(vmstat)

    def inspectMemoryDelta(self) -> None:
        """Add ``pageFaultsDelta``/``majorPageFaultsDelta`` since :meth:`inspectMemory`."""
        if not self._inspectedMemory:
            self._attributes["SAAFMemoryDeltaError"] = (
                "Memory not inspected before collecting deltas!"
            )
            return
        vmstat = self._vmstat()
        if vmstat is None:
            self._attributes["SAAFMemoryDeltaError"] = "/proc/vmstat does not exist!"
            return
        for name, value in vmstat.items():
            before = self._attributes.get(name)
            if isinstance(before, int):
                self._attributes[name + "Delta"] = value - before

    def inspectPlatform(self) -> None:
        """Identify the FaaS platform and function from the environment, as SAAF does.

        On AWS Lambda (``AWS_LAMBDA_FUNCTION_NAME`` or ``AWS_LAMBDA_LOG_STREAM_NAME`` set, as
        faaslab also sets them) ``containerID`` is the log stream name (one per execution
        environment) and ``functionMemory`` is the env string, exactly as SAAF reports it.
        Google, IBM and Azure are recognised by their env vars; anything else is
        ``"Unknown Platform"``. ``vmID`` is added wherever it can be determined.
        """
        env = os.environ
        attrs = self._attributes
        if "AWS_LAMBDA_FUNCTION_NAME" in env or "AWS_LAMBDA_LOG_STREAM_NAME" in env:
            attrs["platform"] = "AWS Lambda"
            attrs["containerID"] = env.get("AWS_LAMBDA_LOG_STREAM_NAME")
            attrs["functionName"] = env.get("AWS_LAMBDA_FUNCTION_NAME")
            attrs["functionMemory"] = env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
            attrs["functionRegion"] = env.get("AWS_REGION")
        elif "X_GOOGLE_FUNCTION_NAME" in env:
            attrs["platform"] = "Google Cloud Functions"
            attrs["functionName"] = env.get("X_GOOGLE_FUNCTION_NAME")
            attrs["functionMemory"] = env.get("X_GOOGLE_FUNCTION_MEMORY_MB")
            attrs["functionRegion"] = env.get("X_GOOGLE_FUNCTION_REGION")
        elif "__OW_ACTION_NAME" in env:
            attrs["platform"] = "IBM Cloud Functions"
            attrs["functionName"] = env.get("__OW_ACTION_NAME")
            attrs["functionRegion"] = env.get("__OW_API_HOST")
        elif "CONTAINER_NAME" in env:
            attrs["platform"] = "Azure Functions"
            attrs["containerID"] = env.get("CONTAINER_NAME")
            attrs["functionName"] = env.get("WEBSITE_SITE_NAME")
            attrs["functionRegion"] = env.get("Location")
        else:
            attrs["platform"] = "Unknown Platform"
        vm_id = self._vm_id()
        if vm_id is not None:
            attrs["vmID"] = vm_id

    def inspectLinux(self) -> None:
        """Record ``linuxVersion``, the kernel release (``uname -r``), for cross-host analysis."""
        release: str | None = None
        uname = getattr(os, "uname", None)
        if uname is not None:
            release = uname().release
        if not release:
            version = self._read_proc("version")
            if version is not None:
                # "Linux version 5.10.0-... (builder@host) ..." -> "5.10.0-..."
                fields = version.split()
                if len(fields) >= 3 and fields[1] == "version":
                    release = fields[2]
        if release:
            self._attributes["linuxVersion"] = release

    def inspectAll(self) -> None:
        """Run every inspector, then stamp ``frameworkRuntime`` (ms spent so far in SAAF)."""
        self.inspectContainer()
        self.inspectPlatform()
        self.inspectLinux()
        self.inspectMemory()
        self.inspectCPU()
        self.addTimeStamp("frameworkRuntime")

    def inspectAllDeltas(self) -> None:
        """Collect all deltas; separates ``userRuntime`` from the framework's own time.

        ``userRuntime`` is ms from the end of :meth:`inspectAll` to now (the handler's own
        work); ``frameworkRuntimeDeltas`` is the ms spent collecting the deltas.
        """
        framework = self._attributes.get("frameworkRuntime")
        if isinstance(framework, int):
            self.addTimeStamp("userRuntime", self._startTime + framework)
        delta_start = _now_ms()
        self.inspectCPUDelta()
        self.inspectMemoryDelta()
        self.addTimeStamp("frameworkRuntimeDeltas", delta_start)

    # ----------------------------------------------------------------- attributes

    def addAttribute(self, key: str, value: Any) -> None:
        """Add a custom attribute to the output (keep it JSON-serialisable)."""
        self._attributes[key] = value

    def getAttribute(self, key: str) -> Any:
        """Return an attribute, or None if unset (as the Java SAAF does) rather than raising."""
        return self._attributes.get(key)

    def addTimeStamp(self, key: str, timeStamp: int | None = None) -> None:
        """Set ``key`` to the ms elapsed since ``timeStamp`` (epoch ms; default ``startTime``)."""
        since = self._startTime if timeStamp is None else timeStamp
        self._attributes[key] = _now_ms() - since

    def finish(self) -> dict[str, Any]:
        """Stamp ``runtime`` and ``endTime`` and return a copy of all attributes as a dict."""
        end = _now_ms()
        self._attributes["runtime"] = end - self._startTime
        self._attributes["endTime"] = end
        return dict(self._attributes)

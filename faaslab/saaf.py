"""A stdlib-only port of the SAAF Inspector (Serverless Application Analytics Framework).

SAAF (https://github.com/wlloyduw/SAAF) is the de facto way FaaS research code reports where
and how a function ran: container reuse, the host VM, CPU time, page faults and runtimes.
This module follows SAAF 0.7's Python Inspector: its method names, attribute names and units
(CPU times in milliseconds, ``architecture``, ``cpuCores``, ``cpuInfo``, ``bootTime``,
``invocations``, ``availableCPUs`` ...), so handlers and result tooling written for SAAF work
unchanged. It reads ``/proc`` directly instead of shelling out (no ``cat``/``grep``/``uname``
processes, no shell-injection surface, less framework overhead) and never raises when a file
is missing, so a handler cannot crash because of its own instrumentation.

It is deliberately a single self-contained file: copy it next to a real AWS Lambda
``lambda_function.py`` and ``from saaf import Inspector`` works there too.

Typical use::

    inspector = Inspector()
    inspector.inspectAll()
    ...  # the function's own work
    inspector.inspectAllDeltas()
    return inspector.finish()

Attributes and units (SAAF 0.7):

- constructor: ``version`` (0.7, a number), ``lang`` ("python"), ``startTime`` (epoch ms),
  ``invocations`` (calls of this runtime process, 1 on a cold start), ``initializationTime``
  (epoch ms at which the module was imported: the runtime's init);
- :meth:`inspectContainer`: ``uuid``, ``newcontainer`` (1 = first call in this container);
- :meth:`inspectCPUInfo`: ``cpuType`` (model name), ``cpuModel``, ``architecture`` ("x86" or
  "arm64", SAAF's values), ``cpuCores`` (processors listed), ``cpuInfo`` (one dict per
  processor of /proc/cpuinfo, keys with ``_`` for spaces, ``flags``/``bugs``/``Features``
  as lists);
- :meth:`inspectCPU`: ``cpuUser``, ``cpuNice``, ``cpuKernel``, ``cpuIdle``, ``cpuIOWait``,
  ``cpuIrq``, ``cpuSoftIrq``, ``cpuSteal``, ``cpuGuest``, ``cpuGuestNice``: the ``cpu`` line
  of /proc/stat, summed over all CPUs, in ms (ticks x 1000 / CLK_TCK, a float as in SAAF);
  ``bootTime`` (``btime``, epoch seconds);
- :meth:`inspectCPUDelta`: the same ten names + ``Delta`` (ms since :meth:`inspectCPU`);
  :meth:`processCPUPolls`: ``cpuPolls`` (every poll: ``time`` ms, ``cpuTotal`` and ``cpuN``
  dicts of the ten metrics in ms, and the other /proc/stat counters);
- :meth:`inspectMemory`: ``totalMemory``, ``freeMemory`` (kB), ``pageFaults``,
  ``majorPageFaults`` (counts since boot); :meth:`inspectMemoryDelta`: ``pageFaultsDelta``,
  ``majorPageFaultsDelta``;
- :meth:`inspectPlatform`: ``platform``, ``containerID``, ``functionName``,
  ``functionMemory`` (a string, as in the environment), ``functionRegion``, ``vmID``;
- :meth:`inspectLinux`: ``linuxVersion`` (what ``uname -a`` prints);
- :meth:`inspectAll`: ``frameworkRuntime`` (ms); :meth:`inspectAllDeltas`: ``userRuntime``,
  ``frameworkRuntimeDeltas`` (ms) and, on AWS Lambda, ``availableCPUs`` (functionMemory /
  1792), ``utilizedCPUs`` ((cpuUserDelta + cpuKernelDelta) / userRuntime) and
  ``recommendedMemory`` (MB);
- :meth:`finish`: ``runtime`` (ms since ``startTime``), ``endTime`` (epoch ms).

Where this port differs from SAAF 0.7's code, deliberately: ``majorPageFaults`` is read (SAAF
looks for ``mgmajfault`` and never finds it); ``vmID`` comes from the kernel's boot id (SAAF's
slice of /proc/self/cgroup identified hosts only on the pre-Firecracker fleet);
``recommendedMemory`` is the memory whose CPU share covers the utilised CPUs (SAAF's formula
multiplies where it means to divide, and always answers 128); :meth:`getAttribute` answers
None for an unset attribute instead of raising. Renamed since SAAF 0.5: cpuUsr -> cpuUser,
cpuKrn -> cpuKernel, cpuIowait -> cpuIOWait, vmcpusteal -> cpuSteal, vmuptime -> bootTime;
ticks became ms; contextSwitches is no longer an attribute (it is in ``cpuPolls``).
"""

from __future__ import annotations

import os
import time
import uuid
from typing import Any

__all__ = ["CONTAINER_ID_PATH", "CPU_METRICS", "SAAF_VERSION", "Inspector"]

#: Where the container's identity is stamped. ``/tmp`` survives warm starts but not cold ones,
#: which is exactly what makes the file a container-reuse detector.
CONTAINER_ID_PATH = "/tmp/container-id"

#: The SAAF release whose attribute names and units this port follows.
SAAF_VERSION = 0.7

#: Fields of a ``cpu`` line of /proc/stat, in kernel order, under SAAF 0.7's names.
CPU_METRICS = (
    "cpuUser",
    "cpuNice",
    "cpuKernel",
    "cpuIdle",
    "cpuIOWait",
    "cpuIrq",
    "cpuSoftIrq",
    "cpuSteal",
    "cpuGuest",
    "cpuGuestNice",
)

#: /proc/vmstat counters and the SAAF attributes they feed.
VMSTAT_METRICS = (("pgfault", "pageFaults"), ("pgmajfault", "majorPageFaults"))

#: SAAF's memory per vCPU on Lambda (MB), for ``availableCPUs``.
MB_PER_VCPU = 1792
#: Lambda's CPU share per MB (vCPUs = SHARE_PER_MB x MB + SHARE_OFFSET), SAAF's constants.
SHARE_PER_MB = 0.000556
SHARE_OFFSET = 0.012346
MEMORY_MIN_MB, MEMORY_MAX_MB = 128, 10240


def _now_ms() -> int:
    """Epoch milliseconds, rounded as SAAF does, so timestamps compare with other SAAF ports."""
    return round(time.time() * 1000)


def _ticks_per_second() -> int:
    """USER_HZ (CLK_TCK), what SAAF asks ``getconf CLK_TCK`` for; 100 where unknown."""
    try:
        value = os.sysconf("SC_CLK_TCK")
    except (AttributeError, ValueError, OSError):
        return 100
    return value if value > 0 else 100


#: Calls of this runtime process so far (a module global survives warm starts, as in SAAF).
_invocations = 0
#: When this runtime process imported the module: its initialisation, epoch ms.
_initialization_time = _now_ms()
_MS_PER_TICK = 1000 / _ticks_per_second()


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


def _parse_cpuinfo(text: str) -> list[dict[str, Any]]:
    """/proc/cpuinfo as SAAF keeps it: a dict per block (one per processor, plus trailing
    machine-wide lines on ARM), keys with underscores for spaces, flag lists split."""
    blocks: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    for line in [*text.splitlines(), ""]:
        key, sep, value = line.partition(":")
        if not sep:
            if current:
                blocks.append(current)
                current = {}
            continue
        name = key.strip().replace(" ", "_")
        stripped = value.strip()
        current[name] = stripped.split() if name in ("flags", "bugs", "Features") else stripped
    return blocks


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
        global _invocations
        _invocations += 1
        self._startTime = _now_ms()
        self._container_id_path = (
            container_id_path if container_id_path is not None else CONTAINER_ID_PATH
        )
        self._proc = proc_root.rstrip("/") or "/"
        self._attributes: dict[str, Any] = {
            "version": SAAF_VERSION,
            "lang": "python",
            "startTime": self._startTime,
            "invocations": _invocations,
            "initializationTime": _initialization_time,
        }
        self._cpuPolls: list[dict[str, Any]] = []
        self._inspectedCPU = False
        self._inspectedCPUDelta = False
        self._inspectedMemory = False
        self._inspectedPlatform = False

    # ------------------------------------------------------------------ helpers

    def _read_proc(self, name: str) -> str | None:
        """Read a /proc file, or None when it is absent (gVisor, macOS, locked-down sandboxes)."""
        return _read_text(os.path.join(self._proc, name))

    def _vmstat(self) -> dict[str, int] | None:
        """SAAF's page-fault counters from /proc/vmstat, or None if the file is missing
        (keys matched exactly: SAAF's substring match never finds ``pgmajfault``)."""
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

        The kernel boot id (``/proc/sys/kernel/random/boot_id``, fixed for the life of a
        kernel, i.e. of a VM), its first 8 hex digits; if it is unreadable the first line of
        ``/proc/self/cgroup`` (what SAAF reads) verbatim. Containers on one VM thus share a
        vmID. On Lambda each environment is its own microVM, and so it is in faaslab: each
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
        """Detect container reuse: ``uuid`` and ``newcontainer`` (1 = cold start).

        The first call in a fresh container stamps a uuid4 into the container-id file; later
        (warm) invocations find it and report ``newcontainer`` = 0 with the same ``uuid``.
        """
        path = self._container_id_path
        existing = _read_text(path) if os.path.isfile(path) else None
        if existing is not None and existing.strip():
            my_uuid, new_container = existing.strip().splitlines()[0], 0
        else:
            my_uuid, new_container = str(uuid.uuid4()), 1
            try:
                with open(path, "w", encoding="utf-8") as fh:
                    fh.write(my_uuid)
            except OSError:
                # Unwritable /tmp: still report a cold container, just not a reusable stamp.
                self._attributes["SAAFContainerError"] = f"cannot write {path}"
        self._attributes["uuid"] = my_uuid
        self._attributes["newcontainer"] = new_container

    def inspectCPUInfo(self) -> None:
        """``cpuType``, ``cpuModel``, ``architecture``, ``cpuCores`` and ``cpuInfo`` from
        /proc/cpuinfo. x86 lists a ``model name`` per processor; ARM (Graviton) does not,
        and its ``Model``, if any, is in the last block, as SAAF reads it."""
        text = self._read_proc("cpuinfo")
        if text is None:
            return
        blocks = _parse_cpuinfo(text)
        if not blocks:
            return
        attrs = self._attributes
        if "model_name" in blocks[0]:
            attrs["cpuType"] = blocks[0]["model_name"]
            if "model" in blocks[0]:
                attrs["cpuModel"] = blocks[0]["model"]
            attrs["architecture"] = "x86"
        else:
            if "Model" in blocks[-1]:
                attrs["cpuModel"] = blocks[-1]["Model"]
            attrs["architecture"] = "arm64"
        attrs["cpuCores"] = sum(1 for block in blocks if "processor" in block)
        attrs["cpuInfo"] = blocks

    def pollCPUStats(self) -> None:
        """Append one reading of /proc/stat to the polls: ``time`` (epoch ms), each ``cpu``
        line as a dict of :data:`CPU_METRICS` in ms (``cpuTotal`` for the sum of all CPUs),
        and each other line's first number (``ctxt``, ``btime``, ``processes`` ...)."""
        data: dict[str, Any] = {"time": _now_ms()}
        text = self._read_proc("stat")
        for line in (text or "").splitlines():
            fields = line.split()
            if not fields:
                continue
            title = "cpuTotal" if fields[0] == "cpu" else fields[0]
            if title.startswith("cpu"):
                stats: dict[str, float] = {}
                for name, raw in zip(CPU_METRICS, fields[1:], strict=False):
                    value = _parse_int(raw)
                    if value is not None:
                        stats[name] = value * _MS_PER_TICK
                data[title] = stats
            elif len(fields) >= 2:
                value = _parse_int(fields[1])
                if value is not None:
                    data[title] = value
        self._cpuPolls.append(data)

    def inspectCPU(self) -> None:
        """Poll /proc/stat: the ten CPU times of all CPUs (ms since boot) and ``bootTime``."""
        self._inspectedCPU = True
        self.pollCPUStats()
        first = self._cpuPolls[0]
        self._attributes.update(first.get("cpuTotal", {}))
        if "btime" in first:
            self._attributes["bootTime"] = first["btime"]

    def inspectCPUDelta(self) -> None:
        """Poll again and add ``<metric>Delta``: ms of each CPU time since :meth:`inspectCPU`.

        Must follow :meth:`inspectCPU`; otherwise SAAF's ``SAAFCPUDeltaError`` is recorded.
        """
        if not self._inspectedCPU:
            self._attributes["SAAFCPUDeltaError"] = "CPU not inspected before collecting deltas!"
            return
        self._inspectedCPUDelta = True
        self.pollCPUStats()
        first = self._cpuPolls[0].get("cpuTotal", {})
        last = self._cpuPolls[-1].get("cpuTotal", {})
        for name in CPU_METRICS:
            if name in first and name in last:
                self._attributes[name + "Delta"] = last[name] - first[name]

    def processCPUPolls(self) -> None:
        """Add every /proc/stat poll so far as ``cpuPolls``."""
        self._attributes["cpuPolls"] = self._cpuPolls

    def inspectMemory(self) -> None:
        """Record ``totalMemory``/``freeMemory`` (kB, /proc/meminfo) and page-fault counters.

        ``pageFaults``/``majorPageFaults`` are totals since boot from /proc/vmstat; if that
        file is missing SAAF's ``SAAFMemoryError`` is recorded instead.
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
        Google, IBM, Azure and OpenFaaS are recognised by their env vars; anything else is
        ``"Unknown Platform"``. ``vmID`` is added wherever it can be determined.
        """
        self._inspectedPlatform = True
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
        elif "KUBERNETES_SERVICE_PORT_HTTPS" in env:
            attrs["platform"] = "OpenFaaS EKS"
            attrs["http_host"] = env.get("Http_Host")
            attrs["http_foward"] = env.get("Http_X_Forwarded_For")  # (SAAF's spelling)
            attrs["http_start_time"] = env.get("Http_X_Start_Time")
            attrs["host_name"] = env.get("HOSTNAME")
        else:
            attrs["platform"] = "Unknown Platform"
        vm_id = self._vm_id()
        if vm_id is not None:
            attrs["vmID"] = vm_id

    def inspectLinux(self) -> None:
        """Record ``linuxVersion``, what ``uname -a`` prints (kernel name, host, release,
        version, machine, "GNU/Linux"); /proc/version where ``os.uname`` is missing."""
        uname = getattr(os, "uname", None)
        if uname is not None:
            u = uname()
            self._attributes["linuxVersion"] = (
                f"{u.sysname} {u.nodename} {u.release} {u.version} {u.machine} GNU/Linux"
            )
            return
        version = self._read_proc("version")
        if version is not None and version.strip():
            self._attributes["linuxVersion"] = version.strip()

    def _recommendConfiguration(self) -> None:
        """On AWS Lambda: ``availableCPUs`` (the function's CPU share), ``utilizedCPUs`` (CPU
        time used per ms of the handler's own runtime) and ``recommendedMemory``, the memory
        whose share covers what was used (10% headroom when the share was all used)."""
        attrs = self._attributes
        if not (self._inspectedPlatform and self._inspectedCPUDelta):
            attrs["SAAFRecommendConfigurationError"] = (
                "CPU, CPU Delta, and Platform must be inspected before recommending a "
                "configuration!"
            )
            return
        if attrs.get("platform") != "AWS Lambda":
            return
        try:
            available = int(attrs["functionMemory"]) / MB_PER_VCPU
            utilized = (attrs["cpuUserDelta"] + attrs["cpuKernelDelta"]) / attrs["userRuntime"]
        except (KeyError, TypeError, ValueError, ZeroDivisionError) as e:
            attrs["SAAFRecommendConfigurationError"] = f"Unable to recommend a configuration. {e}"
            return
        attrs["availableCPUs"] = round(available, 3)
        attrs["utilizedCPUs"] = round(utilized, 3)
        wanted = available * 1.1 if available - utilized < 0.1 else utilized
        memory = round((wanted - SHARE_OFFSET) / SHARE_PER_MB)
        attrs["recommendedMemory"] = min(max(memory, MEMORY_MIN_MB), MEMORY_MAX_MB)

    def inspectAll(self) -> None:
        """Run every inspector, then stamp ``frameworkRuntime`` (ms spent so far in SAAF)."""
        self.inspectContainer()
        self.inspectCPUInfo()
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
        self._recommendConfiguration()
        self.addTimeStamp("frameworkRuntimeDeltas", delta_start)

    # ----------------------------------------------------------------- attributes

    def addAttribute(self, key: str, value: Any) -> None:
        """Add a custom attribute to the output (keep it JSON-serialisable)."""
        self._attributes[key] = value

    def getAttribute(self, key: str) -> Any:
        """Return an attribute, or None if unset (as the Java SAAF does) rather than raising."""
        return self._attributes.get(key)

    def addTimeStamp(self, key: str, timeSince: int | None = None) -> None:
        """Set ``key`` to the ms elapsed since ``timeSince`` (epoch ms; default ``startTime``)."""
        since = self._startTime if timeSince is None else timeSince
        self._attributes[key] = _now_ms() - since

    def finish(self) -> dict[str, Any]:
        """Stamp ``runtime`` and ``endTime`` and return a copy of all attributes as a dict."""
        end = _now_ms()
        self._attributes["runtime"] = end - self._startTime
        self._attributes["endTime"] = end
        return dict(self._attributes)

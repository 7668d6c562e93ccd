package saaf;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.List;
import java.util.UUID;

/**
 * A SAAF Inspector for Java functions (Serverless Application Analytics Framework,
 * https://github.com/wlloyduw/SAAF), written for faaslab with SAAF 0.7's attribute names and
 * units, so its output compares with SAAF's Python and Node.js inspectors:
 * CPU times in milliseconds (cpuUser, cpuKernel, ... and their Deltas), bootTime,
 * architecture, cpuCores, availableCPUs, invocations, initializationTime.
 *
 * It reads /proc directly (no `cat` or `uname` processes) and never throws: a file that is
 * missing costs an attribute, not the call. Standard library only, so it runs on AWS too.
 *
 * <pre>
 * Inspector inspector = new Inspector();
 * inspector.inspectAll();
 * ... the function's own work ...
 * inspector.inspectAllDeltas();
 * return inspector.finish();
 * </pre>
 */
public class Inspector {
    public static final double VERSION = 0.7;
    static final String CONTAINER_ID = "/tmp/container-id";
    /** USER_HZ: /proc/stat counts CPU time in ticks of 1/100 s on Linux. */
    static final int TICKS_PER_SECOND = 100;
    static final String[] CPU_METRICS = {"cpuUser", "cpuNice", "cpuKernel", "cpuIdle", "cpuIOWait",
        "cpuIrq", "cpuSoftIrq", "cpuSteal", "cpuGuest", "cpuGuestNice"};

    /** Calls of the Inspector in this container (SAAF's `invocations`). */
    private static int invocations = 0;
    /** When this class was loaded: the container's initialisation (`initializationTime`). */
    private static final long INITIALIZATION_TIME = System.currentTimeMillis();

    private final HashMap<String, Object> attributes = new HashMap<>();
    private final long startTime;
    private long[] cpuBefore;
    private Long pageFaultsBefore;
    private Long majorPageFaultsBefore;
    private boolean inspectedPlatform;
    private boolean inspectedCPUDelta;

    public Inspector() {
        synchronized (Inspector.class) {
            invocations++;
            attributes.put("invocations", invocations);
        }
        startTime = System.currentTimeMillis();
        attributes.put("version", VERSION);
        attributes.put("lang", "java");
        attributes.put("startTime", startTime);
        attributes.put("initializationTime", INITIALIZATION_TIME);
    }

    /** uuid, newcontainer: a container stamps /tmp/container-id on its first call. */
    public void inspectContainer() {
        Path stamp = Paths.get(CONTAINER_ID);
        String uuid;
        int newContainer;
        try {
            uuid = new String(Files.readAllBytes(stamp), StandardCharsets.US_ASCII).trim();
            newContainer = 0;
        } catch (IOException missing) {
            uuid = UUID.randomUUID().toString();
            newContainer = 1;
            try {
                Files.write(stamp, uuid.getBytes(StandardCharsets.US_ASCII),
                        StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
            } catch (IOException e) {
                attributes.put("SAAFContainerError", "cannot write " + CONTAINER_ID + ": " + e);
            }
        }
        attributes.put("uuid", uuid);
        attributes.put("newcontainer", newContainer);
    }

    /** cpuType, cpuModel, architecture, cpuCores (the processors /proc/cpuinfo lists). */
    public void inspectCPUInfo() {
        String info = read("/proc/cpuinfo");
        if (info == null) {
            attributes.put("SAAFCPUInfoError", "/proc/cpuinfo does not exist!");
            return;
        }
        int cores = 0;
        String modelName = null;
        String model = null;
        String armModel = null;
        for (String line : info.split("\n")) {
            int colon = line.indexOf(':');
            if (colon < 0) {
                continue;
            }
            String key = line.substring(0, colon).trim();
            String value = line.substring(colon + 1).trim();
            if (key.equals("processor")) {
                cores++;
            } else if (key.equals("model name") && modelName == null) {
                modelName = value;
            } else if (key.equals("model") && model == null) {
                model = value;
            } else if (key.equals("Model")) {
                armModel = value;
            }
        }
        if (modelName != null) {
            attributes.put("cpuType", modelName);
            attributes.put("cpuModel", model);
            attributes.put("architecture", "x86");
        } else {
            if (armModel != null) {
                attributes.put("cpuModel", armModel);
            }
            attributes.put("architecture", "arm64");
        }
        attributes.put("cpuCores", cores);
    }

    /** CPU times since boot in ms (cpuUser ... cpuGuestNice), contextSwitches, bootTime. */
    public void inspectCPU() {
        cpuBefore = cpuTimes();
        if (cpuBefore == null) {
            attributes.put("SAAFCPUError", "/proc/stat does not exist!");
            return;
        }
        for (int i = 0; i < CPU_METRICS.length; i++) {
            attributes.put(CPU_METRICS[i], cpuBefore[i]);
        }
        String stat = read("/proc/stat");
        Long ctxt = field(stat, "ctxt");
        if (ctxt != null) {
            attributes.put("contextSwitches", ctxt);
        }
        Long btime = field(stat, "btime");
        if (btime != null) {
            attributes.put("bootTime", btime);
        }
    }

    /** The CPU times spent since inspectCPU, in ms (cpuUserDelta, ...). */
    public void inspectCPUDelta() {
        if (cpuBefore == null) {
            attributes.put("SAAFCPUDeltaError", "CPU not inspected before collecting deltas!");
            return;
        }
        long[] now = cpuTimes();
        if (now == null) {
            return;
        }
        inspectedCPUDelta = true;
        for (int i = 0; i < CPU_METRICS.length; i++) {
            attributes.put(CPU_METRICS[i] + "Delta", now[i] - cpuBefore[i]);
        }
        Long ctxt = field(read("/proc/stat"), "ctxt");
        Object before = attributes.get("contextSwitches");
        if (ctxt != null && before instanceof Long) {
            attributes.put("contextSwitchesDelta", ctxt - (Long) before);
        }
    }

    /** totalMemory, freeMemory (kB, /proc/meminfo), pageFaults, majorPageFaults. */
    public void inspectMemory() {
        String meminfo = read("/proc/meminfo");
        if (meminfo != null) {
            Long total = field(meminfo, "MemTotal:");
            Long free = field(meminfo, "MemFree:");
            if (total != null) {
                attributes.put("totalMemory", total);
            }
            if (free != null) {
                attributes.put("freeMemory", free);
            }
        }
        String vmstat = read("/proc/vmstat");
        if (vmstat == null) {
            attributes.put("SAAFMemoryError", "/proc/vmstat does not exist!");
            return;
        }
        pageFaultsBefore = field(vmstat, "pgfault");
        majorPageFaultsBefore = field(vmstat, "pgmajfault");
        if (pageFaultsBefore != null) {
            attributes.put("pageFaults", pageFaultsBefore);
        }
        if (majorPageFaultsBefore != null) {
            attributes.put("majorPageFaults", majorPageFaultsBefore);
        }
    }

    /** pageFaultsDelta, majorPageFaultsDelta since inspectMemory. */
    public void inspectMemoryDelta() {
        if (pageFaultsBefore == null && majorPageFaultsBefore == null) {
            attributes.put("SAAFMemoryDeltaError", "Memory not inspected before collecting deltas!");
            return;
        }
        String vmstat = read("/proc/vmstat");
        Long faults = field(vmstat, "pgfault");
        Long major = field(vmstat, "pgmajfault");
        if (faults != null && pageFaultsBefore != null) {
            attributes.put("pageFaultsDelta", faults - pageFaultsBefore);
        }
        if (major != null && majorPageFaultsBefore != null) {
            attributes.put("majorPageFaultsDelta", major - majorPageFaultsBefore);
        }
    }

    /** platform, containerID, functionName, functionMemory, functionRegion, vmID. */
    public void inspectPlatform() {
        inspectedPlatform = true;
        String stream = System.getenv("AWS_LAMBDA_LOG_STREAM_NAME");
        if (stream != null) {
            attributes.put("platform", "AWS Lambda");
            attributes.put("containerID", stream);
            attributes.put("functionName", System.getenv("AWS_LAMBDA_FUNCTION_NAME"));
            attributes.put("functionMemory", System.getenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"));
            attributes.put("functionRegion", System.getenv("AWS_REGION"));
            String cgroup = read("/proc/self/cgroup");
            if (cgroup != null) {
                for (String line : cgroup.split("\n")) {
                    if (line.contains("2:cpu") && line.length() >= 26) {
                        attributes.put("vmID", line.substring(20, 26));  // (SAAF's slice)
                        break;
                    }
                }
            }
        } else {
            attributes.put("platform", "Unknown Platform");
        }
    }

    /** linuxVersion: as `uname -a` prints it, from /proc (no process started). */
    public void inspectLinux() {
        String hostname = read("/proc/sys/kernel/hostname");
        String release = read("/proc/sys/kernel/osrelease");
        String version = read("/proc/sys/kernel/version");
        if (release == null) {
            return;
        }
        attributes.put("linuxVersion", "Linux " + (hostname == null ? "" : hostname.trim()) + " "
                + release.trim() + " " + (version == null ? "" : version.trim()) + " "
                + System.getProperty("os.arch") + " GNU/Linux");
    }

    /** Every inspection, then frameworkRuntime (ms spent in them). */
    public void inspectAll() {
        inspectContainer();
        inspectCPUInfo();
        inspectPlatform();
        inspectLinux();
        inspectMemory();
        inspectCPU();
        addTimeStamp("frameworkRuntime");
    }

    /** userRuntime (ms since inspectAll ended), the deltas, SAAF's configuration advice,
     * and frameworkRuntimeDeltas. */
    public void inspectAllDeltas() {
        Object framework = attributes.get("frameworkRuntime");
        if (framework instanceof Long) {
            addTimeStamp("userRuntime", startTime + (Long) framework);
        }
        long deltaTime = System.currentTimeMillis();
        inspectCPUDelta();
        inspectMemoryDelta();
        recommendConfiguration();
        addTimeStamp("frameworkRuntimeDeltas", deltaTime);
    }

    /** availableCPUs for the function's memory, utilizedCPUs, recommendedMemory (SAAF 0.7's
     * formulas). */
    private void recommendConfiguration() {
        if (!inspectedPlatform || !inspectedCPUDelta) {
            attributes.put("SAAFRecommendConfigurationError",
                    "CPU, CPU Delta, and Platform must be inspected before recommending a configuration!");
            return;
        }
        if (!"AWS Lambda".equals(attributes.get("platform"))) {
            return;
        }
        try {
            double available = Integer.parseInt(String.valueOf(attributes.get("functionMemory"))) / 1792.0;
            attributes.put("availableCPUs", Math.round(available * 1000) / 1000.0);
            long user = (Long) attributes.get("cpuUserDelta");
            long kernel = (Long) attributes.get("cpuKernelDelta");
            long runtime = (Long) attributes.get("userRuntime");
            if (runtime == 0) {
                throw new ArithmeticException("division by zero");
            }
            double utilized = (user + kernel) / (double) runtime;
            attributes.put("utilizedCPUs", Math.round(utilized * 1000) / 1000.0);
            double basis = available - utilized < 0.1 ? available * 1.1 : utilized;
            attributes.put("recommendedMemory", Math.min(Math.max(Math.round(0.000556 * basis + 0.012346), 128), 10240));
        } catch (RuntimeException e) {
            attributes.put("SAAFRecommendConfigurationError", "Unable to recommend a configuration. " + e.getMessage());
        }
    }

    public void addAttribute(String key, Object value) {
        attributes.put(key, value);
    }

    public Object getAttribute(String key) {
        return attributes.get(key);
    }

    /** `key` = ms since the Inspector was created. */
    public void addTimeStamp(String key) {
        addTimeStamp(key, startTime);
    }

    /** `key` = ms since `timeSince` (epoch ms). */
    public void addTimeStamp(String key, long timeSince) {
        attributes.put(key, System.currentTimeMillis() - timeSince);
    }

    /** runtime (ms since the Inspector was created), endTime; the attributes to return. */
    public HashMap<String, Object> finish() {
        addTimeStamp("runtime");
        attributes.put("endTime", System.currentTimeMillis());
        return attributes;
    }

    /** The aggregate "cpu" line of /proc/stat in ms, in CPU_METRICS order. */
    private static long[] cpuTimes() {
        String stat = read("/proc/stat");
        if (stat == null) {
            return null;
        }
        for (String line : stat.split("\n")) {
            if (line.startsWith("cpu ")) {
                String[] f = line.trim().split("\\s+");
                long[] out = new long[CPU_METRICS.length];
                for (int i = 0; i < out.length && i + 1 < f.length; i++) {
                    out[i] = Long.parseLong(f[i + 1]) * 1000 / TICKS_PER_SECOND;
                }
                return out;
            }
        }
        return null;
    }

    /** The number after `key` on the first line that starts with it. */
    private static Long field(String text, String key) {
        if (text == null) {
            return null;
        }
        for (String line : text.split("\n")) {
            if (line.startsWith(key) && line.length() > key.length()
                    && (key.endsWith(":") || Character.isWhitespace(line.charAt(key.length())))) {
                String[] parts = line.substring(key.length()).trim().split("\\s+");
                try {
                    return Long.parseLong(parts[0]);
                } catch (NumberFormatException e) {
                    return null;
                }
            }
        }
        return null;
    }

    private static String read(String path) {
        try {
            List<String> lines = Files.readAllLines(Paths.get(path), StandardCharsets.UTF_8);
            return String.join("\n", lines);
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }
}

package faaslab.runtime;

import java.io.FileInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/** The process's peak resident memory (VmHWM), for REPORT's "Max Memory Used". */
final class Memory {
    private Memory() {}

    static long maxRssKb() {
        byte[] buf = new byte[4096];
        int n;
        try (FileInputStream f = new FileInputStream("/proc/self/status")) {
            n = f.read(buf);
        } catch (IOException e) {
            return -1;
        }
        if (n <= 0) {
            return -1;
        }
        String s = new String(buf, 0, n, StandardCharsets.ISO_8859_1);
        int i = s.indexOf("VmHWM:");
        if (i < 0) {
            return -1;
        }
        long kb = 0;
        boolean seen = false;
        for (int j = i + 6; j < s.length(); j++) {
            char c = s.charAt(j);
            if (c >= '0' && c <= '9') {
                kb = kb * 10 + (c - '0');
                seen = true;
            } else if (seen) {
                break;
            }
        }
        return seen ? kb : -1;
    }
}

package faaslab.runtime;

import java.nio.charset.StandardCharsets;

/** Lambda's error payload, {"errorMessage","errorType","stackTrace"}, without a JSON library. */
final class ErrorJson {
    private ErrorJson() {}

    /** An exception thrown by the handler: its class, message and filtered frames. */
    static byte[] of(Throwable t) {
        StackTraceElement[] trace = t.getStackTrace();
        String[] frames = new String[trace.length];
        for (int i = 0; i < trace.length; i++) {
            frames[i] = trace[i].toString();
        }
        return of(UserFault.message(t), t.getClass().getName(), frames);
    }

    /** A runtime-detected fault (handler not found, init errors): no stack trace, as Lambda. */
    static byte[] of(UserFault f) {
        return of(f.msg, f.exception, null);
    }

    static byte[] of(String message, String type, String[] stackTrace) {
        StringBuilder sb = new StringBuilder(256).append("{\"errorMessage\":");
        quote(sb, message);
        if (type != null) {
            sb.append(",\"errorType\":");
            quote(sb, type);
        }
        if (stackTrace != null) {
            sb.append(",\"stackTrace\":[");
            for (int i = 0; i < stackTrace.length; i++) {
                if (i > 0) {
                    sb.append(',');
                }
                quote(sb, stackTrace[i]);
            }
            sb.append(']');
        }
        return sb.append('}').toString().getBytes(StandardCharsets.UTF_8);
    }

    static void quote(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"': sb.append("\\\""); break;
                case '\\': sb.append("\\\\"); break;
                case '\n': sb.append("\\n"); break;
                case '\r': sb.append("\\r"); break;
                case '\t': sb.append("\\t"); break;
                default:
                    if (c < 0x20) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
            }
        }
        sb.append('"');
    }
}

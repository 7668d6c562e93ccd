package faaslab.runtime;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Set;

/**
 * A failure to report as Lambda's Java runtime does: a message, the exception class (may be
 * null: Lambda then sends no errorType) and, for the log, the printed stack trace. Fatal
 * faults end the runtime (init errors).
 */
final class UserFault extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private static final String OWN_PACKAGE = UserFault.class.getPackage().getName() + ".";

    final String msg;
    final String exception;
    final String trace;
    final boolean fatal;

    UserFault(String msg, String exception, String trace, boolean fatal) {
        super(msg, null, false, false);
        this.msg = msg;
        this.exception = exception;
        this.trace = trace;
        this.fatal = fatal;
    }

    static UserFault of(String msg) {
        return new UserFault(msg, null, null, false);
    }

    static UserFault of(Throwable t, boolean fatal) {
        if (t instanceof UserFault) {
            return (UserFault) t;
        }
        return new UserFault(message(t), t.getClass().getName(), trace(t), fatal);
    }

    /** Lambda's "Error loading class X: ..." for a handler class that failed to load. */
    static UserFault initError(Throwable t, String className) {
        return new UserFault("Error loading class " + className
                + (t.getMessage() == null ? "" : ": " + t.getMessage()), t.getClass().getName(), trace(t), true);
    }

    static UserFault classNotFound(Throwable t, String className) {
        return new UserFault("Class not found: " + className, t.getClass().getName(), trace(t), false);
    }

    static String message(Throwable t) {
        return t.getLocalizedMessage() == null ? t.getClass().getName() : t.getLocalizedMessage();
    }

    static String trace(Throwable t) {
        filter(t);
        StringWriter sw = new StringWriter();
        t.printStackTrace(new PrintWriter(sw));
        return sw.toString();
    }

    /** The text Lambda writes to the function's log for a fault. */
    String reportable() {
        if (exception != null || trace != null) {
            return msg + ": " + (exception == null ? "" : exception) + "\n" + (trace == null ? "" : trace) + "\n";
        }
        return msg + "\n";
    }

    /** Cuts every stack trace (causes, suppressed) at the runtime's own frames, as Lambda does. */
    static <T extends Throwable> T filter(T t) {
        filter(t, Collections.newSetFromMap(new IdentityHashMap<Throwable, Boolean>()));
        return t;
    }

    private static void filter(Throwable t, Set<Throwable> seen) {
        if (t == null || !seen.add(t)) {
            return;
        }
        StackTraceElement[] trace = t.getStackTrace();
        for (int i = 0; i < trace.length; i++) {
            if (trace[i].getClassName().startsWith(OWN_PACKAGE)) {
                StackTraceElement[] cut = new StackTraceElement[i];
                System.arraycopy(trace, 0, cut, 0, i);
                t.setStackTrace(cut);
                break;
            }
        }
        filter(t.getCause(), seen);
        for (Throwable s : t.getSuppressed()) {
            filter(s, seen);
        }
    }
}

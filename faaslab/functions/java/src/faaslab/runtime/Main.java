package faaslab.runtime;

import java.io.File;
import java.io.FilenameFilter;
import java.io.IOError;
import java.io.IOException;
import java.net.URL;
import java.net.URLClassLoader;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * faaslab's Java runtime interface client: loads the handler named by its argument (or
 * _HANDLER) from the task root, then runs Lambda's loop against AWS_LAMBDA_RUNTIME_API —
 * next, call, response or error — as aws-lambda-java-runtime-interface-client does.
 */
public final class Main {
    private static final String TRACE_PROPERTY = "com.amazonaws.xray.traceHeader";

    private Main() {}

    public static void main(String[] args) throws Throwable {
        if (args.length == 1 && "--train".equals(args[0])) {  // (jvm.py's CDS archive)
            Train.run();
            return;
        }
        String handlerName = args.length > 0 ? args[0] : System.getenv("_HANDLER");
        String api = System.getenv("AWS_LAMBDA_RUNTIME_API");
        if (handlerName == null || api == null) {
            System.err.println("usage: _HANDLER and AWS_LAMBDA_RUNTIME_API must be set (a Lambda environment)");
            System.exit(2);
        }
        RuntimeClient client = new RuntimeClient(api);
        ClassLoader loader = customerClassLoader(taskRoot());
        Thread.currentThread().setContextClassLoader(loader);

        Handler handler;
        try {
            handler = HandlerLoader.load(handlerName, loader);
        } catch (UserFault f) {
            initFailed(client, f);
            return;
        } catch (Throwable t) {
            initFailed(client, UserFault.of(t, true));
            return;
        }
        loop(client, handler);
    }

    private static void initFailed(RuntimeClient client, UserFault f) throws IOException {
        String note = System.getProperty("faaslab.jdk.note");
        log(f.reportable());
        if (note != null && !note.isEmpty() && UnsupportedClassVersionError.class.getName().equals(f.exception)) {
            log("faaslab: " + note + "\n");
        }
        flush();
        client.initError("Runtime.BadFunctionCode", ErrorJson.of(f));
        System.exit(1);
    }

    private static void loop(RuntimeClient client, Handler handler) throws IOException {
        while (true) {
            Invocation inv = client.next();
            if (inv.traceId != null) {
                System.setProperty(TRACE_PROPERTY, inv.traceId);
            } else {
                System.clearProperty(TRACE_PROPERTY);
            }
            byte[] result;
            try {
                result = handler.call(inv, new LambdaContext(inv));
            } catch (Throwable t) {
                UserFault.filter(t);
                boolean fault = t instanceof UserFault;
                byte[] body = fault ? ErrorJson.of((UserFault) t) : ErrorJson.of(t);
                log(UserFault.of(t, false).reportable());
                flush();
                client.error(inv.requestId, fault ? "Runtime.BadFunctionCode" : "Runtime.UserException", body);
                // The JVM may be unusable after these (Lambda's runtime ends its loop too).
                if (t instanceof VirtualMachineError || t instanceof IOError || (fault && ((UserFault) t).fatal)) {
                    System.exit(1);
                }
                continue;
            }
            flush();
            client.respond(inv.requestId, result);
            Thread.interrupted();  // (a flag the handler left set must not hit the next call)
        }
    }

    private static String taskRoot() {
        String root = System.getenv("LAMBDA_TASK_ROOT");
        return root != null ? root : System.getProperty("user.dir");
    }

    /**
     * The function's classes, as Lambda's Java runtime finds them: the task root (classes
     * at the root of the zip or jar), then its lib/*.jar and a layer's /opt/java/lib/*.jar in
     * name order. The parent is the runtime's loader, asked first: a jar that bundles its
     * own aws-lambda-java-core still gets the runtime's interfaces.
     */
    static ClassLoader customerClassLoader(String taskRoot) throws IOException {
        List<URL> urls = new ArrayList<>();
        urls.add(new File(taskRoot + "/").toURI().toURL());
        jars(new File(taskRoot, "lib"), urls);
        jars(new File("/opt/java/lib"), urls);
        return new URLClassLoader(urls.toArray(new URL[0]), Main.class.getClassLoader());
    }

    private static void jars(File dir, List<URL> urls) throws IOException {
        String[] names = dir.isDirectory() ? dir.list(new FilenameFilter() {
            @Override
            public boolean accept(File d, String n) {
                return n.length() > 4 && n.endsWith(".jar");
            }
        }) : null;
        if (names == null) {
            return;
        }
        Arrays.sort(names);
        for (String n : names) {
            urls.add(new File(dir, n).toURI().toURL());
        }
    }

    private static void log(String text) {
        System.out.print(text);
    }

    private static void flush() {
        System.out.flush();
        System.err.flush();
    }
}

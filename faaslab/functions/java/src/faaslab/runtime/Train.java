package faaslab.runtime;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/**
 * `Main --train`: one invocation of a Map handler (and one error) against a Runtime API
 * served in-process, so the JVM that runs it with -XX:ArchiveClassesAtExit records the
 * classes a real start loads (the JDK's networking, Jackson, the runtime's own) in a CDS
 * archive that every function's JVM then maps instead of loading them again (jvm.py).
 */
final class Train {
    private Train() {}

    /** The handler trained with: a Map in, a Map out, through Jackson. */
    public static final class Echo implements RequestHandler<Map<String, Object>, Map<String, Object>> {
        @Override
        public Map<String, Object> handleRequest(Map<String, Object> event, Context context) {
            Map<String, Object> out = new HashMap<>(event);
            out.put("remaining", context.getRemainingTimeInMillis());
            return out;
        }
    }

    static void run() throws Throwable {
        final ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        Thread api = new Thread(new Runnable() {
            @Override
            public void run() {
                try (Socket s = server.accept()) {
                    serve(s);
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            }
        });
        api.start();
        RuntimeClient client = new RuntimeClient("127.0.0.1:" + server.getLocalPort());
        Handler handler = HandlerLoader.load(Echo.class.getName(), Train.class.getClassLoader());
        Invocation inv = client.next();
        client.respond(inv.requestId, handler.call(inv, new LambdaContext(inv)));
        inv = client.next();
        Throwable t = UserFault.filter(new IllegalStateException("trained"));
        UserFault.of(t, false).reportable();
        client.error(inv.requestId, "Runtime.UserException", ErrorJson.of(t));
        api.join();
        server.close();
    }

    /** Two invocations, as the control plane would answer them. */
    private static void serve(Socket s) throws IOException {
        InputStream in = s.getInputStream();
        OutputStream out = s.getOutputStream();
        BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.ISO_8859_1));
        byte[] event = "{\"name\":\"Fred Smith\",\"n\":[1,2],\"nested\":{\"ok\":true}}".getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i < 2; i++) {
            request(reader);
            String head = "HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: train-" + i
                    + "\r\nLambda-Runtime-Deadline-Ms: " + (System.currentTimeMillis() + 60000)
                    + "\r\nLambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:123456789012:function:train"
                    + "\r\nLambda-Runtime-Trace-Id: Root=1-0-0\r\nContent-Type: application/json\r\nContent-Length: "
                    + event.length + "\r\n\r\n";
            out.write(head.getBytes(StandardCharsets.ISO_8859_1));
            out.write(event);
            out.flush();
            request(reader);
            byte[] ok = "{\"status\":\"OK\"}".getBytes(StandardCharsets.UTF_8);
            out.write(("HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: " + ok.length
                    + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
            out.write(ok);
            out.flush();
        }
    }

    /** Reads one request (its body counted in chars: the bodies here are ASCII). */
    private static void request(BufferedReader reader) throws IOException {
        int length = 0;
        for (String line = reader.readLine(); line != null && !line.isEmpty(); line = reader.readLine()) {
            if (line.toLowerCase().startsWith("content-length:")) {
                length = Integer.parseInt(line.substring(15).trim());
            }
        }
        for (int i = 0; i < length; i++) {
            reader.read();
        }
    }
}

package faaslab.runtime;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The Lambda Runtime API over one kept-alive HTTP/1.1 connection (a plain socket: the API is
 * four calls with Content-Length bodies, and java.net.http would cost its own start-up on
 * every cold start).
 */
final class RuntimeClient {
    private static final String BASE = "/2018-06-01/runtime/";

    private final String host;
    private final int port;
    private Socket socket;
    private InputStream in;
    private OutputStream out;

    RuntimeClient(String address) {
        int colon = address.lastIndexOf(':');
        this.host = address.substring(0, colon);
        this.port = Integer.parseInt(address.substring(colon + 1));
    }

    /** One HTTP response: status, lower-cased headers, body. */
    static final class Reply {
        final int status;
        final Map<String, String> headers;
        final byte[] body;

        Reply(int status, Map<String, String> headers, byte[] body) {
            this.status = status;
            this.headers = headers;
            this.body = body;
        }
    }

    /** Blocks until the next invocation arrives. */
    Invocation next() throws IOException {
        Reply r = exchange("GET", BASE + "invocation/next", null, null);
        if (r.status != 200) {
            throw new IOException("Runtime API next: HTTP " + r.status + " " + text(r.body));
        }
        return new Invocation(r.headers, r.body);
    }

    void respond(String requestId, byte[] body) throws IOException {
        check(exchange("POST", BASE + "invocation/" + requestId + "/response", null, body), "response");
    }

    void error(String requestId, String errorType, byte[] body) throws IOException {
        check(exchange("POST", BASE + "invocation/" + requestId + "/error", errorType, body), "error");
    }

    void initError(String errorType, byte[] body) throws IOException {
        check(exchange("POST", BASE + "init/error", errorType, body), "init error");
    }

    private static void check(Reply r, String what) {
        if (r.status / 100 != 2) {
            System.err.println("faaslab java runtime: posting the " + what + " got HTTP " + r.status
                    + ": " + text(r.body));
        }
    }

    private Reply exchange(String method, String path, String errorType, byte[] body) throws IOException {
        try {
            return send(method, path, errorType, body);
        } catch (IOException e) {  // a dropped keep-alive connection: once more on a new one
            close();
            return send(method, path, errorType, body);
        }
    }

    private Reply send(String method, String path, String errorType, byte[] body) throws IOException {
        if (socket == null) {
            socket = new Socket();
            socket.setTcpNoDelay(true);
            socket.connect(new InetSocketAddress(host, port));
            in = new BufferedInputStream(socket.getInputStream(), 64 * 1024);
            out = new BufferedOutputStream(socket.getOutputStream(), 64 * 1024);
        }
        StringBuilder head = new StringBuilder(160)
                .append(method).append(' ').append(path).append(" HTTP/1.1\r\nHost: ")
                .append(host).append(':').append(port).append("\r\n");
        if (errorType != null) {
            head.append("Lambda-Runtime-Function-Error-Type: ").append(errorType).append("\r\n");
        }
        if (body != null) {
            head.append("Content-Type: application/json\r\n");
            long rss = Memory.maxRssKb();
            if (rss > 0) {
                head.append("faaslab-max-rss-kb: ").append(rss).append("\r\n");
            }
            head.append("Content-Length: ").append(body.length).append("\r\n");
        }
        head.append("\r\n");
        out.write(head.toString().getBytes(StandardCharsets.ISO_8859_1));
        if (body != null) {
            out.write(body);
        }
        out.flush();
        return read();
    }

    private Reply read() throws IOException {
        String status = line();
        int sp = status.indexOf(' ');
        if (!status.startsWith("HTTP/1.") || sp < 0 || status.length() < sp + 4) {
            throw new IOException("malformed status line from the Runtime API: " + status);
        }
        int code = Integer.parseInt(status.substring(sp + 1, sp + 4));
        Map<String, String> headers = new HashMap<>();
        for (String h = line(); !h.isEmpty(); h = line()) {
            int colon = h.indexOf(':');
            if (colon > 0) {
                headers.put(h.substring(0, colon).trim().toLowerCase(Locale.ROOT), h.substring(colon + 1).trim());
            }
        }
        String length = headers.get("content-length");
        byte[] body;
        if (length != null) {
            body = new byte[Integer.parseInt(length)];
            int off = 0;
            while (off < body.length) {
                int n = in.read(body, off, body.length - off);
                if (n < 0) {
                    throw new EOFException("Runtime API closed the connection mid-body");
                }
                off += n;
            }
        } else if ("chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
            body = chunked();
        } else {
            body = new byte[0];
        }
        if ("close".equalsIgnoreCase(headers.get("connection"))) {
            close();
        }
        return new Reply(code, headers, body);
    }

    private byte[] chunked() throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        while (true) {
            String size = line();
            int semi = size.indexOf(';');
            int n = Integer.parseInt((semi < 0 ? size : size.substring(0, semi)).trim(), 16);
            if (n == 0) {
                while (!line().isEmpty()) {
                    // trailers
                }
                return buf.toByteArray();
            }
            byte[] chunk = new byte[n];
            int off = 0;
            while (off < n) {
                int got = in.read(chunk, off, n - off);
                if (got < 0) {
                    throw new EOFException("Runtime API closed the connection mid-chunk");
                }
                off += got;
            }
            buf.write(chunk);
            line();
        }
    }

    private String line() throws IOException {
        StringBuilder sb = new StringBuilder(64);
        while (true) {
            int c = in.read();
            if (c < 0) {
                throw new EOFException("Runtime API closed the connection");
            }
            if (c == '\n') {
                int len = sb.length();
                if (len > 0 && sb.charAt(len - 1) == '\r') {
                    sb.setLength(len - 1);
                }
                return sb.toString();
            }
            sb.append((char) c);
        }
    }

    private void close() {
        if (socket != null) {
            try {
                socket.close();
            } catch (IOException ignored) {
                // closing anyway
            }
        }
        socket = null;
    }

    static String text(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }
}

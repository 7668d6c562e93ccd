package faaslab.runtime;

import java.util.Map;

/** One event from the Runtime API's next: its headers and payload. */
final class Invocation {
    final String requestId;
    final long deadlineMs;
    final String functionArn;
    final String traceId;
    final String clientContext;
    final String cognitoIdentity;
    final byte[] payload;

    Invocation(Map<String, String> headers, byte[] payload) {
        this.requestId = headers.get("lambda-runtime-aws-request-id");
        String deadline = headers.get("lambda-runtime-deadline-ms");
        this.deadlineMs = deadline == null ? Long.MAX_VALUE : Long.parseLong(deadline);
        this.functionArn = headers.get("lambda-runtime-invoked-function-arn");
        this.traceId = headers.get("lambda-runtime-trace-id");
        this.clientContext = headers.get("lambda-runtime-client-context");
        this.cognitoIdentity = headers.get("lambda-runtime-cognito-identity");
        this.payload = payload;
    }
}

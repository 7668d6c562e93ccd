package faaslab.runtime;

import com.amazonaws.services.lambda.runtime.Client;
import com.amazonaws.services.lambda.runtime.ClientContext;
import com.amazonaws.services.lambda.runtime.CognitoIdentity;
import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.LambdaLogger;
import com.amazonaws.services.lambda.runtime.LambdaRuntime;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Collections;
import java.util.HashMap;
import java.util.Map;

/** The Context of one invocation, from the Runtime API's headers and Lambda's variables. */
final class LambdaContext implements Context {
    static final String FUNCTION_NAME = env("AWS_LAMBDA_FUNCTION_NAME");
    static final String FUNCTION_VERSION = env("AWS_LAMBDA_FUNCTION_VERSION");
    static final String LOG_GROUP = env("AWS_LAMBDA_LOG_GROUP_NAME");
    static final String LOG_STREAM = env("AWS_LAMBDA_LOG_STREAM_NAME");
    static final int MEMORY_MB = parseInt(env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"), 128);

    private final Invocation inv;
    private ClientContext clientContext;
    private CognitoIdentity identity;

    LambdaContext(Invocation inv) {
        this.inv = inv;
    }

    public String getAwsRequestId() {
        return inv.requestId;
    }

    public String getLogGroupName() {
        return LOG_GROUP;
    }

    public String getLogStreamName() {
        return LOG_STREAM;
    }

    public String getFunctionName() {
        return FUNCTION_NAME;
    }

    public String getFunctionVersion() {
        return FUNCTION_VERSION;
    }

    public String getInvokedFunctionArn() {
        return inv.functionArn;
    }

    public CognitoIdentity getIdentity() {
        if (identity == null && inv.cognitoIdentity != null) {
            Map<String, Object> m = parse(inv.cognitoIdentity);
            final String id = str(m.get("cognitoIdentityId"));
            final String pool = str(m.get("cognitoIdentityPoolId"));
            identity = new CognitoIdentity() {
                public String getIdentityId() {
                    return id;
                }

                public String getIdentityPoolId() {
                    return pool;
                }
            };
        }
        return identity;
    }

    public ClientContext getClientContext() {
        if (clientContext == null && inv.clientContext != null) {
            Map<String, Object> m = parse(inv.clientContext);
            final Map<String, Object> c = map(m.get("client"));
            final Map<String, String> custom = strings(m.get("custom"));
            final Map<String, String> environment = strings(m.get("env"));
            final Client client = new Client() {
                public String getInstallationId() {
                    return str(c.get("installation_id"));
                }

                public String getAppTitle() {
                    return str(c.get("app_title"));
                }

                public String getAppVersionName() {
                    return str(c.get("app_version_name"));
                }

                public String getAppVersionCode() {
                    return str(c.get("app_version_code"));
                }

                public String getAppPackageName() {
                    return str(c.get("app_package_name"));
                }
            };
            clientContext = new ClientContext() {
                public Client getClient() {
                    return client;
                }

                public Map<String, String> getCustom() {
                    return custom;
                }

                public Map<String, String> getEnvironment() {
                    return environment;
                }
            };
        }
        return clientContext;
    }

    public int getRemainingTimeInMillis() {
        long left = inv.deadlineMs - System.currentTimeMillis();
        return (int) Math.max(0, Math.min(Integer.MAX_VALUE, left));
    }

    public int getMemoryLimitInMB() {
        return MEMORY_MB;
    }

    public LambdaLogger getLogger() {
        return LambdaRuntime.getLogger();
    }

    public String getXrayTraceId() {
        return inv.traceId;
    }

    /** The header's JSON (base64-encoded JSON accepted too). */
    private static Map<String, Object> parse(String header) {
        String json = header.trim();
        if (!json.startsWith("{")) {
            try {
                json = new String(Base64.getDecoder().decode(json), StandardCharsets.UTF_8);
            } catch (IllegalArgumentException e) {
                return Collections.emptyMap();
            }
        }
        try {
            return Codecs.get().readMap(json);
        } catch (Exception e) {
            return Collections.emptyMap();
        }
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> map(Object o) {
        return o instanceof Map ? (Map<String, Object>) o : Collections.<String, Object>emptyMap();
    }

    private static Map<String, String> strings(Object o) {
        Map<String, String> out = new HashMap<>();
        for (Map.Entry<String, Object> e : map(o).entrySet()) {
            out.put(e.getKey(), str(e.getValue()));
        }
        return out;
    }

    private static String str(Object o) {
        return o == null ? null : o.toString();
    }

    private static String env(String name) {
        return System.getenv(name);
    }

    private static int parseInt(String s, int dflt) {
        try {
            return Integer.parseInt(s);
        } catch (RuntimeException e) {
            return dflt;
        }
    }
}

package faaslab.runtime;

/**
 * A loaded handler: the event's bytes in, the result's bytes out. (The runtime's code uses
 * anonymous classes, not lambdas: a JVM's first lambda bootstraps java.lang.invoke, which
 * would add its milliseconds to every cold start.)
 */
interface Handler {
    byte[] call(Invocation inv, LambdaContext context) throws Throwable;

    /** A handler that could not be loaded, but whose fault Lambda reports per invocation. */
    static Handler failing(final UserFault fault) {
        return new Handler() {
            @Override
            public byte[] call(Invocation inv, LambdaContext context) {
                throw fault;
            }
        };
    }
}

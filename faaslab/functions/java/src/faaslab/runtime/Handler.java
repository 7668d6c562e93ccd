package faaslab.runtime;

/** A loaded handler: the event's bytes in, the result's bytes out. */
interface Handler {
    byte[] call(Invocation inv, LambdaContext context) throws Throwable;

    /** A handler that could not be loaded, but whose fault Lambda reports per invocation. */
    static Handler failing(final UserFault fault) {
        return (inv, context) -> {
            throw fault;
        };
    }
}

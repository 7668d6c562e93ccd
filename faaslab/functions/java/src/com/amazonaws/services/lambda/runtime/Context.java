package com.amazonaws.services.lambda.runtime;

/**
 * The invocation's context, as aws-lambda-java-core 1.2.x declares it (written for faaslab;
 * API-compatible, so handlers compiled against the real library link against this one).
 */
public interface Context {

    /** The request id of this invocation (also in the START/END/REPORT log lines). */
    String getAwsRequestId();

    /** The CloudWatch log group, /aws/lambda/function-name. */
    String getLogGroupName();

    /** The log stream of this execution environment. */
    String getLogStreamName();

    String getFunctionName();

    String getFunctionVersion();

    /** The ARN the caller used (with its qualifier, if any). */
    String getInvokedFunctionArn();

    /** The Cognito identity of a mobile SDK caller, or null. */
    CognitoIdentity getIdentity();

    /** The client context of a mobile SDK caller, or null. */
    ClientContext getClientContext();

    /** Milliseconds until the function times out. */
    int getRemainingTimeInMillis();

    /** MemorySize, in MB. */
    int getMemoryLimitInMB();

    /** A logger that writes to the function's log. */
    LambdaLogger getLogger();

    default String getTenantId() {
        return null;
    }

    default String getXrayTraceId() {
        return null;
    }
}

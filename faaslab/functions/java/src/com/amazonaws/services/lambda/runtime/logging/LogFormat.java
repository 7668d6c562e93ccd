package com.amazonaws.services.lambda.runtime.logging;

/** AWS_LAMBDA_LOG_FORMAT's values; faaslab writes TEXT. */
public enum LogFormat {
    JSON,
    TEXT;

    public static LogFormat fromString(String logFormat) {
        try {
            return LogFormat.valueOf(logFormat.toUpperCase());
        } catch (Exception e) {
            throw new IllegalArgumentException(
                    "Invalid log format: '" + logFormat + "' expected one of [JSON, TEXT]");
        }
    }
}

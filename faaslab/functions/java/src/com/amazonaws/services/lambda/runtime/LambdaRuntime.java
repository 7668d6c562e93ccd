package com.amazonaws.services.lambda.runtime;

import java.io.IOException;

/** The function's logger outside a handler (static initialisers, helper classes). */
public final class LambdaRuntime {
    private LambdaRuntime() {}

    private static volatile LambdaLogger logger = new LambdaLogger() {
        public void log(String message) {
            System.out.print(message);
            System.out.flush();
        }

        public void log(byte[] message) {
            try {
                System.out.write(message);
                System.out.flush();
            } catch (IOException e) {
                e.printStackTrace();
            }
        }
    };

    public static LambdaLogger getLogger() {
        return logger;
    }
}

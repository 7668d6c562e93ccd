package com.amazonaws.services.lambda.runtime;

/** The Amazon Cognito identity of the caller, when a mobile SDK sent one. */
public interface CognitoIdentity {
    String getIdentityId();

    String getIdentityPoolId();
}

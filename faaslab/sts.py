"""AWS STS, as much as scripts ask of it: GetCallerIdentity (`aws sts
get-caller-identity`, the first command of many a setup script and of every
"is my profile right?" check). Everything faaslab serves belongs to one account, and the
caller is its root, as the account's own access key would be on AWS."""

from __future__ import annotations

from faaslab.awsapi.dispatch import Call, Output, ServiceApi


def api(account: str) -> ServiceApi:
    def get_caller_identity(call: Call) -> Output:
        return {"UserId": account, "Account": account, "Arn": f"arn:aws:iam::{account}:root"}

    return ServiceApi("sts", {"GetCallerIdentity": get_caller_identity})

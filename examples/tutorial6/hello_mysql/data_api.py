"""helloDataApi: helloMySQL's behaviour over the RDS Data API, with a Secrets Manager secret.

Handler ``data_api.handler``, beside helloMySQL's ``app.py`` (same CodeUri), whose request
parsing and SAAF import it shares.

Each call inserts the request's name into TEST.mytable on the tcss562 cluster and returns
every name stored so far, like helloMySQL, but it holds no database connection and uses no
driver or VPC: it sends SQL over HTTPS (boto3 ``rds-data``), authenticated by
the secret's ARN. Around a pause the Data API answers at once instead of holding the call:
a paused Aurora Serverless v1 cluster answers BadRequestException "Communications link
failure" and starts resuming; this handler retries until the cluster is back.

On AWS: the cluster needs ``EnableHttpEndpoint: true`` (Aurora Serverless v1, or v2 on
supported versions) and the function ``rds-data:ExecuteStatement`` plus
``secretsmanager:GetSecretValue`` permissions (the template grants them); saaf.py as for
helloMySQL.
"""

from __future__ import annotations

import os
import time
from typing import Any

import boto3
from app import Inspector, request_name  # helloMySQL's, deployed with the same CodeUri
from botocore.exceptions import ClientError

RESUME_WAIT_S = 120  # how long to keep retrying while a paused cluster resumes

rds_data = boto3.client("rds-data")


def execute(sql: str, **params: str) -> dict[str, Any]:
    """One statement; retried while the cluster resumes from a pause."""
    started = time.monotonic()
    waits = 0
    while True:
        try:
            response: dict[str, Any] = rds_data.execute_statement(
                resourceArn=os.environ["CLUSTER_ARN"],
                secretArn=os.environ["SECRET_ARN"],
                database=os.environ.get("DB_NAME", "TEST"),
                sql=sql,
                parameters=[{"name": k, "value": {"stringValue": v}} for k, v in params.items()],
            )
            if waits:
                waited = time.monotonic() - started
                print(f"the cluster answered after {waits} retries, {waited:.2f} s")
            return response
        except ClientError as e:
            code = e.response["Error"]["Code"]
            message = e.response["Error"].get("Message", "")
            resuming = code == "DatabaseResumingException" or (
                code == "BadRequestException" and "Communications link failure" in message
            )
            if not resuming or time.monotonic() - started > RESUME_WAIT_S:
                raise
            waits += 1
            time.sleep(min(0.05 * 2**waits, 2.0))


def handler(event: Any, context: Any) -> dict[str, Any]:
    inspector = Inspector()
    inspector.inspectAll()
    name = request_name(event)
    # A named parameter, never string concatenation: the Data API binds :name as data.
    execute("insert into mytable values (:name, 'b', 'c')", name=name)
    rows = execute("select name from mytable")["records"]
    inspector.addAttribute("value", f"Hello {name}")
    inspector.addAttribute("names", [row[0]["stringValue"] for row in rows])
    inspector.inspectAllDeltas()
    return inspector.finish()

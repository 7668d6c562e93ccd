"""faaslab: a serverless cloud on one machine.

Runs an AWS SAM template's Lambda functions (and, later, serverless SQL clusters and
S3 buckets) faithfully and fast, with no Docker and no AWS account.
"""

__version__ = "0.1.0"

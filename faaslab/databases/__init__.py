"""Serverless SQL clusters (Aurora Serverless v1 and v2) on the machine's own engines."""

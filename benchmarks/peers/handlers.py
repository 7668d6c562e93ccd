"""Trivial handlers for benchmarks/peers.py, copied into each peer's own code directory.

`echo` is the Lambda Invoke contract (the payload is the handler's return value): MiniStack.
Smyth's runner only accepts `{"statusCode", "headers", "body": str}` on every route, the
Invoke API route too (anything else fails its pydantic model), hence `smyth_echo`.
`echo_log` is `echo` plus one log line.
`probe`/`smyth_probe` report what a function can see of the host (its /tmp, its environment).
"""

import json
import os


def echo(event, context):
    return event


def echo_log(event, context):
    print("echo")  # one log line: MiniStack stops waiting for the function's stderr sooner
    return event


def smyth_echo(event, context):
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(event),
    }


def probe(event, context):
    return {
        "sentinel_visible": os.path.exists(event["sentinel"]),
        "host_env_visible": os.environ.get("FAASLAB_PEERS_MARKER") == "1",
        "pid": os.getpid(),
        "uid": os.getuid(),
        "cwd": os.getcwd(),
        "tmp_entries": len(os.listdir("/tmp")),
    }


def smyth_probe(event, context):
    return {"statusCode": 200, "body": json.dumps(probe(event, context))}

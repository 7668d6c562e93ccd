"""Exec a runtime's entrypoint in the sandbox, as Lambda's init does (runs in the child).

A bootstrap that cannot be started fails init with `Runtime.InvalidEntrypoint`, in the
words of Lambda's init (a Go program: its exec errors read "fork/exec PATH: permission
denied"): missing everywhere Lambda looks ("Couldn't find valid bootstrap(s): [...]"),
not executable, a wrong interpreter line or a binary for another machine. The error is
posted to the Runtime API's /init/error, so the invoke that waited for this environment
gets it, as it would on AWS.
"""

from __future__ import annotations

import errno
import json
import os
import sys
from collections.abc import Mapping
from typing import NoReturn

from faaslab.functions.runtimes import BOOTSTRAPS

TASK_ROOT = "/var/task"
OPT = "/opt"


def exec_runtime(command: list[str]) -> NoReturn:
    """Replace this process with `command`; on failure report it and exit."""
    argv = [where(command[0], os.environ), *command[1:]]
    try:
        os.execve(argv[0], argv, dict(os.environ))
    except OSError as e:
        message = invalid_entrypoint_message(command[0], e.errno or 0)
    print(f"Error: {message} Runtime.InvalidEntrypoint", file=sys.stderr, flush=True)
    _post_init_error("Runtime.InvalidEntrypoint", f"Error: {message}")
    os._exit(1)


def where(path: str, env: Mapping[str, str]) -> str:
    """A path under /var/task or /opt where it really is: elsewhere without a mount
    namespace (`--isolation none`: the code dir, the merged layers' dir)."""
    for lambda_dir, real in (
        (TASK_ROOT, env.get("LAMBDA_TASK_ROOT")),
        (OPT, env.get("FAASLAB_OPT_DIR")),
    ):
        if real and real != lambda_dir and path.startswith(lambda_dir + "/"):
            return real + path[len(lambda_dir) :]
    return path


def invalid_entrypoint_message(path: str, code: int) -> str:
    if code == errno.ENOENT and path == BOOTSTRAPS[-1]:  # not in the code, nor in a layer
        return f"Couldn't find valid bootstrap(s): [{' '.join(BOOTSTRAPS)}]"
    reason = os.strerror(code)
    return f"fork/exec {path}: {reason[:1].lower()}{reason[1:]}"


def _post_init_error(error_type: str, message: str) -> None:
    import http.client  # (only on this path: a bootstrap that starts never needs it)

    host, _, port = os.environ.get("AWS_LAMBDA_RUNTIME_API", "").rpartition(":")
    body = json.dumps({"errorType": error_type, "errorMessage": message}).encode()
    try:
        conn = http.client.HTTPConnection(host or "127.0.0.1", int(port or 0), timeout=10)
        conn.request(
            "POST",
            "/2018-06-01/runtime/init/error",
            body,
            {"Lambda-Runtime-Function-Error-Type": error_type, "Content-Type": "application/json"},
        )
        conn.getresponse().read()
    except (OSError, ValueError, http.client.HTTPException) as e:
        print(f"faaslab: could not report the init error: {e}", file=sys.stderr, flush=True)

"""Node.js functions (nodejs20.x, nodejs22.x) on faaslab's own Node.js runtime, through
the real Invoke API (boto3), and the `sam init` hello-world app unchanged."""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
import threading
import urllib.request
import uuid
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import FIXTURES, ROOT, Faaslab, invoke, running_faaslab, start_faaslab

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="needs node")

ISO = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z"
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


@pytest.fixture(scope="module")
def node_faaslab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Faaslab]:
    state = tmp_path_factory.mktemp("node") / "s"
    yield from running_faaslab(FIXTURES / "node" / "template.yaml", state)


@pytest.fixture(scope="module")
def lam(node_faaslab: Faaslab) -> Any:
    return node_faaslab.client()


def tail(r: dict[str, Any]) -> str:
    return base64.b64decode(r["LogResult"]).decode()


@pytest.mark.parametrize("function", ["nodeProbe", "node22Probe"])
def test_context_object_and_environment(lam: Any, function: str) -> None:
    r = lam.invoke(
        FunctionName=function,
        Payload=json.dumps({"action": "context", "n": 1}),
        ClientContext=base64.b64encode(json.dumps({"custom": {"k": "v"}}).encode()).decode(),
    )
    out = json.loads(r["Payload"].read())
    assert "FunctionError" not in r
    ctx, env = out["context"], out["env"]
    assert out["event"] == {"action": "context", "n": 1}
    assert re.fullmatch(UUID, ctx["awsRequestId"])
    assert ctx["functionName"] == function and ctx["functionVersion"] == "$LATEST"
    assert ctx["invokedFunctionArn"] == f"arn:aws:lambda:us-east-1:123456789012:function:{function}"
    assert ctx["memoryLimitInMB"] == "256"  # a string, as on AWS (from the environment)
    assert ctx["logGroupName"] == f"/aws/lambda/{function}"
    assert re.fullmatch(r"\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}", ctx["logStreamName"])
    assert ctx["clientContext"] == {"custom": {"k": "v"}} and ctx["identity"] is None
    assert ctx["callbackWaitsForEmptyEventLoop"] is True
    assert 0 < ctx["remaining"] <= 5000
    major = "20" if function == "nodeProbe" else "22"
    assert env["NODE_PATH"] == (
        f"/opt/nodejs/node{major}/node_modules:/opt/nodejs/node_modules:"
        "/var/runtime/node_modules:/var/runtime:/var/task"
    )
    assert env["AWS_EXECUTION_ENV"] == f"AWS_Lambda_nodejs{major}.x"
    assert env["LAMBDA_TASK_ROOT"] == "/var/task" and out["cwd"] == "/var/task"
    assert env["AWS_LAMBDA_RUNTIME_API"] == "127.0.0.1:9001"
    assert "--max-old-space-size=231" in out["execArgv"]  # 256 - 256/10, as AWS's bootstrap


def test_nodejs22_on_another_node_is_said_at_up(node_faaslab: Faaslab) -> None:
    log = node_faaslab.log_path.read_text()
    _, out = invoke(node_faaslab.client(), "node22Probe", {"action": "context"})
    if out["node"].startswith("v22."):
        assert "node22Probe: nodejs22.x runs on" not in log
    else:
        assert f"node22Probe: nodejs22.x runs on this machine's Node.js {out['node']}" in log


def test_warm_reuse_keeps_globals_and_tmp(lam: Any) -> None:
    _, first = invoke(lam, "nodeProbe", {"action": "context"})
    invoke(lam, "nodeProbe", {"action": "tmp"})
    _, again = invoke(lam, "nodeProbe", {"action": "tmp"})
    _, last = invoke(lam, "nodeProbe", {"action": "context"})
    assert last["uses"] == first["uses"] + 3
    assert last["context"]["logStreamName"] == first["context"]["logStreamName"]
    assert again["before"] == str(first["uses"] + 1)


def test_parallel_invocations_get_their_own_environments(lam: Any) -> None:
    results: list[Any] = []

    def call() -> None:
        results.append(invoke(lam, "nodeProbe", {"action": "sleep", "ms": 1500}))

    threads = [threading.Thread(target=call) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all("FunctionError" not in r for r, _ in results)
    assert len({out["stream"] for _, out in results}) == 2


@pytest.mark.parametrize(
    ("function", "expected"),
    [
        ("nodeNested", "nested export"),
        ("nodeEsmPackage", {"kind": "esm", "event": {"x": 1}}),
        ("nodeCjs", {"kind": "cjs", "file": "/var/task/lib/nested/deep.cjs"}),
    ],
)
def test_module_kinds_and_handler_paths(lam: Any, function: str, expected: Any) -> None:
    """.mjs, .js under "type": "module", .cjs, nested directories and export paths."""
    r, out = invoke(lam, function, {"x": 1})
    assert "FunctionError" not in r
    assert out == expected


@pytest.mark.parametrize(
    ("style", "result"),
    [
        ("callback", {"style": "callback", "late": None}),
        ("nowait", {"style": "nowait"}),
        ("succeed", {"style": "succeed"}),
        ("done", {"style": "done"}),
        ("twice", "first"),
        ("nothing", None),
    ],
)
def test_callback_styles(lam: Any, style: str, result: Any) -> None:
    r, out = invoke(lam, "nodeCallback", {"style": style})
    assert "FunctionError" not in r
    assert out == result


def test_callback_answers_at_once_when_told_not_to_wait(lam: Any) -> None:
    """callbackWaitsForEmptyEventLoop = false: the answer leaves with the handler's 3 s
    timer still pending (frozen with the environment), not after it."""
    key = uuid.uuid4().hex
    _, out = invoke(lam, "nodeCallback", {"style": "nowait", "key": key})
    assert out == {"style": "nowait"}
    _, out = invoke(lam, "nodeCallback", {"style": "peek", "key": key})
    assert out == {"timer": None}


def test_callback_waits_for_the_event_loop_by_default(lam: Any) -> None:
    """callback() answers once the event loop is empty: the handler's timer ran first."""
    invoke(lam, "nodeCallback", {"style": "callback"})
    _, out = invoke(lam, "nodeCallback", {"style": "callback"})
    assert out == {"style": "callback", "late": "timer ran"}


@pytest.mark.parametrize(
    ("style", "error_type", "message"),
    [
        ("error", "Error", "callback error"),
        ("string-error", "string", "just a string"),
        ("fail", "Error", "failed via context"),
    ],
)
def test_callback_errors(lam: Any, style: str, error_type: str, message: str) -> None:
    r, out = invoke(lam, "nodeCallback", {"style": style})
    assert r["FunctionError"] == "Unhandled"
    assert out["errorType"] == error_type and out["errorMessage"] == message
    assert isinstance(out["trace"], list)


def test_exception_in_lambdas_shape_and_log(lam: Any) -> None:
    r = lam.invoke(FunctionName="nodeProbe", Payload=b'{"action": "throw"}', LogType="Tail")
    out = json.loads(r["Payload"].read())
    assert r["FunctionError"] == "Unhandled"
    assert out["errorType"] == "TypeError" and out["errorMessage"] == "bad input"
    assert out["trace"][0] == "TypeError: bad input"
    assert any("/var/task/probe.mjs" in line for line in out["trace"])
    log = tail(r)
    match = re.search(rf"{ISO}\t({UUID})\tERROR\tInvoke Error \t(\{{.*\}})", log)
    assert match, log
    logged = json.loads(match.group(2))
    assert logged["errorType"] == "TypeError" and logged["detail"] == "extra"
    assert r["ResponseMetadata"]["RequestId"] == match.group(1)


def test_console_lines_in_lambdas_format(lam: Any) -> None:
    r = lam.invoke(FunctionName="nodeProbe", Payload=b'{"action": "log"}', LogType="Tail")
    rid = r["ResponseMetadata"]["RequestId"]
    log = tail(r)
    for level, text in [
        ("INFO", "a log line { n: 1 }"),
        ("INFO", "multi\rline"),  # one record per call: newlines become \r
        ("WARN", "a warning"),
        ("DEBUG", "debugging"),
    ]:
        assert re.search(rf"{ISO}\t{rid}\t{level}\t{re.escape(text)}\n", log), (level, log)
    assert re.search(rf"\t{rid}\tERROR\tan error Error: logged\r    at ", log)


def test_json_log_format_and_level(lam: Any) -> None:
    """AWS_LAMBDA_LOG_FORMAT=JSON (LoggingConfig's LogFormat): one JSON object per line;
    AWS_LAMBDA_LOG_LEVEL=WARN drops INFO and DEBUG."""
    r = lam.invoke(FunctionName="nodeJsonLogs", Payload=b'{"action": "log"}', LogType="Tail")
    rid = r["ResponseMetadata"]["RequestId"]
    records = [json.loads(line) for line in tail(r).splitlines() if line.startswith("{")]
    assert [(x["level"], x["requestId"]) for x in records] == [("WARN", rid), ("ERROR", rid)]
    assert records[0]["message"] == "a warning"
    assert records[1]["message"].startswith("an error Error: logged")
    assert records[1]["errorType"] == "Error" and records[1]["errorMessage"] == "logged"
    assert re.fullmatch(ISO, records[0]["timestamp"])


@pytest.mark.parametrize(
    ("action", "error_type", "message"),
    [
        ("reject-later", "Runtime.UnhandledPromiseRejection", "Error: nobody waits for me"),
        ("throw-later", "RangeError", "thrown from a timer"),
    ],
)
def test_uncaught_errors_fail_the_invocation_and_restart(
    lam: Any, action: str, error_type: str, message: str
) -> None:
    r, out = invoke(lam, "nodeProbe", {"action": action})
    assert r["FunctionError"] == "Unhandled"
    assert out["errorType"] == error_type and out["errorMessage"] == message
    r, out = invoke(lam, "nodeProbe", {"action": "context"})
    assert "FunctionError" not in r and out["uses"] == 1  # a fresh runtime


def test_large_events_and_oversized_results(lam: Any) -> None:
    """A 5 MB event arrives whole; a result over 6 MB is AWS's error, and the runtime
    goes on to the next invocation."""
    blob = "e" * (5 * 1024 * 1024)
    r, out = invoke(lam, "nodeProbe", {"action": "size", "blob": blob, "out": 1000})
    assert "FunctionError" not in r
    assert out["echo"] == len(blob) and len(out["out"]) == 1000
    r, out = invoke(lam, "nodeProbe", {"action": "size", "blob": "", "out": 7 * 1024 * 1024})
    assert r["FunctionError"] == "Unhandled"
    assert out["errorType"] == "Function.ResponseSizeTooLarge"
    r, out = invoke(lam, "nodeProbe", {"action": "context"})
    assert "FunctionError" not in r and out["uses"] > 1  # the same runtime, still serving


def test_a_promise_never_settled(lam: Any) -> None:
    r, out = invoke(lam, "nodeProbe", {"action": "never"})
    assert r["FunctionError"] == "Unhandled"
    assert out["errorType"] == "Runtime.NodeJsExit"
    assert out["errorMessage"].startswith("The Lambda runtime client detected an unexpected")


def test_unserialisable_result(lam: Any) -> None:
    r, out = invoke(lam, "nodeProbe", {"action": "circular"})
    assert r["FunctionError"] == "Unhandled"
    assert (out["errorType"], out["errorMessage"]) == ("Error", "Unable to stringify response body")


@pytest.mark.parametrize(
    ("function", "error_type", "message"),
    [
        (
            "nodeMissingModule",
            "Runtime.ImportModuleError",
            "Error: Cannot find module 'nothere'\nRequire stack:\n- /var/runtime/index.mjs",
        ),
        (
            "nodeMissingDependency",
            "Runtime.ImportModuleError",
            "Error: Cannot find module 'no-such-package'\nRequire stack:\n"
            "- /var/task/missing_dep.js\n- /var/runtime/index.mjs",
        ),
        (
            "nodeMissingHandler",
            "Runtime.HandlerNotFound",
            "probe.nothere is undefined or not exported",
        ),
        ("nodeNotAFunction", "Runtime.HandlerNotFound", "probe.notAFunction is not a function"),
        ("nodeMalformed", "Runtime.MalformedHandlerName", "Bad handler"),
        ("nodeSyntax", "Runtime.UserCodeSyntaxError", "SyntaxError: Unexpected token '}'"),
        ("nodeInitThrows", "Error", "failed at init"),
    ],
)
def test_init_errors(
    node_faaslab: Faaslab, lam: Any, function: str, error_type: str, message: str
) -> None:
    r = lam.invoke(FunctionName=function, Payload=b"{}", LogType="Tail")
    out = json.loads(r["Payload"].read())
    assert r["FunctionError"] == "Unhandled"
    assert out["errorType"] == error_type and out["errorMessage"] == message
    assert re.search(rf"{ISO}\tundefined\tERROR\tUncaught Exception \t\{{", tail(r)), tail(r)
    assert node_faaslab.environments(function) == []  # discarded; the next invoke retries
    r2, again = invoke(lam, function)
    assert r2["FunctionError"] == "Unhandled" and again["errorType"] == error_type


def test_the_aws_sdk_lambda_carries_is_missing_and_said_so(lam: Any) -> None:
    r = lam.invoke(FunctionName="nodeUsesSdk", Payload=b"{}", LogType="Tail")
    out = json.loads(r["Payload"].read())
    assert r["FunctionError"] == "Unhandled"
    assert out["errorType"] == "Error"  # ERR_MODULE_NOT_FOUND from an ES module, as on AWS
    assert out["errorMessage"].startswith("Cannot find package '@aws-sdk/client-s3'")
    assert "faaslab's does not: add the clients your function imports" in tail(r)


def test_timeout_then_a_fresh_runtime(lam: Any) -> None:
    r, out = invoke(lam, "nodeSleeper", {"action": "sleep", "ms": 4000})
    assert r["FunctionError"] == "Unhandled"
    assert out["errorType"] == "Sandbox.Timedout"
    assert out["errorMessage"].endswith("Task timed out after 1.00 seconds")
    r, out = invoke(lam, "nodeSleeper", {"action": "sleep", "ms": 1})
    assert "FunctionError" not in r and out["slept"] == 1


def test_out_of_memory_then_a_fresh_runtime(lam: Any) -> None:
    """A heap that outgrows MemorySize (128 MB: V8's old space is 116 MB of it) ends the
    runtime; the next invoke gets a new one."""
    r = lam.invoke(FunctionName="nodeMemory", Payload=b'{"action": "alloc"}', LogType="Tail")
    out = json.loads(r["Payload"].read())
    assert r["FunctionError"] == "Unhandled"
    assert out["errorType"] in ("Runtime.OutOfMemory", "Runtime.ExitError"), out
    if out["errorType"] == "Runtime.ExitError":  # V8 gave up first, within its heap limit
        assert "JavaScript heap out of memory" in tail(r)
    r, again = invoke(lam, "nodeMemory", {"action": "context"})
    assert "FunctionError" not in r and again["uses"] == 1


def test_memory_outside_the_heap_is_limited_by_memory_size(lam: Any) -> None:
    """Buffers are not V8's heap: MemorySize alone stops them, as the kernel does on AWS."""
    r, out = invoke(lam, "nodeMemory", {"action": "alloc-buffers"})
    assert r["FunctionError"] == "Unhandled"
    assert out["errorType"] == "Runtime.OutOfMemory"
    assert out["errorMessage"].endswith("Error: Runtime exited with error: signal: killed")
    r, again = invoke(lam, "nodeMemory", {"action": "context"})
    assert "FunctionError" not in r and again["uses"] == 1


def test_create_function_nodejs_and_a_deprecated_runtime_refused(lam: Any) -> None:
    """CreateFunction with a Node.js zip; nodejs18.x refused in Lambda's words."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("index.mjs", "export const handler = async (e) => ({ node: e.n + 1 });\n")
    lam.create_function(
        FunctionName="nodeZipped",
        Runtime="nodejs20.x",
        Role="arn:aws:iam::123456789012:role/any",
        Handler="index.handler",
        Code={"ZipFile": buf.getvalue()},
    )
    lam.get_waiter("function_active_v2").wait(FunctionName="nodeZipped")
    _, out = invoke(lam, "nodeZipped", {"n": 41})
    assert out == {"node": 42}
    with pytest.raises(ClientError) as e:
        lam.create_function(
            FunctionName="nodeOld",
            Runtime="nodejs18.x",
            Role="arn:aws:iam::123456789012:role/any",
            Handler="index.handler",
            Code={"ZipFile": buf.getvalue()},
        )
    assert e.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert e.value.response["Error"]["Message"] == (
        "The runtime parameter of nodejs18.x is no longer supported for creating or updating "
        "AWS Lambda functions. We recommend you use the new runtime (nodejs22.x) while "
        "creating or updating functions."
    )
    with pytest.raises(ClientError) as e:
        lam.update_function_configuration(FunctionName="nodeZipped", Runtime="nodejs16.x")
    assert "The runtime parameter of nodejs16.x is no longer supported" in str(e.value)
    lam.delete_function(FunctionName="nodeZipped")


def test_sam_init_hello_world_runs_unchanged(tmp_path_factory: pytest.TempPathFactory) -> None:
    """`sam init` (Hello World Example, nodejs22.x): Invoke and the Api route /hello."""
    state = tmp_path_factory.mktemp("hello-node") / "s"
    fl = start_faaslab(ROOT / "examples" / "hello-nodejs" / "template.yaml", state)
    try:
        r, out = invoke(fl.client(), "HelloWorldFunction", {})
        assert "FunctionError" not in r
        assert out == {"statusCode": 200, "body": '{"message":"hello world"}'}
        with urllib.request.urlopen(fl.url + "/hello", timeout=30) as resp:
            assert resp.status == 200
            assert json.loads(resp.read()) == {"message": "hello world"}
    finally:
        assert fl.stop() == 0
    assert "Traceback" not in fl.log_path.read_text()

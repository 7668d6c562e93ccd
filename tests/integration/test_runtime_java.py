"""Java functions (java17 and friends) on a real `faaslab up`, invoked with boto3: the
handler kinds, (de)serialisation, the Context, warm reuse, and each failure in the shape
Lambda's Java runtime gives it."""

from __future__ import annotations

import base64
import json
import shutil
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from faaslab.functions import jvm
from tests.conftest import Faaslab, invoke, running_faaslab
from tests.integration import java_build

pytestmark = pytest.mark.skipif(shutil.which("javac") is None, reason="needs a JDK (javac)")

FUNCTIONS = {
    # name: (CodeUri key, Handler, extra properties)
    "hello": ("classes", "example.Hello", ""),
    "helloJar": ("jar", "example.Hello::handleRequest", ""),
    "pojo": ("classes", "example.PojoHandler", ""),
    "pojoMethod": ("classes", "example.PojoHandler::handleRequest", ""),
    "pojoChild": ("classes", "example.PojoChild::handleRequest", ""),
    "stream": ("classes", "example.StreamHandler", ""),
    "shout": ("classes", "example.Methods::shout", ""),
    "sum": ("classes", "example.Methods::sum", ""),
    "keys": ("classes", "example.Methods::keys", ""),
    "nothing": ("classes", "example.Methods::nothing", ""),
    "pause": ("classes", "example.Methods::pause", ""),
    "remaining": ("classes", "example.Methods::remaining", "Timeout: 7\n"),
    "boom": ("classes", "example.Boom", ""),
    "methodBoom": ("classes", "example.Methods::boom", ""),
    "sleepy": ("classes", "example.Methods::sleep", "Timeout: 2\n"),
    "hog": ("classes", "example.Methods::hog", "MemorySize: 512\n"),
    "badInit": ("classes", "example.BadInit", ""),
    "badConstructor": ("classes", "example.BadConstructor", ""),
    "missingClass": ("classes", "example.Nope", ""),
    "missingMethod": ("classes", "example.Methods::nope", ""),
    "notAHandler": ("classes", "example.Person", ""),
    "usesLib": ("ziplayout", "example.UsesLib", ""),
    "fat": ("fat", "fat.FatHandler", ""),
    "tooNew": ("toonew", "example.Boom", ""),
    "java21": ("toonew", "example.Boom", "Runtime: java21\n"),
    "java11": ("classes", "example.Hello", "Runtime: java11\n"),
}


def _template(code: dict[str, Path]) -> str:
    out = [
        "Transform: AWS::Serverless-2016-10-31",
        "Globals:",
        "  Function:",
        "    Runtime: java17",
        "    MemorySize: 256",
        "    Timeout: 30",
        "Resources:",
    ]
    for name, (layout, handler, extra) in FUNCTIONS.items():
        out += [
            f"  {name[0].upper()}{name[1:]}Fn:",
            "    Type: AWS::Serverless::Function",
            "    Properties:",
            f"      FunctionName: {name}",
            f"      CodeUri: {code[layout]}",
            f"      Handler: {handler}",
            *(f"      {line}" for line in extra.splitlines()),
        ]
    return "\n".join(out) + "\n"


@pytest.fixture(scope="module")
def fl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Faaslab]:
    work = tmp_path_factory.mktemp("java")
    code = java_build.build(work / "code")
    template = work / "template.yaml"
    template.write_text(_template(code))
    yield from running_faaslab(template, work / "state")


@pytest.fixture(scope="module")
def lam(fl: Faaslab) -> Any:
    return fl.client()


def call(lam: Any, name: str, event: Any = None, **kw: Any) -> tuple[dict[str, Any], Any]:
    return invoke(lam, name, event if event is not None else {}, **kw)


def ok(lam: Any, name: str, event: Any = None, **kw: Any) -> Any:
    r, out = call(lam, name, event, **kw)
    assert "FunctionError" not in r, out
    return out


def logs(fl: Faaslab, name: str) -> str:
    return "\n".join(str(r["m"]) for r in fl.get(f"/_faaslab/logs/{name}")["records"])


def warnings(fl: Faaslab) -> list[str]:
    """The warnings `faaslab up` printed in its banner."""
    return list(fl.get("/_faaslab/functions")["warnings"])


def test_warns_at_up_which_jdk_runs_java11(fl: Faaslab) -> None:
    jdk, note = jvm.choose_jdk("java11", jvm.installed_jdks())
    if jdk.major == 11:
        pytest.skip("this machine has a JDK 11")
    assert note is not None and note.startswith(f"java11 functions run on JDK {jdk.major} here")
    assert note in warnings(fl)


def test_map_handler_context_and_logs(fl: Faaslab, lam: Any) -> None:
    r, out = call(lam, "hello", {"name": "Ann", "n": [1, 2]}, LogType="Tail")
    assert "FunctionError" not in r, out
    assert out["event"] == {"name": "Ann", "n": [1, 2]}
    assert out["functionName"] == "hello"
    assert out["functionVersion"] == "$LATEST"
    assert out["arn"] == "arn:aws:lambda:us-east-1:123456789012:function:hello"
    assert out["memory"] == 256
    assert 0 < out["remaining"] <= 30_000
    assert out["logGroup"] == "/aws/lambda/hello"
    assert out["logStream"]
    assert out["requestId"] == r["ResponseMetadata"]["RequestId"]
    assert out["cwd"] == "/var/task"
    assert out["javaVersion"] == "17"
    # Lambda's heap for a JVM of MemorySize 256: MaxHeapSize 85% (the JVM reports a bit less)
    assert 200 <= out["maxHeapMb"] <= 218
    tail = base64.b64decode(r["LogResult"]).decode()
    assert f"hello from {out['requestId']}" in tail
    assert "stdout line" in tail
    assert "Hello: class loaded" in logs(fl, "hello")


def test_client_context_reaches_the_handler(lam: Any) -> None:
    cc = base64.b64encode(json.dumps({"custom": {"k": "v"}, "env": {}}).encode()).decode()
    assert ok(lam, "hello", {}, ClientContext=cc)["clientContext"] == {"k": "v"}


def test_warm_reuse_keeps_statics(lam: Any) -> None:
    first = ok(lam, "helloJar", {"i": 1})
    second = ok(lam, "helloJar", {"i": 2})
    assert second["container"] == first["container"]
    assert second["uses"] == first["uses"] + 1


def test_parallel_calls_get_their_own_environments(fl: Faaslab) -> None:
    # Each call holds its environment for 1.5 s, so three at once need three.
    with ThreadPoolExecutor(3) as pool:
        outs = list(pool.map(lambda i: ok(fl.client(), "pause", {"ms": 1500}), range(3)))
    assert len({o["container"] for o in outs}) == 3
    assert len(fl.environments("pause")) == 3


@pytest.mark.parametrize("name", ["pojo", "pojoMethod", "pojoChild"])
def test_pojo_in_and_out(lam: Any, name: str) -> None:
    # (naming the method: the declared one, not the compiler's handleRequest(Object, ...))
    out = ok(lam, name, {"name": "Bo", "age": 41, "city": "Tacoma", "unknown": True})
    assert out == {"message": "Hello Bo from Tacoma", "nextAge": 42}  # null left out


def test_stream_handler_gets_raw_bytes(lam: Any) -> None:
    assert ok(lam, "stream", {"a": "b"}) == "{'A': 'B'}"


def test_method_handlers(lam: Any) -> None:
    assert ok(lam, "shout", "hey") == "HEY!"
    assert ok(lam, "sum", [1, 2, 3]) == 6
    assert ok(lam, "keys", {"a": 1, "b": 2}) == 2
    assert ok(lam, "nothing", {}) is None
    assert 0 < int(ok(lam, "remaining", {})) <= 7000


def test_bad_json_for_the_event_type(lam: Any) -> None:
    r, out = call(lam, "shout", {"not": "a string"})
    assert r["FunctionError"] == "Unhandled"
    assert out["errorType"] == "java.lang.RuntimeException"
    assert out["errorMessage"] == "An error occurred during JSON parsing"


def test_exception_shape(fl: Faaslab, lam: Any) -> None:
    r, out = call(lam, "boom")
    assert r["FunctionError"] == "Unhandled"
    assert out["errorType"] == "java.lang.UnsupportedOperationException"
    assert out["errorMessage"] == "it broke"
    assert out["stackTrace"][:2] == [
        "example.Boom.explode(Boom.java:14)",
        "example.Boom.handleRequest(Boom.java:10)",
    ]
    assert not any("faaslab" in frame for frame in out["stackTrace"])
    assert "it broke: java.lang.UnsupportedOperationException" in logs(fl, "boom")
    assert ok(lam, "hello", {})["uses"] >= 1  # (another function; boom's runtime lives on)
    r, out = call(lam, "methodBoom", {"why": "because"})
    assert out["errorType"] == "java.lang.IllegalStateException"
    assert out["errorMessage"] == "boom: because"
    assert out["stackTrace"][0].startswith("example.Methods.boom(Methods.java:")


def test_init_errors(lam: Any) -> None:
    r, out = call(lam, "badInit")
    assert r["FunctionError"] == "Unhandled"
    assert out["errorType"] == "java.lang.ExceptionInInitializerError"
    assert out["errorMessage"] == "Error loading class example.BadInit"
    r, out = call(lam, "badConstructor")
    assert out["errorType"] == "java.lang.IllegalArgumentException"
    assert out["errorMessage"] == "no configuration"


def test_class_file_too_new_for_the_jdk(fl: Faaslab, lam: Any) -> None:
    r, out = call(lam, "tooNew")
    assert r["FunctionError"] == "Unhandled"
    assert out["errorType"] == "java.lang.UnsupportedClassVersionError"
    assert out["errorMessage"].startswith("Error loading class example.Boom: ")
    assert "class file version 65.0" in out["errorMessage"]


def test_java21_class_files(fl: Faaslab, lam: Any) -> None:
    """A Java 21 class file under Runtime java21: it runs where a JDK >= 21 is installed;
    elsewhere it fails as on a JDK too old, and the log says which JDK ran it."""
    jdk, note = jvm.choose_jdk("java21", jvm.installed_jdks())
    _, out = call(lam, "java21")
    if jdk.major >= 21:
        assert out["errorType"] == "java.lang.UnsupportedOperationException"  # Boom ran
        assert out["errorMessage"] == "it broke"
    else:
        assert out["errorType"] == "java.lang.UnsupportedClassVersionError"
        assert f"faaslab: {note}" in logs(fl, "java21")
    if note:
        assert note in warnings(fl)


def test_handler_not_found(lam: Any) -> None:
    r, out = call(lam, "missingClass")
    assert r["FunctionError"] == "Unhandled"
    assert out == {
        "errorMessage": "Class not found: example.Nope",
        "errorType": "java.lang.ClassNotFoundException",
    }
    r, out = call(lam, "missingMethod")
    assert out == {
        "errorMessage": "No public method named nope with appropriate method signature "
        "found on class example.Methods"
    }
    r, out = call(lam, "notAHandler")
    assert out == {
        "errorMessage": "Class does not implement an appropriate handler interface: example.Person"
    }


def test_timeout_then_a_fresh_runtime(lam: Any) -> None:
    r, out = call(lam, "sleepy")
    assert r["FunctionError"] == "Unhandled"
    assert out["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 2.00 seconds" in out["errorMessage"]
    r, out = call(lam, "sleepy")
    assert out["errorType"] == "Sandbox.Timedout"


def test_out_of_memory_is_javas(fl: Faaslab, lam: Any) -> None:
    r, out = call(lam, "hog")
    assert r["FunctionError"] == "Unhandled"
    assert out["errorType"] == "java.lang.OutOfMemoryError", out
    assert out["errorMessage"] == "Java heap space"
    # The runtime exits after a VirtualMachineError (as Lambda's does); the next call
    # starts a new one.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        r, out = call(lam, "hog")
        if out.get("errorType") == "java.lang.OutOfMemoryError":
            break
    assert out["errorType"] == "java.lang.OutOfMemoryError"


def test_zip_layout_with_lib_jars(lam: Any) -> None:
    assert ok(lam, "usesLib", {"name": "Cy"}) == "Greetings, Cy"


def test_jar_bundling_its_own_core(fl: Faaslab, lam: Any) -> None:
    assert ok(lam, "fat", {"n": 3}) == "fat 3 fat"
    text = logs(fl, "fat")
    assert "fat handler ran" in text
    assert "BUNDLED" not in text  # the runtime's interfaces won (parent first)

"""The runtime registry: what each family execs and sets, and the entrypoint's errors."""

from __future__ import annotations

import datetime
import errno
from pathlib import Path

import pytest

from faaslab.functions import entrypoint, runtimes
from faaslab.functions.model import FunctionConfig


def function(runtime: str, code_dir: Path, memory_mb: int = 128) -> FunctionConfig:
    return FunctionConfig(
        name="fn",
        logical_id="Fn",
        handler="app.handler",
        runtime=runtime,
        code_dir=code_dir,
        memory_mb=memory_mb,
    )


def test_every_runtime_has_one_family() -> None:
    names = runtimes.supported()
    assert len(names) == len(set(names))
    assert {"python3.12", "nodejs20.x", "nodejs22.x", "provided.al2023", "provided.al2"} <= set(
        names
    )
    assert all(runtimes.family_of(n) is not None for n in names)
    assert runtimes.family_of("nodejs18.x") is None


@pytest.mark.parametrize(("memory", "semi", "old"), [(128, 6, 116), (1024, 51, 922)])
def test_node_heap_flags_follow_aws_bootstrap(
    tmp_path: Path, memory: int, semi: int, old: int
) -> None:
    """AWS's /var/runtime/bootstrap: new space a tenth of MemorySize, old space the rest."""
    argv = runtimes.NodeJs().command(function("nodejs20.x", tmp_path, memory))
    assert argv is not None
    assert f"--max-semi-space-size={semi}" in argv
    assert f"--max-old-space-size={old}" in argv
    assert argv[-1] == str(runtimes.NODE_RUNTIME) and runtimes.NODE_RUNTIME.is_file()


def test_another_node_major_is_warned_about(tmp_path: Path) -> None:
    version = runtimes.node_version()
    if version is None:
        pytest.skip("no node on this machine")
    major = version.lstrip("v").split(".")[0]
    family = runtimes.NodeJs()
    same = f"nodejs{major}.x"
    if same in family.names:
        assert not any(
            "runs on this machine" in w for w in family.warnings(function(same, tmp_path))
        )
    other = next(n for n in family.names if n != same)
    assert any(
        f"runs on this machine's Node.js {version}" in w
        for w in family.warnings(function(other, tmp_path))
    )


def test_a_runtime_past_its_end_of_support_is_warned_about(tmp_path: Path) -> None:
    warnings = runtimes.NodeJs().warnings(function("nodejs20.x", tmp_path))
    said = [w for w in warnings if "end of support" in w]
    if datetime.date.today() < runtimes.END_OF_SUPPORT["nodejs20.x"]:
        assert said == []
    else:
        assert said == [
            "fn: nodejs20.x reached end of support on AWS Lambda on 2026-04-30 (Node.js 20's "
            "end of life); AWS then blocks creating, later updating, its functions"
        ]
    assert not any(
        "end of support" in w for w in runtimes.NodeJs().warnings(function("nodejs22.x", tmp_path))
    )


def test_provided_looks_in_the_code_then_in_layers(tmp_path: Path) -> None:
    family = runtimes.Provided()
    assert family.command(function("provided.al2023", tmp_path)) == ["/opt/bootstrap"]
    (tmp_path / "bootstrap").write_text("#!/bin/sh\n")
    assert family.command(function("provided.al2023", tmp_path)) == ["/var/task/bootstrap"]


@pytest.mark.parametrize(
    ("path", "code", "message"),
    [
        (
            "/opt/bootstrap",
            errno.ENOENT,
            "Couldn't find valid bootstrap(s): [/var/task/bootstrap /opt/bootstrap]",
        ),
        ("/var/task/bootstrap", errno.EACCES, "fork/exec /var/task/bootstrap: permission denied"),
        ("/var/task/bootstrap", errno.ENOEXEC, "fork/exec /var/task/bootstrap: exec format error"),
        (
            "/var/task/bootstrap",
            errno.ENOENT,  # (a "#!/bin/sh\r" line: the interpreter is missing)
            "fork/exec /var/task/bootstrap: no such file or directory",
        ),
    ],
)
def test_invalid_entrypoint_in_lambdas_words(path: str, code: int, message: str) -> None:
    assert entrypoint.invalid_entrypoint_message(path, code) == message


def test_execution_env_is_not_defined_for_os_only_runtimes() -> None:
    assert runtimes.execution_env("nodejs22.x") == "AWS_Lambda_nodejs22.x"
    assert runtimes.execution_env("python3.12") == "AWS_Lambda_python3.12"
    assert runtimes.execution_env("provided.al2023") is None
    assert runtimes.execution_env("provided.al2") is None


@pytest.mark.parametrize(
    ("path", "env", "real"),
    [
        ("/var/task/bootstrap", {"LAMBDA_TASK_ROOT": "/var/task"}, "/var/task/bootstrap"),
        ("/var/task/bootstrap", {"LAMBDA_TASK_ROOT": "/srv/code"}, "/srv/code/bootstrap"),
        ("/opt/bootstrap", {"FAASLAB_OPT_DIR": "/srv/layers"}, "/srv/layers/bootstrap"),
        ("/opt/bootstrap", {}, "/opt/bootstrap"),
        ("/usr/bin/node", {"LAMBDA_TASK_ROOT": "/srv/code"}, "/usr/bin/node"),
    ],
)
def test_entrypoint_paths_without_a_mount_namespace(
    path: str, env: dict[str, str], real: str
) -> None:
    assert entrypoint.where(path, env) == real

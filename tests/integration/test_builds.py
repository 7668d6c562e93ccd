"""Builds and layers on a real `faaslab up`: a `sam init` Python hello world with
Powertools from PyPI runs unchanged; layers (as given, built by BuildMethod, a .zip) are
merged in order at /opt, read-only, on Python's sys.path and PATH; a .zip CodeUri runs; a
second build installs nothing; a pip failure stops `up` with pip's own words."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FIXTURES, ROOT, Faaslab, invoke, running_faaslab

BUILD_TIMEOUT = 900  # pip from PyPI, on a busy two-core machine


def faaslab_cli(*args: str, timeout: float = BUILD_TIMEOUT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "faaslab.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=timeout,
    )


def build(template: Path) -> str:
    """`faaslab build`, which must succeed; its output (stderr: the progress)."""
    done = faaslab_cli("build", str(template))
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def zip_dir(source: Path, archive: Path) -> None:
    """A .zip as `sam package` makes it: relative names, Unix modes recorded."""
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(source.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(source))


# -- the `sam init` hello world with Powertools ------------------------------------------------


@dataclass
class App:
    faaslab: Faaslab
    dir: Path
    builds: list[str]  # the output of each `faaslab build` before `up`


@pytest.fixture(scope="module")
def hello(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    root = tmp_path_factory.mktemp("hello")
    app = root / "sam-app"
    shutil.copytree(FIXTURES / "sam_python_hello", app)
    first = build(app / "template.yaml")
    for fl in running_faaslab(app / "template.yaml", root / "state"):
        yield App(fl, app, [first])


def test_powertools_hello_world_is_built_from_pypi(hello: App) -> None:
    out = hello.builds[0]
    assert "function HelloWorldFunction: building from" in out
    assert "hello_world: copy, pip install for python3.12" in out
    assert "pip install -r requirements.txt" in out
    assert "Successfully installed" in out and "aws-lambda-powertools" in out
    built = hello.dir / ".faaslab" / "build" / "HelloWorldFunction"
    assert (built / "app.py").is_file() and (built / "aws_lambda_powertools").is_dir()
    # `up` found the build fresh
    log = hello.faaslab.log_path.read_text()
    assert f"function HelloWorldFunction: up to date ({built})" in log


def test_powertools_hello_world_answers_on_its_route(hello: App) -> None:
    with urllib.request.urlopen(hello.faaslab.url + "/hello", timeout=60) as r:
        assert r.status == 200
        assert json.loads(r.read()) == {"message": "hello world"}


def test_powertools_hello_world_through_boto3(hello: App) -> None:
    event = {
        "resource": "/hello",
        "path": "/hello",
        "httpMethod": "GET",
        "headers": {},
        "requestContext": {"requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"},
        "body": None,
        "isBase64Encoded": False,
    }
    r, out = invoke(hello.faaslab.client(), "HelloWorldFunction", event)
    assert "FunctionError" not in r, out
    assert out["statusCode"] == 200 and json.loads(out["body"]) == {"message": "hello world"}
    logs = hello.faaslab.get("/_faaslab/logs/HelloWorldFunction")
    text = json.dumps(logs)
    assert "Hello world API - HTTP 200" in text  # Powertools' structured log line


# -- layers, a .zip CodeUri, the cache -------------------------------------------------------


@pytest.fixture(scope="module")
def layered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    root = tmp_path_factory.mktemp("layers")
    app = root / "app"
    shutil.copytree(FIXTURES / "layers_app", app)
    zip_dir(app / "zipped", app / "zipped.zip")
    zip_dir(app / "zipfn", app / "zipfn.zip")
    template = app / "template.yaml"
    builds = [build(template), build(template)]  # the second: nothing to do
    (app / "deps" / "deps_marker.py").write_text('NAME = "deps layer, edited"\n')
    builds.append(build(template))  # the layer's files changed, its requirements did not
    for fl in running_faaslab(template, root / "state"):
        yield App(fl, app, builds)


def call(app: App, function: str) -> Any:
    r, out = invoke(app.faaslab.client(), function)
    assert "FunctionError" not in r, out
    return out


def test_layers_are_merged_in_order_at_opt(layered: App) -> None:
    out = call(layered, "LayersFn")
    assert out["greeting"] == "hello from the tools layer"
    assert out["shared"] == "zipped"  # Zipped comes after Tools: its file wins
    assert out["marker"] == "deps layer, edited"
    assert out["six"] == "/opt/python/six.py"  # Deps' requirements.txt, built into python/
    assert out["tool"] == "greet from /opt/bin"
    assert out["sys_path"] == [
        "/var/task",
        "/opt/python/lib/python3.12/site-packages",
        "/opt/python",
    ]
    assert out["PATH"].split(":")[-1] == "/opt/bin"
    assert out["LD_LIBRARY_PATH"].split(":")[-1] == "/opt/lib"
    assert out["opt"] == "Read-only file system"
    # NodeDeps: npm install --omit=dev (is-odd is a devDependency); Made: make's output
    assert [m for m in out["node_modules"] if not m.startswith(".")] == ["is-number"]
    assert out["made"] == "made by make"


def test_a_zip_code_uri_is_unpacked_with_its_modes(layered: App) -> None:
    out = call(layered, "ZipFn")
    assert out == {"task_root": "/var/task", "script": "ran from the zip"}


def test_a_second_build_installs_nothing(layered: App) -> None:
    first, second, third = layered.builds
    assert "copy into python/, pip install for python3.12" in first
    assert "Successfully installed six-1.16.0" in first
    assert "layer Tools: as given" in first
    assert "copy into nodejs/, npm install for nodejs20.x" in first and "npm install" in first
    assert "/made: make build-Made" in first
    assert "layer Deps: up to date" in second and "function ZipFn: up to date" in second
    assert "pip install -r" not in second and "building" not in second
    # the layer's own file changed: copied again, its packages from the cache
    assert "layer Deps: building" in third and "dependencies from cache" in third
    assert "pip install -r" not in third


# -- failures --------------------------------------------------------------------------------


def test_a_pip_failure_stops_up_naming_the_function(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text("def handler(event, context):\n    return 1\n")
    (tmp_path / "src" / "requirements.txt").write_text("this is === not a requirement\n")
    (tmp_path / "template.yaml").write_text(
        "Transform: AWS::Serverless-2016-10-31\n"
        "Resources:\n"
        "  BrokenFn:\n"
        "    Type: AWS::Serverless::Function\n"
        "    Properties: {Handler: app.handler, Runtime: python3.12, CodeUri: src}\n"
    )
    up = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "faaslab.cli",
            "up",
            str(tmp_path / "template.yaml"),
            "--port",
            "0",
            "--state-dir",
            str(tmp_path / "s"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        _, err = up.communicate(timeout=120)  # (pip refuses the line at once, offline)
    finally:  # an `up` that started anyway would run until stopped
        if up.poll() is None:
            up.terminate()  # (a clean stop: it unmounts its spares' /tmp)
            try:
                up.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                up.kill()
                up.communicate()
    assert up.returncode not in (0, None)
    assert (
        "Error: build failed: function BrokenFn: `pip install -r requirements.txt` "
        "failed (exit 1)" in err
    ), err
    assert "Invalid requirement" in err  # pip's own words
    assert "faaslab 0.1.0 up at" not in err and "Traceback" not in err

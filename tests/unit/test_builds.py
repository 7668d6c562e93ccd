"""Builds and layers without a running faaslab: the template's layer resources, the build
plan, the dependency cache (a scripted pip), archives, layer merging and each runtime's
/opt paths."""

from __future__ import annotations

import os
import stat
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from faaslab.builds.builder import Builder, build_template, link_tree, unpack
from faaslab.builds.errors import BuildError
from faaslab.builds.plan import Tool, cache_key, function_artifact, plan
from faaslab.functions import layers
from faaslab.functions.model import FunctionConfig
from faaslab.template import Template, TemplateError, load_template

HEADER = "Transform: AWS::Serverless-2016-10-31\n"


def app(tmp_path: Path, resources: str, files: dict[str, str] | None = None) -> Path:
    """A template with `resources` (YAML under Resources:) and `files` beside it."""
    for name, text in (files or {}).items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    template = tmp_path / "template.yaml"
    template.write_text(HEADER + "Resources:\n" + textwrap.indent(textwrap.dedent(resources), "  "))
    return template


def load(tmp_path: Path, resources: str, files: dict[str, str] | None = None) -> Template:
    return load_template(app(tmp_path, resources, files))


def error_of(tmp_path: Path, resources: str, files: dict[str, str] | None = None) -> str:
    with pytest.raises(TemplateError) as info:
        load(tmp_path, resources, files)
    return str(info.value)


FN = """
Fn:
  Type: AWS::Serverless::Function
  Properties:
    Handler: app.handler
    Runtime: {runtime}
    CodeUri: {code}
"""
LAYER = """
{lid}:
  Type: AWS::Serverless::LayerVersion
  Properties:
    ContentUri: {content}
"""


def fn(runtime: str = "python3.12", code: str = "src", layers_: str = "") -> str:
    body = FN.format(runtime=runtime, code=code)
    return body + (f"    Layers: [{layers_}]\n" if layers_ else "")


# -- the template's layers ------------------------------------------------------------------


def test_layer_ref_is_its_arn_and_functions_list_layers_in_order(tmp_path: Path) -> None:
    resources = fn(layers_="!Ref B, !Ref A") + LAYER.format(lid="A", content="a")
    resources += "B:\n  Type: AWS::Lambda::LayerVersion\n  Properties:\n"
    resources += "    LayerName: bee\n    Content: b.zip\n    CompatibleRuntimes: [python3.12]\n"
    t = load(tmp_path, resources, {"src/app.py": "", "a/x": "", "b.zip": ""})
    a, b = t.layers["A"], t.layers["B"]
    assert a.arn == "arn:aws:lambda:us-east-1:123456789012:layer:A:1"
    assert b.name == "bee" and b.content == (tmp_path / "b.zip").resolve()
    assert b.compatible_runtimes == ("python3.12",)
    assert t.functions["Fn"].layers == (b, a)
    assert "A" not in t.unsupported and "B" not in t.unsupported


def test_more_than_five_layers_is_refused_with_lambdas_words(tmp_path: Path) -> None:
    ids = [f"L{i}" for i in range(6)]
    resources = fn(layers_=", ".join(f"!Ref {i}" for i in ids))
    resources += "".join(LAYER.format(lid=i, content="a") for i in ids)
    message = error_of(tmp_path, resources, {"src/app.py": "", "a/x": ""})
    assert "Resources.Fn.Properties.Layers: Cannot reference more than 5 layers." in message


def test_a_layer_arn_from_elsewhere_is_refused(tmp_path: Path) -> None:
    arn = "arn:aws:lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPythonV3:7"
    message = error_of(tmp_path, fn(layers_=arn), {"src/app.py": ""})
    assert "Resources.Fn.Properties.Layers[0]" in message
    assert "is not a layer of this template" in message and "ContentUri" in message


def test_layer_content_in_s3_is_refused(tmp_path: Path) -> None:
    resources = fn() + "L:\n  Type: AWS::Lambda::LayerVersion\n  Properties:\n"
    resources += "    Content: {S3Bucket: b, S3Key: k}\n"
    message = error_of(tmp_path, resources, {"src/app.py": ""})
    assert "Resources.L.Properties.Content" in message and "not S3" in message


def test_zip_code_uri_is_accepted(tmp_path: Path) -> None:
    t = load(tmp_path, fn(code="code.zip"), {"code.zip": ""})
    assert t.functions["Fn"].code_dir == (tmp_path / "code.zip").resolve()


# -- the plan -------------------------------------------------------------------------------


def test_plan_keys_on_the_runtime_family(tmp_path: Path) -> None:
    """requirements.txt only for python runtimes, package.json only for nodejs ones (the
    runtime's name prefix: the families themselves live in functions/runtimes.py)."""
    for name in ("requirements.txt", "package.json"):
        (tmp_path / name).write_text("{}")

    def tool(runtime: str) -> Tool:
        config = FunctionConfig("f", "F", "app.handler", runtime, tmp_path)
        return function_artifact(config, []).tool

    assert tool("python3.12") is Tool.PIP
    assert tool("nodejs20.x") is Tool.NPM and tool("nodejs22.x") is Tool.NPM
    assert tool("provided.al2023") is Tool.AS_GIVEN
    (tmp_path / "pom.xml").write_text("<project/>")
    warnings: list[str] = []
    config = FunctionConfig("f", "F", "Hello::handleRequest", "java21", tmp_path)
    assert function_artifact(config, warnings).tool is Tool.AS_GIVEN
    assert warnings and "pom.xml is not built" in warnings[0]


def test_plan_python_only(tmp_path: Path) -> None:
    resources = fn(layers_="!Ref Py, !Ref Plain") + LAYER.format(lid="Plain", content="plain")
    resources += LAYER.format(lid="Py", content="py") + "  Metadata: {BuildMethod: python3.12}\n"
    files = {"src/requirements.txt": "six\n", "plain/bin/tool": "", "py/greeting.py": ""}
    p = plan(load(tmp_path, resources, files))
    code = p.functions["Fn"].code
    assert (code.tool, code.manifests, code.needs_build) == (Tool.PIP, ("requirements.txt",), True)
    py, plain = p.functions["Fn"].layers
    # a python layer without requirements.txt still goes under python/
    assert (py.tool, py.subdir, py.needs_build) == (Tool.AS_GIVEN, "python", True)
    assert (plain.tool, plain.needs_build) == (Tool.AS_GIVEN, False)


def test_unsupported_build_methods_are_refused(tmp_path: Path) -> None:
    resources = fn() + "  Metadata: {BuildMethod: esbuild}\n"
    with pytest.raises(BuildError, match=r"function Fn: Metadata.BuildMethod esbuild"):
        plan(load(tmp_path, resources, {"src/app.py": ""}))
    resources = fn(layers_="!Ref L") + LAYER.format(lid="L", content="l")
    resources += "  Metadata: {BuildMethod: java21}\n"
    with pytest.raises(BuildError, match=r"layer L: Metadata.BuildMethod java21"):
        plan(load(tmp_path / "2", resources, {"src/app.py": "", "l/x": ""}))


def test_incompatible_runtime_is_warned_about(tmp_path: Path) -> None:
    resources = fn(layers_="!Ref L") + LAYER.format(lid="L", content="l")
    resources += "    CompatibleRuntimes: [python3.9]\n"
    p = plan(load(tmp_path, resources, {"src/app.py": "", "l/x": ""}))
    assert p.warnings and "CompatibleRuntimes are python3.9" in p.warnings[0]


def test_cache_key_follows_manifest_runtime_and_architecture(tmp_path: Path) -> None:
    t = load(tmp_path, fn(), {"src/requirements.txt": "six\n"})
    a = plan(t).functions["Fn"].code
    key = cache_key(a, {"requirements.txt": b"six\n"})
    assert key == cache_key(a, {"requirements.txt": b"six\n"})
    assert key != cache_key(a, {"requirements.txt": b"six==1.16.0\n"})
    for change in ({"runtime": "python3.13"}, {"architecture": "arm64"}):
        import dataclasses

        assert key != cache_key(dataclasses.replace(a, **change), {"requirements.txt": b"six\n"})


# -- the builder, with a scripted pip ---------------------------------------------------------

FAKE_PIP = """\
import pathlib, sys
args = sys.argv[1:]
assert args[:3] == ["-m", "pip", "install"], args
requirements = pathlib.Path(args[args.index("-r") + 1]).read_text()
if "fail" in requirements:
    print("ERROR: Invalid requirement: 'fail ==='", flush=True)
    sys.exit(1)
target = pathlib.Path(args[args.index("--target") + 1])
(target / "dep.py").write_text("VERSION = " + repr(requirements.strip()) + "\\n")
with open(pathlib.Path(__file__).with_suffix(".calls"), "a") as f:
    f.write("install\\n")
print("Successfully installed dep-1.0", flush=True)
"""


def scripted_build(tmp_path: Path, template: Path) -> tuple[list[str], Builder, Template]:
    fake = tmp_path / "fakepy"
    fake.write_text(f"#!{sys.executable}\n" + FAKE_PIP)
    fake.chmod(0o755)
    lines: list[str] = []
    builder = Builder(tmp_path / "build", lines.append, python=str(fake))
    loaded = load_template(template)
    the_plan = plan(loaded)
    for name, fn_plan in the_plan.functions.items():
        builder.artifact(fn_plan.code)
        del name
    return lines, builder, loaded


def installs(tmp_path: Path) -> int:
    calls = tmp_path / "fakepy.calls"
    return len(calls.read_text().splitlines()) if calls.exists() else 0


def test_second_build_installs_nothing(tmp_path: Path) -> None:
    template = app(tmp_path / "app", fn(), {"src/app.py": "x = 1\n", "src/requirements.txt": "a"})
    lines, builder, _ = scripted_build(tmp_path, template)
    out = tmp_path / "build" / "Fn"
    assert (out / "dep.py").read_text() == "VERSION = 'a'\n" and (out / "app.py").exists()
    assert builder.outcomes["Fn"].deps == "installed" and installs(tmp_path) == 1
    # unchanged: not even copied again
    lines, builder, _ = scripted_build(tmp_path, template)
    assert builder.outcomes["Fn"].status == "up to date" and installs(tmp_path) == 1
    assert any("up to date" in line for line in lines)
    # the code changed, requirements.txt did not: copied again, dependencies from the cache
    (tmp_path / "app" / "src" / "app.py").write_text("x = 2\n")
    lines, builder, _ = scripted_build(tmp_path, template)
    assert builder.outcomes["Fn"] == builder.outcomes["Fn"].__class__(out, "built", "cached")
    assert installs(tmp_path) == 1 and (out / "app.py").read_text() == "x = 2\n"
    assert any("dependencies from cache" in line for line in lines)
    # requirements.txt changed: installed again
    (tmp_path / "app" / "src" / "requirements.txt").write_text("b")
    scripted_build(tmp_path, template)
    assert installs(tmp_path) == 2 and (out / "dep.py").read_text() == "VERSION = 'b'\n"


def test_pip_failure_names_the_function_and_shows_pips_words(tmp_path: Path) -> None:
    template = app(tmp_path / "app", fn(), {"src/app.py": "", "src/requirements.txt": "fail ==="})
    with pytest.raises(BuildError) as info:
        scripted_build(tmp_path, template)
    message = str(info.value)
    assert message.startswith("function Fn: `pip install -r requirements.txt` failed (exit 1)")
    assert "ERROR: Invalid requirement: 'fail ==='" in message
    assert not (tmp_path / "build" / "Fn").exists()  # no half-built artifact
    assert not any(p.name.startswith("Fn.tmp") for p in (tmp_path / "build").iterdir())


def test_the_build_dir_itself_is_not_copied(tmp_path: Path) -> None:
    """CodeUri "." is the template's directory, which holds .faaslab/build."""
    files = {"app.py": "", "requirements.txt": "a", ".faaslab/build/junk": ""}
    template = app(tmp_path, fn(code="."), files)
    fake = tmp_path / "fakepy"
    fake.write_text(f"#!{sys.executable}\n" + FAKE_PIP)
    fake.chmod(0o755)
    builder = Builder(tmp_path / ".faaslab" / "build", lambda line: None, python=str(fake))
    builder.artifact(plan(load_template(template)).functions["Fn"].code)
    out = tmp_path / ".faaslab" / "build" / "Fn"
    assert (out / "app.py").exists() and not (out / ".faaslab").exists()


def test_layers_merge_in_order_and_the_template_points_at_the_builds(tmp_path: Path) -> None:
    resources = fn(layers_="!Ref A, !Ref B") + LAYER.format(lid="A", content="a")
    resources += LAYER.format(lid="B", content="b")
    files = {
        "src/app.py": "",
        "a/python/shared.py": "WHO = 'a'\n",
        "a/python/only_a.py": "",
        "b/python/shared.py": "WHO = 'b'\n",
    }
    t = load(tmp_path, resources, files)
    built, _ = build_template(t, tmp_path / "build", lambda line: None)
    f = built.functions["Fn"]
    assert f.code_dir == (tmp_path / "src").resolve()  # nothing to build: as given
    assert f.opt_dir == tmp_path / "build" / "Fn.opt"
    assert (f.opt_dir / "python" / "shared.py").read_text() == "WHO = 'b'\n"
    assert (f.opt_dir / "python" / "only_a.py").exists()
    # one layer: its own directory, no merge
    one = load(tmp_path / "one", fn(layers_="!Ref A") + LAYER.format(lid="A", content="a"), files)
    built, _ = build_template(one, tmp_path / "one" / "build", lambda line: None)
    assert built.functions["Fn"].opt_dir == (tmp_path / "one" / "a").resolve()


def test_no_build_refuses_an_unbuilt_archive(tmp_path: Path) -> None:
    t = load(tmp_path, fn(code="code.zip"), {"code.zip": ""})
    with pytest.raises(BuildError, match=r"code.zip must be unpacked: run `faaslab build`"):
        build_template(t, tmp_path / "build", lambda line: None, build=False)


# -- file operations --------------------------------------------------------------------------


def test_unpack_keeps_modes_and_links_and_stays_inside(tmp_path: Path) -> None:
    archive = tmp_path / "code.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        info = zipfile.ZipInfo("bin/run.sh")
        info.external_attr = (stat.S_IFREG | 0o755) << 16
        zf.writestr(info, "#!/bin/sh\n")
        dos = zipfile.ZipInfo("app.py")
        dos.create_system, dos.external_attr = 0, 0x20  # a Windows zip: no Unix mode
        zf.writestr(dos, "x = 1\n")
        link = zipfile.ZipInfo("bin/run")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, "run.sh")
    out = tmp_path / "out"
    out.mkdir()
    unpack(archive, out)
    assert stat.S_IMODE((out / "bin" / "run.sh").stat().st_mode) == 0o755
    assert stat.S_IMODE((out / "app.py").stat().st_mode) == 0o644
    assert os.readlink(out / "bin" / "run") == "run.sh"
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("../outside.py", "")
    with pytest.raises(BuildError, match="points outside the archive"):
        unpack(evil, tmp_path / "out2")


def test_link_tree_keeps_or_replaces(tmp_path: Path) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    (src / "d").mkdir(parents=True)
    (src / "d" / "f").write_text("new")
    (dst / "d").mkdir(parents=True)
    (dst / "d" / "f").write_text("old")
    link_tree(src, dst, replace=False)
    assert (dst / "d" / "f").read_text() == "old"
    link_tree(src, dst, replace=True)
    assert (dst / "d" / "f").read_text() == "new"
    assert (dst / "d" / "f").stat().st_ino == (src / "d" / "f").stat().st_ino  # a link


# -- each runtime's paths into /opt -----------------------------------------------------------


def test_runtime_paths_into_opt() -> None:
    assert layers.python_paths("python3.12") == [
        "/opt/python/lib/python3.12/site-packages",
        "/opt/python",
    ]
    py = layers.variables("python3.12")
    assert py["PATH"].endswith(":/opt/bin") and py["LD_LIBRARY_PATH"].endswith(":/opt/lib")
    assert "NODE_PATH" not in py
    node = layers.variables("nodejs20.x")["NODE_PATH"].split(":")
    assert node[:2] == ["/opt/nodejs/node20/node_modules", "/opt/nodejs/node_modules"]
    assert node[-1] == "/var/task"
    assert layers.java_classpath() == "/opt/java/lib/*"
    assert layers.variables("python3.12", opt="/x/opt")["PATH"].endswith(":/x/opt/bin")


def test_globals_layers_come_before_the_functions_own(tmp_path: Path) -> None:
    resources = fn(layers_="!Ref B") + LAYER.format(lid="A", content="a")
    resources += LAYER.format(lid="B", content="b")
    template = app(tmp_path, resources, {"src/app.py": "", "a/x": "", "b/x": ""})
    text = template.read_text().replace(
        "Resources:", "Globals:\n  Function:\n    Layers: [!Ref A]\nResources:", 1
    )
    template.write_text(text)
    t = load_template(template)
    assert [la.logical_id for la in t.functions["Fn"].layers] == ["A", "B"]


def test_layers_need_an_opt_the_runtime_does_not_live_in() -> None:
    from faaslab.functions import sandbox

    with pytest.raises(OSError, match="where the runtime itself lives"):
        sandbox._check_opt(["/usr/lib/python3", "/opt/python3.12/lib"])
    if os.path.isdir("/opt"):
        sandbox._check_opt(["/usr/lib/python3", "/optional"])  # (not below /opt)


def test_layer_properties_are_checked_like_every_resources(tmp_path: Path) -> None:
    resources = fn(layers_="!Ref L") + LAYER.format(lid="L", content="l")
    files = {"src/app.py": "", "l/x": ""}
    message = error_of(tmp_path, resources + "    Contents: l\n", files)
    assert (
        "Resource with id [L] is invalid. property Contents not defined for resource of type "
        "AWS::Serverless::LayerVersion" in message
    )
    t = load(tmp_path / "2", resources + "    RetentionPolicy: Retain\n", files)
    assert [(w.resource, w.prop) for w in t.warnings] == [("L", "RetentionPolicy")]


def test_merging_copies_the_users_own_layer_files(tmp_path: Path) -> None:
    """An as-given layer's files are the user's: merged by copy, their modes untouched."""
    resources = fn(layers_="!Ref A, !Ref B") + LAYER.format(lid="A", content="a")
    resources += LAYER.format(lid="B", content="b")
    t = load(tmp_path, resources, {"src/app.py": "", "a/x": "", "b/y": ""})
    (tmp_path / "a" / "x").chmod(0o600)
    built, _ = build_template(t, tmp_path / "build", lambda line: None)
    opt = built.functions["Fn"].opt_dir
    assert opt is not None and (opt / "x").stat().st_ino != (tmp_path / "a" / "x").stat().st_ino
    assert stat.S_IMODE((tmp_path / "a" / "x").stat().st_mode) == 0o600
    assert stat.S_IMODE((opt / "x").stat().st_mode) == 0o644  # readable by the function

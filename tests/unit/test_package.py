"""Deployment packages given as files: a jar or zip CodeUri is extracted, as Lambda does."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from faaslab.functions import package
from faaslab.template import TemplateError, load_template


def _jar(path: Path, entries: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        for name, text in entries.items():
            z.writestr(name, text)
    return path


def test_unpack_once_per_content(tmp_path: Path) -> None:
    jar = _jar(tmp_path / "app.jar", {"example/Hello.class": "x", "lib/dep.jar": "y"})
    first = package.unpack(jar, tmp_path / "cache")
    assert (first / "example" / "Hello.class").read_text() == "x"
    assert (first / "lib" / "dep.jar").stat().st_mode & 0o777 == 0o644
    assert package.unpack(jar, tmp_path / "cache") == first
    _jar(jar, {"example/Hello.class": "changed"})
    assert package.unpack(jar, tmp_path / "cache") != first


def test_entry_leaving_the_package_is_refused(tmp_path: Path) -> None:
    jar = _jar(tmp_path / "evil.zip", {"../outside.txt": "x"})
    with pytest.raises(package.PackageError, match="leaves the package"):
        package.unpack(jar, tmp_path / "cache")
    assert not (tmp_path / "outside.txt").exists()


def test_code_uri_jar_in_a_template(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    _jar(tmp_path / "app.jar", {"example/Hello.class": "x"})
    (tmp_path / "broken.jar").write_text("not a zip")
    head = "Transform: AWS::Serverless-2016-10-31\nResources:\n"
    fn = "  {0}:\n    Type: AWS::Serverless::Function\n    Properties:\n"
    fn += "      Runtime: java17\n      Handler: example.Hello\n      CodeUri: {1}\n"
    good = tmp_path / "good.yaml"
    good.write_text(head + fn.format("Jar", "app.jar"))
    code = load_template(good).functions["Jar"].code_dir
    assert (code / "example" / "Hello.class").is_file()
    assert (tmp_path / "xdg" / "faaslab" / "packages") in code.parents
    bad = tmp_path / "bad.yaml"
    bad.write_text(head + fn.format("Bad", "broken.jar"))
    with pytest.raises(TemplateError, match=r"CodeUri: .*broken.jar: not a zip or jar file"):
        load_template(bad)
    unbuilt = tmp_path / "unbuilt.yaml"
    unbuilt.write_text(head + fn.format("Unbuilt", "target/app.jar"))
    with pytest.raises(TemplateError, match=r"target/app.jar: no such file .*build the package"):
        load_template(unbuilt)

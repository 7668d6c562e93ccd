"""Settings: defaults, flag > FAASLAB_* variable > default, coercion, help texts."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from faaslab.config import SETTINGS, Config, from_env, help_for

EXPECTED_DEFAULTS = {
    "host": "127.0.0.1",
    "port": 4566,
    "console": True,
    "console_port": 0,
    "state_dir": None,
    "time_scale": 1.0,
    "init_timeout": 10.0,
    "cpu_limits": False,
    "cpu_placement": True,
    "data_api_timeout": 45.0,
    "keep_alive": 600.0,
    "max_lifetime": 21600.0,
    "concurrency": 1000,
    "request_log": True,
    "strict_credentials": False,
    "region": "us-east-1",
    "uid_base": 200000,
    "isolation": "auto",
    "db_memory_per_acu_mb": 64,
    "db_max_pg_connections": 500,
    "db_fast_path": True,
    "http_idle_timeout": 60.0,
    "http_request_timeout": 20.0,
    "build": True,
    "build_dir": None,
}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No FAASLAB_* variable from the outer environment may leak into these tests."""
    for name in SETTINGS:
        monkeypatch.delenv(f"FAASLAB_{name.upper()}", raising=False)


def test_defaults() -> None:
    cfg = Config()
    assert {f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg)} == EXPECTED_DEFAULTS


def test_from_env_without_anything_is_the_defaults() -> None:
    assert from_env({}) == Config()


def test_config_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Config().port = 1  # type: ignore[misc]


def test_env_var_beats_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAASLAB_PORT", "4600")
    monkeypatch.setenv("FAASLAB_REGION", "eu-west-1")
    cfg = from_env({})
    assert cfg.port == 4600
    assert cfg.region == "eu-west-1"
    assert cfg.host == "127.0.0.1"  # untouched settings keep their default


def test_override_beats_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAASLAB_PORT", "4600")
    monkeypatch.setenv("FAASLAB_HOST", "0.0.0.0")
    cfg = from_env({"port": 4700})
    assert cfg.port == 4700
    assert cfg.host == "0.0.0.0"


def test_none_override_means_not_given(monkeypatch: pytest.MonkeyPatch) -> None:
    """click passes None for flags that were not used: the variable then applies."""
    monkeypatch.setenv("FAASLAB_CONCURRENCY", "7")
    cfg = from_env({"concurrency": None, "port": None})
    assert cfg.concurrency == 7
    assert cfg.port == 4566


def test_override_without_env_var() -> None:
    assert from_env({"keep_alive": 5.0}).keep_alive == 5.0


def test_falsy_override_still_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAASLAB_PORT", "4600")
    monkeypatch.setenv("FAASLAB_TIME_SCALE", "60")
    cfg = from_env({"port": 0, "time_scale": 0.0})
    assert cfg.port == 0
    assert cfg.time_scale == 0.0


def test_coercion_of_int_float_and_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FAASLAB_PORT", "4601")
    monkeypatch.setenv("FAASLAB_UID_BASE", "300000")
    monkeypatch.setenv("FAASLAB_CONCURRENCY", "12")
    monkeypatch.setenv("FAASLAB_TIME_SCALE", "60")
    monkeypatch.setenv("FAASLAB_KEEP_ALIVE", "1.5")
    monkeypatch.setenv("FAASLAB_MAX_LIFETIME", "3600")
    monkeypatch.setenv("FAASLAB_STATE_DIR", str(tmp_path / "st"))
    monkeypatch.setenv("FAASLAB_ISOLATION", "none")
    cfg = from_env({})
    assert cfg.port == 4601 and type(cfg.port) is int
    assert cfg.uid_base == 300000 and type(cfg.uid_base) is int
    assert cfg.concurrency == 12 and type(cfg.concurrency) is int
    assert cfg.time_scale == 60.0 and type(cfg.time_scale) is float
    assert cfg.keep_alive == 1.5 and type(cfg.keep_alive) is float
    assert cfg.max_lifetime == 3600.0 and type(cfg.max_lifetime) is float
    assert cfg.state_dir == tmp_path / "st" and isinstance(cfg.state_dir, Path)
    assert cfg.isolation == "none"


@pytest.mark.parametrize(
    ("var", "raw"),
    [
        ("FAASLAB_PORT", "http"),
        ("FAASLAB_PORT", "45.6"),
        ("FAASLAB_CONCURRENCY", ""),
        ("FAASLAB_UID_BASE", "lots"),
        ("FAASLAB_TIME_SCALE", "fast"),
        ("FAASLAB_KEEP_ALIVE", "10m"),
    ],
)
def test_bad_value_names_the_variable(monkeypatch: pytest.MonkeyPatch, var: str, raw: str) -> None:
    monkeypatch.setenv(var, raw)
    with pytest.raises(ValueError) as info:
        from_env({})
    assert var in str(info.value)
    assert repr(raw) in str(info.value)


def test_bad_env_var_is_irrelevant_when_flag_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAASLAB_PORT", "not-a-port")
    assert from_env({"port": 4567}).port == 4567


def test_every_field_has_help_text() -> None:
    assert set(SETTINGS) == {f.name for f in dataclasses.fields(Config)}
    for name in SETTINGS:
        text = help_for(name)
        assert isinstance(text, str)
        assert text.strip(), f"{name} has no help text"


def test_help_for_unknown_setting_raises() -> None:
    with pytest.raises(KeyError):
        help_for("no_such_setting")


def test_help_texts_are_distinct() -> None:
    texts = [help_for(n) for n in SETTINGS]
    assert len(set(texts)) == len(texts)


def test_resolved_state_dir_default_is_beside_the_template(tmp_path: Path) -> None:
    tpl = tmp_path / "proj" / "template.yaml"
    tpl.parent.mkdir()
    tpl.write_text("Resources: {}\n")
    assert Config().resolved_state_dir(tpl) == tmp_path.resolve() / "proj" / ".faaslab"


def test_resolved_state_dir_relative_template(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path)
    got = Config().resolved_state_dir(Path("sub/template.yaml"))
    assert got == tmp_path.resolve() / "sub" / ".faaslab"
    assert got.is_absolute()


def test_resolved_state_dir_without_template_is_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert Config().resolved_state_dir(None) == Path.cwd() / ".faaslab"


def test_explicit_state_dir_wins_and_is_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    cfg = Config(state_dir=Path("mystate"))
    assert cfg.resolved_state_dir(tmp_path / "elsewhere" / "template.yaml") == (
        tmp_path.resolve() / "mystate"
    )


@pytest.mark.parametrize("name", ["http_idle_timeout", "http_request_timeout"])
@pytest.mark.parametrize("value", [0.0, -1.0])
def test_http_timeouts_must_be_positive(name: str, value: float) -> None:
    with pytest.raises(ValueError, match=name):
        from_env({name: value})


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"console_port": 4566}, "must differ from the edge port"),
        ({"port": 4600, "console_port": 4600}, "must differ from the edge port"),
        ({"console_port": 70000}, "console_port must be 0"),
        ({"port": -1}, "port must be 0"),
    ],
)
def test_the_console_needs_a_port_of_its_own(overrides: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        from_env(overrides)


def test_both_ports_may_be_picked_by_the_system() -> None:
    assert from_env({"port": 0, "console_port": 0}).console_port == 0

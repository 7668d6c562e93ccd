"""`faaslab --help` and every command's help: they work, and show what the code defines."""

from __future__ import annotations

import re

import click
import pytest
from click.testing import CliRunner

from faaslab import __version__
from faaslab.cli import main
from faaslab.config import SETTINGS, Config, help_for

COMMANDS = {"up", "build", "invoke", "ps", "logs", "demo", "db"}
UP_SETTINGS = set(SETTINGS)  # every setting is a flag of `faaslab up`


def squash(text: str) -> str:
    """Text without any whitespace: help is re-wrapped to the terminal's width."""
    return "".join(text.split())


def help_of(*args: str) -> str:
    result = CliRunner().invoke(main, [*args, "--help"])
    assert result.exit_code == 0, result.output
    return result.output


def options(cmd: click.Command) -> list[click.Option]:
    return [p for p in cmd.params if isinstance(p, click.Option)]


def test_main_is_a_group_with_the_documented_commands() -> None:
    assert isinstance(main, click.Group)
    assert set(main.commands) == COMMANDS


def test_group_help() -> None:
    out = help_of()
    assert out.startswith("Usage: ")
    assert "faaslab: a serverless cloud on one machine." in out
    for name in COMMANDS:
        assert re.search(rf"^\s+{name}\s", out, re.M), f"command {name} not listed"
    for opt in options(main):
        for flag in opt.opts + opt.secondary_opts:
            assert flag in out
    assert "--version" in out and "-h, --help" in out


def test_short_help_option_works() -> None:
    result = CliRunner().invoke(main, ["-h"])
    assert result.exit_code == 0
    assert result.output == help_of()


def test_version() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"faaslab, version {__version__}"


def _leaf_commands() -> list[tuple[str, ...]]:
    """Every runnable command as its words: ("up",), ("db", "create"), ..."""
    out: list[tuple[str, ...]] = []
    for name, cmd in main.commands.items():
        if isinstance(cmd, click.Group):
            out += [(name, sub) for sub in cmd.commands]
        else:
            out.append((name,))
    return sorted(out)


DB_COMMANDS = {
    "create",
    "list",
    "describe",
    "delete",
    "events",
    "connect",
    "cost",
    "metrics",
    "stop",
    "start",
    "modify",
}


def test_db_group_has_the_cluster_commands() -> None:
    group = main.commands["db"]
    assert isinstance(group, click.Group)
    assert set(group.commands) == DB_COMMANDS
    out = help_of("db")
    for name in DB_COMMANDS:
        assert re.search(rf"^\s+{name}\s", out, re.M), f"db {name} not listed"


@pytest.mark.parametrize("words", _leaf_commands(), ids=" ".join)
def test_command_help_lists_every_option(words: tuple[str, ...]) -> None:
    cmd: click.Command = main
    for word in words:
        assert isinstance(cmd, click.Group)
        cmd = cmd.commands[word]
    name = " ".join(words)
    out = help_of(*words)
    assert out.startswith(f"Usage: main {name} [OPTIONS]")
    assert squash(cmd.get_short_help_str(limit=10_000).rstrip(".")) in squash(out)
    opts = options(cmd)
    assert opts, f"{name} has no options?"
    for opt in opts:
        for flag in opt.opts + opt.secondary_opts:
            assert re.search(rf"(^|[\s,]){re.escape(flag)}\b", out, re.M), f"{flag} missing"
        if opt.help:
            assert squash(opt.help) in squash(out), f"help of {opt.name} missing"
    for arg in cmd.params:
        if isinstance(arg, click.Argument):
            assert arg.human_readable_name in out


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_command_help_is_also_dash_h(name: str) -> None:
    result = CliRunner().invoke(main, [name, "-h"])
    assert result.exit_code == 0
    assert result.output == help_of(name)


def test_up_options_that_are_settings() -> None:
    up = main.commands["up"]
    assert {o.name for o in options(up) if o.name in SETTINGS} == UP_SETTINGS


@pytest.mark.parametrize("setting", sorted(UP_SETTINGS))
def test_up_help_shows_the_config_help_text(setting: str) -> None:
    out = squash(help_of("up"))
    flag = "--" + setting.replace("_", "-")
    assert flag in out
    text = help_for(setting)
    assert text.strip()
    assert squash(text) in out, f"{flag}: {text!r} not in help"


@pytest.mark.parametrize("setting", sorted(UP_SETTINGS))
def test_up_option_help_is_taken_from_config(setting: str) -> None:
    opt = next(o for o in options(main.commands["up"]) if o.name == setting)
    assert opt.help is not None
    assert opt.help.startswith(help_for(setting))
    # None, so that from_env can tell "flag not given" from a value
    assert opt.default is None


def test_up_hand_written_defaults_match_config() -> None:
    """The `[default: X]` suffixes are typed by hand in cli.py: they must not drift."""
    defaults = Config()
    checked = 0
    for opt in options(main.commands["up"]):
        if opt.name not in SETTINGS or not opt.help:
            continue
        m = re.search(r"\[default: ([^\]]+)\]", opt.help)
        if m is None:
            continue
        shown, actual = m.group(1), getattr(defaults, opt.name)
        if isinstance(actual, bool):
            assert shown == ("on" if actual else "off"), opt.name
        elif isinstance(actual, int | float):
            assert float(shown) == float(actual), opt.name
        else:
            assert shown == str(actual), opt.name
        checked += 1
    assert checked >= 6


def test_up_isolation_choices_match_config_help() -> None:
    opt = next(o for o in options(main.commands["up"]) if o.name == "isolation")
    assert isinstance(opt.type, click.Choice)
    assert list(opt.type.choices) == ["auto", "namespaces", "none"]
    assert help_for("isolation").startswith(" | ".join(opt.type.choices))
    assert Config().isolation in opt.type.choices


def test_up_help_mentions_env_vars() -> None:
    assert "FAASLAB_<NAME>" in help_of("up")


def test_endpoint_option_mentions_its_env_var() -> None:
    for name in ("invoke", "ps", "logs"):
        out = help_of(name)
        assert "--endpoint" in out
        assert "FAASLAB_ENDPOINT" in out
        assert "http://127.0.0.1:4566" in out


def test_group_help_example_keeps_its_line_break() -> None:
    assert re.search(r"--endpoint-url http://127\.0\.0\.1:4566 \\\n", help_of())

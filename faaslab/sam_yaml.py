"""Reading a SAM template file: YAML with CloudFormation's short tags (`!Ref`, `!Sub`...),
and SAM CLI's `--parameter-overrides` syntax. Everything after reading (parameters,
intrinsics, resources) is template.py's."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml

_LOGICAL_ID = re.compile(r"[A-Za-z0-9]+")
_OVERRIDE = re.compile(  # one pair, and the blanks after it
    r"(?:ParameterKey=(?P<k1>[^\s,=]*),ParameterValue=|(?P<k2>[^\s=]*)=)"
    r"(?P<v>\"(?:\\.|[^\"\\])*\"|'[^']*'|\S*)(?:\s+|$)"
)
_INTRINSICS = "Sub GetAtt Join Select Split Base64 FindInMap If Equals And Or Not ImportValue"
_SHORT_TAGS = ["Ref", "Condition"] + [f"Fn::{name}" for name in _INTRINSICS.split()]
_SHORT_TAGS += ["Fn::GetAZs", "Fn::Cidr", "Fn::Transform", "Fn::Length", "Fn::ToJsonString"]


class TemplateError(Exception):
    """A template that faaslab cannot load; the message names the file and the key path."""


class _YamlLoader(yaml.SafeLoader):
    """A SafeLoader that reads `!Ref x` as `{"Ref": "x"}`, `!Sub s` as `{"Fn::Sub": s}`..."""


def _tag_constructor(full: str) -> Callable[[yaml.SafeLoader, yaml.Node], dict[str, Any]]:
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        if isinstance(node, yaml.ScalarNode):
            return {full: loader.construct_scalar(node)}
        if isinstance(node, yaml.SequenceNode):
            return {full: loader.construct_sequence(node, deep=True)}
        assert isinstance(node, yaml.MappingNode)
        return {full: loader.construct_mapping(node, deep=True)}

    return construct


for _full in _SHORT_TAGS:
    _YamlLoader.add_constructor("!" + _full.removeprefix("Fn::"), _tag_constructor(_full))


def parse_parameter_overrides(values: Sequence[str]) -> dict[str, str]:
    """Parse SAM CLI's `--parameter-overrides`: `Key=Value` and
    `ParameterKey=Key,ParameterValue=Value` pairs, several per string, separated by blanks;
    a value with blanks is quoted (`Key="a b"`)."""
    out: dict[str, str] = {}
    for text in values:
        pos = len(text) - len(text.lstrip())
        while pos < len(text):
            match = _OVERRIDE.match(text, pos)
            key = match and (match.group("k1") or match.group("k2"))
            if match is None or not key or not _LOGICAL_ID.fullmatch(key):
                raise TemplateError(
                    f"--parameter-overrides: {text[pos:].split()[0]!r} is neither Key=Value "
                    "nor ParameterKey=Key,ParameterValue=Value (quote values with blanks)"
                )
            value = match.group("v")
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = re.sub(r"\\(.)", r"\1", value[1:-1])
            elif len(value) >= 2 and value[0] == value[-1] == "'":
                value = value[1:-1]
            out[key] = value
            pos = match.end()
    return out


def read_template_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TemplateError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TemplateError(f"{path}: cannot read: {exc}") from None
    try:
        doc = yaml.load(text, Loader=_YamlLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise TemplateError(f"{path}: invalid YAML{at}: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise TemplateError(f"{path}: invalid YAML: {exc}") from None
    if not isinstance(doc, dict):
        raise TemplateError(f"{path}: a template is a YAML mapping with a Resources section")
    return doc

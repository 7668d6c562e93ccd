"""CloudWatch Logs' term filter patterns (functions/logs_api.matcher)."""

from __future__ import annotations

import pytest

from faaslab.awsapi.errors import ApiError
from faaslab.functions.logs_api import matcher


@pytest.mark.parametrize(
    ("pattern", "message", "matches"),
    [
        ("", "anything", True),
        ("ERROR", "an ERROR here", True),
        ("ERROR", "an error here", False),  # (case-sensitive, as CloudWatch's terms)
        ("ERROR timeout", "ERROR: a timeout", True),
        ("ERROR timeout", "ERROR: a crash", False),
        ('"Task timed out"', "Task timed out after 3.00 seconds", True),
        ('"Task timed out"', "Task out timed", False),
        ("?ERROR ?WARN", "WARN: slow", True),
        ("?ERROR ?WARN", "INFO: fine", False),
        ("ERROR -retry", "ERROR then retry", False),
        ("ERROR -retry", "ERROR for good", True),
    ],
)
def test_term_patterns(pattern: str, message: str, matches: bool) -> None:
    assert matcher(pattern)(message) is matches


@pytest.mark.parametrize("pattern", ["{ $.level = 1 }", "[ip, user]", "%ERR.*%", '"open'])
def test_patterns_faaslab_cannot_match_are_refused(pattern: str) -> None:
    with pytest.raises(ApiError) as e:
        matcher(pattern)
    assert e.value.code == "InvalidParameterException"

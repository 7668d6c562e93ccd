"""The environment lifecycle table: every legal edge, and the illegal ones raise."""

from __future__ import annotations

import pytest

from faaslab.functions.environment import (
    TRANSITIONS,
    EnvEvent,
    EnvState,
    IllegalTransition,
    next_state,
)

S, E = EnvState, EnvEvent

# The lifecycle as documented in the module docstring and the EnvEvent comments,
# written out independently of TRANSITIONS so a changed table is noticed.
DOCUMENTED = {
    (S.STARTING, E.NEXT): S.IDLE,
    (S.STARTING, E.ASSIGN): S.BUSY,
    (S.STARTING, E.RESET): S.STARTING,
    (S.STARTING, E.STOP): S.STOPPED,
    (S.IDLE, E.NEXT): S.IDLE,
    (S.IDLE, E.ASSIGN): S.BUSY,
    (S.IDLE, E.RESET): S.STARTING,
    (S.IDLE, E.EXPIRE): S.STOPPED,
    (S.IDLE, E.STOP): S.STOPPED,
    (S.BUSY, E.RESULT): S.IDLE,
    (S.BUSY, E.RESET): S.STARTING,
    (S.BUSY, E.STOP): S.STOPPED,
    (S.STOPPED, E.STOP): S.STOPPED,
}

ALL_PAIRS = [(s, e) for s in EnvState for e in EnvEvent]
ILLEGAL = [pair for pair in ALL_PAIRS if pair not in DOCUMENTED]


@pytest.mark.parametrize(("state", "event"), list(DOCUMENTED))
def test_legal_transition_yields_documented_state(state: EnvState, event: EnvEvent) -> None:
    assert next_state("env-1", state, event) is DOCUMENTED[(state, event)]


def test_table_has_exactly_the_documented_edges() -> None:
    table = {(s, e): t for s, edges in TRANSITIONS.items() for e, t in edges.items()}
    assert table == DOCUMENTED


def test_every_state_has_an_entry() -> None:
    assert set(TRANSITIONS) == set(EnvState)
    for state in EnvState:
        assert TRANSITIONS[state], f"{state} has no outgoing transition"


def test_stopped_is_terminal_except_stop() -> None:
    assert TRANSITIONS[S.STOPPED] == {E.STOP: S.STOPPED}
    for event in EnvEvent:
        if event is E.STOP:
            assert next_state("e", S.STOPPED, event) is S.STOPPED
        else:
            with pytest.raises(IllegalTransition):
                next_state("e", S.STOPPED, event)


def test_nothing_but_stop_or_expire_reaches_stopped() -> None:
    for state, edges in TRANSITIONS.items():
        for event, target in edges.items():
            if target is S.STOPPED:
                assert event in (E.STOP, E.EXPIRE), (state, event)


@pytest.mark.parametrize(
    ("state", "event"),
    [
        (S.BUSY, E.ASSIGN),  # an environment runs one invocation at a time
        (S.STOPPED, E.ASSIGN),
        (S.IDLE, E.RESULT),  # no invocation to finish
        (S.STARTING, E.RESULT),
        (S.BUSY, E.EXPIRE),  # a busy environment is never expired
        (S.STOPPED, E.RESET),
        (S.BUSY, E.NEXT),
    ],
)
def test_illegal_transition_names_env_state_and_event(state: EnvState, event: EnvEvent) -> None:
    with pytest.raises(IllegalTransition) as info:
        next_state("env-42abc", state, event)
    msg = str(info.value)
    assert "env-42abc" in msg
    assert repr(state.value) in msg
    assert repr(event.value) in msg
    assert info.value.state is state
    assert info.value.event is event
    assert isinstance(info.value, RuntimeError)
    # not a KeyError leaking out of the table lookup
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__


@pytest.mark.parametrize(("state", "event"), ILLEGAL)
def test_every_pair_outside_the_table_raises(state: EnvState, event: EnvEvent) -> None:
    with pytest.raises(IllegalTransition):
        next_state("x", state, event)


def test_message_format() -> None:
    with pytest.raises(IllegalTransition) as info:
        next_state("abc", S.IDLE, E.RESULT)
    assert str(info.value) == "environment abc: event 'result' is illegal in state 'idle'"

"""The lifecycle of an execution environment, as one transition table.

An environment is one sandbox (mount namespace, private /tmp, uid, cgroup) plus the
runtime process inside it. The runtime process can be replaced (after a timeout or a
crash) while the environment, and so its /tmp, lives on — as on AWS.

    STARTING --NEXT--> IDLE --ASSIGN--> BUSY --RESULT--> IDLE --EXPIRE--> STOPPED
        |                                 |
        +-ASSIGN-> BUSY                   +--RESET--> STARTING (runtime replaced, /tmp kept)

Whether an IDLE runtime is *frozen* (SIGSTOP) is not a state of its own: the manager
freezes it once the runtime has asked for its next invocation and nothing is waiting.
"""

from __future__ import annotations

import enum


class EnvState(enum.Enum):
    STARTING = "starting"  # runtime initialising (handler module importing)
    IDLE = "idle"  # warm: no invocation; frozen once the runtime waits in `next`
    BUSY = "busy"  # an invocation belongs to this environment
    STOPPED = "stopped"  # gone; /tmp released


class EnvEvent(enum.Enum):
    NEXT = "next"  # the runtime asked for work and none was waiting
    ASSIGN = "assign"  # the manager gave it an invocation
    RESULT = "result"  # the invocation finished (response or error posted)
    RESET = "reset"  # the runtime died or timed out; a new one is starting
    EXPIRE = "expire"  # idle too long, or past its maximum lifetime
    STOP = "stop"  # shutdown of the control plane, or a failed start


S, E = EnvState, EnvEvent

TRANSITIONS: dict[EnvState, dict[EnvEvent, EnvState]] = {
    S.STARTING: {
        E.NEXT: S.IDLE,
        E.ASSIGN: S.BUSY,
        E.RESET: S.STARTING,
        E.STOP: S.STOPPED,
    },
    S.IDLE: {
        E.NEXT: S.IDLE,
        E.ASSIGN: S.BUSY,
        E.RESET: S.STARTING,
        E.EXPIRE: S.STOPPED,
        E.STOP: S.STOPPED,
    },
    S.BUSY: {
        E.RESULT: S.IDLE,
        E.RESET: S.STARTING,
        E.STOP: S.STOPPED,
    },
    S.STOPPED: {
        E.STOP: S.STOPPED,
    },
}


class IllegalTransition(RuntimeError):
    def __init__(self, env_id: str, state: EnvState, event: EnvEvent) -> None:
        super().__init__(
            f"environment {env_id}: event {event.value!r} is illegal in state {state.value!r}"
        )
        self.state = state
        self.event = event


def next_state(env_id: str, state: EnvState, event: EnvEvent) -> EnvState:
    """The one place transitions are decided; anything not in the table raises."""
    try:
        return TRANSITIONS[state][event]
    except KeyError:
        raise IllegalTransition(env_id, state, event) from None

"""The case workflows (warning, hardship, exemption) as transition tables of one shape, decided by one function.

Each workflow lists its moves: an action, the states it applies in, the state it leads to, who may take it, who
is told, and whether it needs a note. Read as a table, a move is one row per state it applies in:
(state, action) -> (next state, who may act, who is told, note required). `decide()` checks a move against the
table, or raises `NotAllowed` with the actions that would work, so every refusal can name them. Kept pure so
every (state, action) pair is table-tested.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Generic, TypeVar


class Actor(StrEnum):
    """Who may take a move, as seen from the case."""

    STAFF = "staff"  # the federation's staff and administrators
    FILER = "filer"  # the member who filed the case (the chair, for a hardship application)


class Audience(StrEnum):
    """Who is told of a move."""

    FILER = "filer"  # the reporter of a warning, the chair who filed an application or asked for an exemption
    ON_DUTY_STAFF = "on_duty_staff"  # staff whose instant alerts are on (值班)


S = TypeVar("S", bound=Hashable)  # a workflow's states
A = TypeVar("A", bound=Hashable)  # a workflow's actions

STAFF_ONLY = frozenset({Actor.STAFF})
TELL_FILER = frozenset({Audience.FILER})


@dataclass(frozen=True)
class Move(Generic[S, A]):
    """One action: from `sources` it leads to `target`. `stamp` names the case's timestamp the move sets to now,
    `clears` the timestamps it empties (a reopened warning has no outcome any more)."""

    action: A
    sources: frozenset[S]
    target: S
    by: frozenset[Actor] = STAFF_ONLY
    tells: frozenset[Audience] = TELL_FILER
    needs_note: bool = False
    stamp: str | None = None
    clears: tuple[str, ...] = ()


@dataclass(frozen=True)
class Workflow(Generic[S, A]):
    """A case kind's moves, one per action; `kind` is the case kind its events are recorded under."""

    kind: str
    moves: tuple[Move[S, A], ...]
    _by_action: dict[A, Move[S, A]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_action = {move.action: move for move in self.moves}
        if len(by_action) != len(self.moves):
            raise ValueError(f"{self.kind}: one move per action")
        object.__setattr__(self, "_by_action", by_action)

    def move(self, action: A) -> Move[S, A]:
        return self._by_action[action]

    def allows(self, state: S, action: A, actor: Actor | None) -> bool:
        move = self._by_action[action]
        return state in move.sources and actor in move.by

    def possible(self, state: S, actor: Actor | None) -> list[A]:
        """The actions `actor` may take from `state`, in the table's order."""
        return [move.action for move in self.moves if self.allows(state, move.action, actor)]


class NotAllowed(Exception, Generic[S, A]):
    """The action does not apply to the case as it stands, or not for this actor; `possible` lists what does."""

    def __init__(self, state: S, action: A, possible: list[A]) -> None:
        super().__init__(f"{action} is not possible in state {state}")
        self.state = state
        self.action = action
        self.possible = possible


def decide(workflow: Workflow[S, A], state: S, action: A, actor: Actor | None) -> Move[S, A]:
    """The move `actor` makes by taking `action` on a case in `state`, or `NotAllowed`.

    `actor` is None for someone with no standing on the case (no move lists None, so nothing is allowed).
    """
    if not workflow.allows(state, action, actor):
        raise NotAllowed(state, action, workflow.possible(state, actor))
    return workflow.move(action)

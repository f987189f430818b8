"""The case workflows as tables: every (state, action) pair of each workflow, walked against the table.

Each expected table below is written out pair by pair, independently of `domain.workflows`, so a changed move
shows up here as a changed line.
"""

from __future__ import annotations

from typing import Any

import pytest

from domain.enums import HardshipState as H
from domain.enums import RequestState as R
from domain.enums import WarningState as W
from domain.warning_rules import Verb
from domain.workflows import Actor, Audience, NotAllowed, Workflow, decide
from domain.workflows.exemption import EXEMPTION
from domain.workflows.exemption import Action as EA
from domain.workflows.hardship import HARDSHIP
from domain.workflows.hardship import Action as HA
from domain.workflows.warning import WARNING, action_of, verbs
from domain.workflows.warning import Action as WA

# (state, action) -> the state it leads to; every pair not listed is refused.
WARNING_TABLE: dict[tuple[W, WA], W] = {
    (W.SUBMITTED, WA.ACKNOWLEDGE): W.ACKNOWLEDGED,
    (W.SUBMITTED, WA.VOID): W.VOID,
    (W.ACKNOWLEDGED, WA.VERIFY): W.VERIFYING,
    (W.ACKNOWLEDGED, WA.MEDIATE): W.MEDIATING,
    (W.ACKNOWLEDGED, WA.VOID): W.VOID,
    (W.VERIFYING, WA.MEDIATE): W.MEDIATING,
    (W.VERIFYING, WA.VOID): W.VOID,
    (W.MEDIATING, WA.RESOLVE): W.RESOLVED,
    (W.MEDIATING, WA.FAIL): W.FAILED,
    (W.MEDIATING, WA.REFER): W.REFERRED,
    (W.RESOLVED, WA.FOLLOW_UP): W.FOLLOW_UP,
    (W.RESOLVED, WA.CLOSE): W.CLOSED,
    (W.RESOLVED, WA.REOPEN): W.VERIFYING,
    (W.FAILED, WA.FOLLOW_UP): W.FOLLOW_UP,
    (W.FAILED, WA.CLOSE): W.CLOSED,
    (W.FAILED, WA.REOPEN): W.VERIFYING,
    (W.REFERRED, WA.FOLLOW_UP): W.FOLLOW_UP,
    (W.REFERRED, WA.CLOSE): W.CLOSED,
    (W.REFERRED, WA.REOPEN): W.VERIFYING,
    (W.VOID, WA.CLOSE): W.CLOSED,
    (W.VOID, WA.REOPEN): W.VERIFYING,
    (W.FOLLOW_UP, WA.CLOSE): W.CLOSED,
    (W.FOLLOW_UP, WA.REOPEN): W.VERIFYING,
    (W.CLOSED, WA.REOPEN): W.VERIFYING,
}
# action -> (needs a note, the timestamp it sets, the timestamps it clears); all are staff's, the reporter is told.
WARNING_MOVES: dict[WA, tuple[bool, str | None, tuple[str, ...]]] = {
    WA.ACKNOWLEDGE: (False, "acknowledged_at", ()),
    WA.VERIFY: (False, None, ()),
    WA.MEDIATE: (False, "mediation_started_at", ()),
    WA.RESOLVE: (True, "outcome_at", ()),
    WA.FAIL: (True, "outcome_at", ()),
    WA.REFER: (True, "outcome_at", ()),
    WA.VOID: (True, "outcome_at", ()),
    WA.FOLLOW_UP: (True, None, ()),
    WA.CLOSE: (False, "closed_at", ()),
    WA.REOPEN: (True, None, ("outcome_at", "closed_at")),
}

HARDSHIP_TABLE: dict[tuple[H, HA], H] = {
    (H.SUBMITTED, HA.RETURN): H.RETURNED,
    (H.SUBMITTED, HA.REJECT): H.REJECTED,
    (H.SUBMITTED, HA.VISIT): H.VISITED,
    (H.RETURNED, HA.REJECT): H.REJECTED,
    (H.RETURNED, HA.RESUBMIT): H.SUBMITTED,
    (H.VISITED, HA.RETURN): H.RETURNED,
    (H.VISITED, HA.REJECT): H.REJECTED,
    (H.VISITED, HA.NOTICE): H.NOTICE,
    (H.NOTICE, HA.REJECT): H.REJECTED,
    (H.NOTICE, HA.APPROVE): H.APPROVED,
    (H.APPROVED, HA.PAY): H.PAID,
    (H.APPROVED, HA.EXIT): H.EXITED,
    (H.PAID, HA.REVIEW): H.REVIEW,
    (H.PAID, HA.EXIT): H.EXITED,
    (H.REVIEW, HA.PAY): H.PAID,
    (H.REVIEW, HA.EXIT): H.EXITED,
}
HARDSHIP_NOTES = {HA.RETURN, HA.REJECT, HA.EXIT}  # a reason is required

EXEMPTION_TABLE: dict[tuple[R, EA], R] = {
    (R.PENDING, EA.APPROVE): R.APPROVED,
    (R.PENDING, EA.REJECT): R.REJECTED,
}

TABLES: list[tuple[Workflow[Any, Any], dict[Any, Any], list[Any], list[Any]]] = [
    (WARNING, WARNING_TABLE, list(W), list(WA)),
    (HARDSHIP, HARDSHIP_TABLE, list(H), list(HA)),
    (EXEMPTION, EXEMPTION_TABLE, list(R), list(EA)),
]
PAIRS = [
    pytest.param(workflow, table, state, action, id=f"{workflow.kind}-{state}-{action}")
    for workflow, table, states, actions in TABLES
    for state in states
    for action in actions
]


def expected_possible(workflow: Workflow[Any, Any], table: dict[Any, Any], state: Any, actor: Actor) -> list[Any]:
    """What the expected table lets `actor` do from `state`, in the workflow's order."""
    return [move.action for move in workflow.moves if (state, move.action) in table and actor in move.by]


@pytest.mark.parametrize(("workflow", "table", "state", "action"), PAIRS)
def test_every_state_and_action_is_decided_as_the_table_says(
    workflow: Workflow[Any, Any], table: dict[Any, Any], state: Any, action: Any
) -> None:
    [actor] = workflow.move(action).by
    assert workflow.possible(state, actor) == expected_possible(workflow, table, state, actor)
    if (state, action) in table:
        assert decide(workflow, state, action, actor).target == table[state, action]
        return
    with pytest.raises(NotAllowed) as refusal:
        decide(workflow, state, action, actor)
    assert (refusal.value.state, refusal.value.action) == (state, action)
    assert refusal.value.possible == expected_possible(workflow, table, state, actor)


@pytest.mark.parametrize(("workflow", "table", "state", "action"), PAIRS)
def test_only_who_the_table_names_may_act(
    workflow: Workflow[Any, Any], table: dict[Any, Any], state: Any, action: Any
) -> None:
    outsiders = [actor for actor in (*Actor, None) if actor not in workflow.move(action).by]
    for actor in outsiders:
        with pytest.raises(NotAllowed):
            decide(workflow, state, action, actor)


@pytest.mark.parametrize(("workflow", "table", "states", "actions"), TABLES, ids=[flow.kind for flow, *_ in TABLES])
def test_the_table_lists_no_move_but_the_expected_ones(
    workflow: Workflow[Any, Any], table: dict[Any, Any], states: list[Any], actions: list[Any]
) -> None:
    listed = {(state, move.action): move.target for move in workflow.moves for state in move.sources}
    assert listed == table
    assert [move.action for move in workflow.moves] == actions


def test_the_warning_moves_are_staff_s_need_notes_and_stamp_as_listed() -> None:
    for action, (needs_note, stamp, clears) in WARNING_MOVES.items():
        move = WARNING.move(action)
        assert (move.needs_note, move.stamp, move.clears) == (needs_note, stamp, clears), action
        assert (move.by, move.tells) == ({Actor.STAFF}, {Audience.FILER}), action


def test_every_warning_state_is_reachable_and_has_a_way_on() -> None:
    reached = {W.SUBMITTED}
    for _ in W:
        reached |= {WARNING_TABLE[pair] for pair in WARNING_TABLE if pair[0] in reached}
    assert reached == set(W)
    assert all(expected_possible(WARNING, WARNING_TABLE, state, Actor.STAFF) for state in W)


def test_staff_take_every_hardship_step_and_the_chair_is_told_but_resubmits_their_own() -> None:
    for move in HARDSHIP.moves:
        assert move.needs_note == (move.action in HARDSHIP_NOTES), move.action
        assert (move.stamp, move.clears) == (None, ()), move.action
        if move.action is HA.RESUBMIT:
            assert (move.by, move.tells) == ({Actor.FILER}, {Audience.ON_DUTY_STAFF})
        else:
            assert (move.by, move.tells) == ({Actor.STAFF}, {Audience.FILER}), move.action


def test_staff_decide_an_exemption_once_a_refusal_says_why_and_the_chair_is_told() -> None:
    assert [move.action for move in EXEMPTION.moves if move.needs_note] == [EA.REJECT]
    assert all((move.by, move.tells) == ({Actor.STAFF}, {Audience.FILER}) for move in EXEMPTION.moves)
    assert EXEMPTION.possible(R.APPROVED, Actor.STAFF) == EXEMPTION.possible(R.REJECTED, Actor.STAFF) == []


def test_only_a_returned_application_can_be_corrected_and_only_by_its_chair() -> None:
    assert [state for state in H if HARDSHIP.allows(state, HA.RESUBMIT, Actor.FILER)] == [H.RETURNED]
    assert not HARDSHIP.allows(H.RETURNED, HA.RESUBMIT, Actor.STAFF)
    assert not HARDSHIP.allows(H.RETURNED, HA.RESUBMIT, None)


@pytest.mark.parametrize(
    ("verb", "note", "action"),
    [
        (Verb.ACKNOWLEDGE, "", WA.ACKNOWLEDGE),
        (Verb.FAIL, "企业拒绝调解", WA.FAIL),
        (Verb.FAIL, "", WA.FAIL),
        (Verb.FAIL, "转仲裁", WA.REFER),
        (Verb.FAIL, "移交人社监察", WA.REFER),
        (Verb.RESOLVE, "转账已付清", WA.RESOLVE),
        (Verb.REOPEN, "又有人聚集", WA.REOPEN),
        (Verb.VIEW, "", None),
        (Verb.RELEVEL, "重大 人数增加", None),
    ],
)
def test_a_verb_and_its_note_name_the_warning_action(verb: Verb, note: str, action: WA | None) -> None:
    assert action_of(verb, note) == action


def test_failing_and_referring_are_one_verb_when_listed() -> None:
    assert verbs(WARNING.possible(W.MEDIATING, Actor.STAFF)) == [Verb.RESOLVE, Verb.FAIL]
    assert verbs(WARNING.possible(W.SUBMITTED, Actor.STAFF)) == [Verb.ACKNOWLEDGE, Verb.VOID]

"""预警: the queue of dispute warnings and each case's page, with the chat's own verbs as buttons.

An action is the staff command it mirrors (`化解 W12 说明`), run through `handlers.dispute_warning.case_command`
as the staff member, so the workflow table, the case log and the reporter's update are exactly the chat's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Annotated
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlmodel import Session

from bot.services import links, render
from bot.staff_desk import acting, pages
from bot.staff_desk.auth import Acting, Staff, services
from domain import commands, timefmt
from domain.enums import WarningLevel, WarningState
from domain.warning_rules import MAX_NOTE, MEDIATION_DAYS, VERB_WORDS, Verb, current_mediation_day
from domain.workflows import Actor
from domain.workflows.warning import VERBS, WARNING, verbs
from handlers import dispute_warning
from handlers.context import Context
from storage import desk_warnings, media, stats, warnings
from storage.desk_auth import Viewer
from storage.desk_warnings import QueueFilter, Window
from storage.models import DisputeWarning

router = APIRouter()

LEVELS = (WarningLevel.MAJOR, WarningLevel.SERIOUS, WarningLevel.GENERAL)  # most urgent first
OPEN = frozenset(stats.OPEN_WARNING_STATES)
ALL_STATES = "all"
ACTION_WORDS = frozenset(VERB_WORDS) - {Verb.VIEW}


@dataclass(frozen=True)
class Age:
    """A band of days open (inclusive; `last` None for "and more"): the dashboard's columns, the queue's filter."""

    key: str
    label: str
    first: int
    last: int | None

    def window(self, today: date, zone: ZoneInfo) -> Window:
        """The reporting instants of cases `first`..`last` days open on `today`."""

        def start(day: date) -> datetime:
            return datetime.combine(day, time(0), tzinfo=zone)

        since = start(today - timedelta(days=self.last)) if self.last is not None else None
        before = start(today - timedelta(days=self.first - 1)) if self.first > 0 else None
        return Window(since, before)


AGES = (
    Age("0-3", "3天内", 0, 3),
    Age("4-7", "4–7天", 4, 7),
    Age("8-15", f"8–{MEDIATION_DAYS}天", 8, MEDIATION_DAYS),
    Age(f"{MEDIATION_DAYS + 1}-", f"超过{MEDIATION_DAYS}天", MEDIATION_DAYS + 1, None),
)


@dataclass(frozen=True)
class LevelRow:
    level: WarningLevel
    counts: list[int]

    @property
    def total(self) -> int:
        return sum(self.counts)


@dataclass(frozen=True)
class Overview:
    """Open warnings by level (rows) and by days open (columns): the dashboard's way into the queue."""

    ages: tuple[Age, ...]
    rows: list[LevelRow]

    @property
    def totals(self) -> list[int]:
        return [sum(column) for column in zip(*(row.counts for row in self.rows), strict=True)]

    @property
    def total(self) -> int:
        return sum(row.total for row in self.rows)


def overview(session: Session, now: datetime, zone: ZoneInfo) -> Overview:
    today = now.astimezone(zone).date()
    windows = [age.window(today, zone) for age in AGES]
    counted = desk_warnings.count_by_level_and_window(session, stats.OPEN_WARNING_STATES, windows)
    rows = [LevelRow(level, [counted.get((level, index), 0) for index in range(len(AGES))]) for level in LEVELS]
    return Overview(AGES, rows)


@dataclass(frozen=True)
class Row:
    warning: DisputeWarning
    enterprise: str
    days_open: int | None  # open cases only
    mediation_day: int | None


def _states(word: str) -> tuple[str, ...]:
    if word == ALL_STATES:
        return tuple(WarningState)
    if word in WarningState.__members__.values():
        return (word,)
    return stats.OPEN_WARNING_STATES


@router.get("/desk/warnings")
def queue_page(
    request: Request, viewer: Staff, state: str = "", level: str = "", q: str = "", age: str = ""
) -> Response:
    """The queue, oldest report first; filters in the query string so a view can be bookmarked."""
    found = services(request)
    now, zone = found.clock(), found.settings.zone
    band = next((item for item in AGES if item.key == age), None)
    chosen = QueueFilter(
        states=_states(state),
        level=level if level in WarningLevel.__members__.values() else None,
        name=q.strip(),
        reported=band.window(now.astimezone(zone).date(), zone) if band else Window(),
    )
    with found.db.transaction(keep_loaded=True) as session:
        pager = pages.pager(request, desk_warnings.queue_count(session, chosen))
        found_rows = desk_warnings.queue(session, chosen, pager.offset, pager.size)
    rows = [
        Row(
            warning,
            enterprise,
            timefmt.days_between(warning.created_at, now, zone) if warning.state in OPEN else None,
            current_mediation_day(warning.state, warning.mediation_started_at, now, zone),
        )
        for warning, enterprise in found_rows
    ]
    return pages.show(
        request,
        viewer,
        "warnings.html.j2",
        rows=rows,
        pager=pager,
        state=state if state == ALL_STATES or state in WarningState.__members__.values() else "",
        states=list(WarningState),
        level=chosen.level or "",
        levels=LEVELS,
        q=chosen.name,
        age=band.key if band else "",
        ages=AGES,
        days=MEDIATION_DAYS,
    )


@dataclass(frozen=True)
class Entry:
    """One line of the case log as staff read it: who acted by name, never by openid."""

    at: datetime
    state: str
    relevel: bool
    note: str
    who: str


@dataclass(frozen=True)
class ActionForm:
    """A verb staff may use now; `example` is the chat's sample note for the verbs that need one."""

    verb: Verb
    needs_note: bool
    example: str


def _actions(state: WarningState) -> list[ActionForm]:
    possible = WARNING.possible(state, Actor.STAFF)
    forms = []
    for verb in verbs(possible):
        needs_note = any(WARNING.move(action).needs_note for action in possible if VERBS[action] is verb)
        kind = dispute_warning.NOTE_EXAMPLES.get(verb)
        example = render.render("dispute_warning/note_example.j2", kind=kind) if kind else ""
        forms.append(ActionForm(verb, needs_note, example))
    return forms


def _not_found(request: Request, viewer: Viewer, receipt: str) -> Response:
    return pages.not_found(request, viewer, "预警", "/desk/warnings", receipt)


def _who(actor: str, warning: DisputeWarning, known: dict[str, str]) -> str:
    if actor in known:
        return known[actor]
    return "上报人" if actor == warning.reporter else "工作人员"


@router.get("/desk/warnings/{receipt}")
def case_page(request: Request, viewer: Staff, receipt: str) -> Response:
    """Every fact the warner filed, the level and its grounds, the log, the photos, and what staff may do now."""
    found = services(request)
    settings, now = found.settings, found.clock()
    with found.db.transaction(keep_loaded=True) as session:
        warning = warnings.by_receipt(session, receipt)
        if warning is None:
            return _not_found(request, viewer, receipt)
        enterprise = warnings.enterprise_name(session, warning)
        events = warnings.events(session, warning)
        known = desk_warnings.names(session, {warning.reporter, *(event.actor for event in events)})
        stored = [item.path for item in media.files_of(session, dispute_warning.photo_owner(warning)) if item.path]
    log = [
        Entry(
            event.at, event.to_state, event.from_state == event.to_state, event.note, _who(event.actor, warning, known)
        )
        for event in events
    ]
    photos = [urlsplit(links.signed_url(settings, path, now)) for path in stored]
    return pages.show(
        request,
        viewer,
        "warning.html.j2",
        w=warning,
        enterprise=enterprise,
        reporter=known.get(warning.reporter, ""),
        day=current_mediation_day(warning.state, warning.mediation_started_at, now, settings.zone),
        days=MEDIATION_DAYS,
        days_open=timefmt.days_between(warning.created_at, now, settings.zone) if warning.state in OPEN else None,
        log=log,
        photos=[f"{link.path}?{link.query}" for link in photos],
        actions=_actions(warning.state),
        levels=LEVELS,
        max_note=MAX_NOTE,
    )


@router.post("/desk/warnings/{receipt}/act")
def act(
    request: Request,
    viewer: Acting,
    receipt: str,
    action: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
    level: Annotated[str, Form()] = "",
) -> Response:
    """Say the chat command (`化解 W12 说明`) as the staff member; the chat's answer is the page's notice."""
    found = services(request)
    with found.db.transaction() as session:
        known = warnings.by_receipt(session, receipt) is not None
    if not known:
        return _not_found(request, viewer, receipt)
    case_url = f"/desk/warnings/{quote(receipt)}"
    if action not in ACTION_WORDS:
        return pages.after_action(case_url, "请在页面上选择要办理的操作。")
    words = [action, receipt, level.strip() if action == Verb.RELEVEL else "", note.replace("\r\n", "\n").strip()]
    text = " ".join(word for word in words if word)
    said = commands.split_command(text, VERB_WORDS, attached=True)
    assert said is not None, "the text starts with a verb"
    reply = acting.as_if_said(request, viewer, text, lambda ctx: _case_command(ctx, said, receipt))
    return pages.after_action(case_url, reply)


def _case_command(ctx: Context, said: commands.Command, receipt: str) -> str:
    """The chat's own reading of the command, then its handler; a receipt the chat cannot read is not found."""
    command = dispute_warning.names_a_case(ctx, said)
    if command is None:
        return ctx.render("dispute_warning/not_found.j2", receipt=receipt)
    return dispute_warning.case_command(ctx, command)

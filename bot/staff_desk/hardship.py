"""帮扶: the queue of hardship applications by state, the case page, its photos, and staff's actions on it.

Everything personal stays as guarded as in the chat: the ID number masked (an admin may reveal it once, audited),
photos decrypted only on the way out, every view of a list, a case or a photo audited. Actions are the chat's own
commands (`审核 H7 通过 800`) run as the staff member, so the workflow and the chair's notices are the chat's.
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import PurePosixPath
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlmodel import Session

from bot.services.export import labels
from bot.staff_desk import acting, pages
from bot.staff_desk.auth import Acting, Staff, services
from config.hardship import hardship_config
from domain import timefmt
from domain.enums import HardshipState
from domain.normalize import mask_mobile
from domain.workflows import Actor
from domain.workflows.hardship import HARDSHIP, Action
from handlers import hardship as chat
from storage import filestore, media, stats
from storage import hardship as cases
from storage.desk_auth import Viewer
from storage.models import HardshipApplication, StoredFile

router = APIRouter()

ALL = "all"
REVEAL_COOKIE = "unionbot_desk_reveal"
REVEAL = "reveal_id"
# A reveal shows on the page the POST redirects to, not later: its audit row must be this recent.
REVEAL_WINDOW = timedelta(minutes=1)


def state_names() -> dict[str, str]:
    """The states' Chinese names as the chat's lists and exports name them."""
    found = labels()
    return {state.value: found.get(f"hardship.{state.value}", state.value) for state in HardshipState}


def _missing(request: Request, viewer: Viewer, receipt: str) -> Response:
    return pages.not_found(request, viewer, "帮扶申请", "/desk/hardship", receipt)


@router.get("/desk/hardship")
def queue(request: Request, viewer: Staff, state: str = "") -> Response:
    """Oldest first, as `待审` lists them; the default is what waits for staff."""
    names = state_names()
    if state == ALL:
        states: tuple[str, ...] = tuple(names)
    elif state in names:
        states = (state,)
    else:
        state, states = "", tuple(stats.PENDING_REVIEW_STATES)
    found = services(request)
    now = found.clock()
    with found.db.transaction(keep_loaded=True) as session:
        pager = pages.pager(request, stats.count_applications(session, states))
        rows = stats.applications(session, states, pager.size, offset=pager.offset)
        subject = f"hardship:{state}" if state else "hardship:pending"
        shown = [application for application, _ in rows]
        cases.audit_shown(session, actor=viewer.member.openid, subject=subject, shown=shown, now=now)
    waiting = set(stats.PENDING_REVIEW_STATES)
    return pages.show(
        request,
        viewer,
        "hardship_queue.html.j2",
        rows=[
            (
                row,
                enterprise,
                timefmt.days_between(row.created_at, now, found.settings.zone) if row.state in waiting else None,
            )
            for row, enterprise in rows
        ],
        state=state,
        names=names,
        pending=[names[s] for s in stats.PENDING_REVIEW_STATES],
        pager=pager,
    )


@dataclass(frozen=True)
class Photo:
    """One photo the chair sent, numbered as on the page; `path` is None until it is fetched from WeChat."""

    number: int
    path: str | None


def _photos(session: Session, row: HardshipApplication) -> list[StoredFile]:
    return media.files_of(session, chat.owner(row))


def _revealed(session: Session, request: Request, viewer: Viewer, row: HardshipApplication, now: datetime) -> bool:
    """Whether this page view is the one an admin's audited `显示完整` asked for."""
    cookie = request.cookies.get(REVEAL_COOKIE, "")
    if not viewer.is_admin or not cookie.isdigit():
        return False
    actor, since = viewer.member.openid, now - REVEAL_WINDOW
    return cases.audited_since(session, int(cookie), actor=actor, action=REVEAL, subject=row.receipt, since=since)


@router.get("/desk/hardship/{receipt}")
def case(request: Request, viewer: Staff, receipt: str) -> Response:
    found = services(request)
    now = found.clock()
    config = hardship_config()
    with found.db.transaction(keep_loaded=True) as session:
        row = cases.by_receipt(session, receipt)
        if row is None:
            return _missing(request, viewer, receipt)
        member = viewer.member
        cases.audit(session, actor=member.openid, action="view", subject=row.receipt, detail=member.role, now=now)
        private = cases.reveal(row, found.settings.data_key)
        revealed = _revealed(session, request, viewer, row, now)
        context: dict[str, Any] = {
            "row": row,
            "enterprise": cases.enterprise_name(session, row),
            "private": private,
            "id_number": private.id_number if revealed else row.id_masked,
            "phone": mask_mobile(private.phone),
            "dibao": config.dibao_monthly,
            "ratio": (row.per_capita_monthly / config.dibao_monthly * 100).quantize(Decimal("0.1")),
            "duplicates": cases.duplicates(session, row, config.duplicate_window_days, now),
            "window": config.duplicate_window_days,
            "events": cases.events(session, row),
            "photos": [Photo(n, stored.path) for n, stored in enumerate(_photos(session, row), start=1)],
            "lost": media.lost(session, chat.owner(row)),
        }
    names = state_names()
    page = pages.show(
        request,
        viewer,
        "hardship_case.html.j2",
        **context,
        names=names,
        actions=HARDSHIP.possible(row.state, Actor.STAFF),
        Action=Action,
        categories=chat.hardship_form().field("category").options,
        yuan=chat.yuan,
    )
    if revealed:
        page.delete_cookie(REVEAL_COOKIE, path=f"/desk/hardship/{row.receipt}")
    return page


@router.get("/desk/hardship/{receipt}/photos/{number}")
def photo(request: Request, viewer: Staff, receipt: str, number: int) -> Response:
    """The photo decrypted in memory and streamed with its content type; the view is audited."""
    found = services(request)
    settings = found.settings
    with found.db.transaction() as session:
        row = cases.by_receipt(session, receipt)
        if row is None:
            return _missing(request, viewer, receipt)
        stored = _photos(session, row)
        path = stored[number - 1].path if 1 <= number <= len(stored) else None
        data = filestore.load(filestore.open_store(settings, session), settings.data_key, path) if path else None
        if path is None or data is None:
            return _missing(request, viewer, f"{row.receipt} 照片 {number}")
        actor = viewer.member.openid
        cases.audit(session, actor=actor, action="photo_view", subject=row.receipt, detail=path, now=found.clock())
    name = PurePosixPath(path).name.removesuffix(filestore.ENCRYPTED)
    media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return Response(data, media_type=media_type, headers={"Cache-Control": "private, no-store"})


@router.post("/desk/hardship/{receipt}/reveal")
def reveal_id(request: Request, viewer: Acting, receipt: str) -> Response:
    """An admin sees one ID number in full on the next page view; the reveal is audited before it happens."""
    if not viewer.is_admin:
        return pages.show(request, viewer, "hardship_admin_only.html.j2", status_code=403, receipt=receipt)
    found = services(request)
    with found.db.transaction() as session:
        row = cases.by_receipt(session, receipt)
        if row is None:
            return _missing(request, viewer, receipt)
        entry = cases.audit(
            session, actor=viewer.member.openid, action=REVEAL, subject=row.receipt, detail="desk", now=found.clock()
        )
        url, audit_id = f"/desk/hardship/{row.receipt}", entry.id
    response = pages.after_action(url, "已显示完整身份证号，此次查看已记录。")
    response.set_cookie(REVEAL_COOKIE, str(audit_id), max_age=60, httponly=True, samesite="strict", path=url)
    return response


def as_typed(receipt: str, action: str, rest: str) -> chat.CaseCommand:
    """What staff would have typed: `入户 H7 情况属实`, or a verdict after 审核 (`审核 H7 通过 800 相对困难`)."""
    if action in chat.ACTIONS:
        return chat.CaseCommand(action, receipt, rest)
    return chat.CaseCommand("审核", receipt, f"{action} {rest}".strip())


@router.post("/desk/hardship/{receipt}/act")
def act(
    request: Request,
    viewer: Acting,
    receipt: str,
    action: Annotated[str, Form()] = "",
    amount: Annotated[str, Form()] = "",
    category: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    """The button's command runs through the chat's handler; its reply is the next page's notice."""
    found = services(request)
    with found.db.transaction() as session:
        row = cases.by_receipt(session, receipt)
        if row is None:
            return _missing(request, viewer, receipt)
        receipt = row.receipt
    rest = " ".join(part.strip() for part in (amount, category, note) if part.strip())
    command = as_typed(receipt, action.strip(), rest)
    text = f"{command.word} {command.receipt} {command.rest}".strip()
    reply = acting.as_if_said(request, viewer, text, lambda ctx: chat.hardship_command(ctx, command))
    return pages.after_action(f"/desk/hardship/{receipt}", reply)

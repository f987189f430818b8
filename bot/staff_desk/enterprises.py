"""企业: the roster searched by name or credit code, one enterprise with its people, reports and warnings, roster
files uploaded with a preview before anything changes, and invitation codes shown as text and as WeChat's QR code
(the one a person scans to be bound in one step, `bot.channel.invite_qr`).

Uploads are read by `storage.roster`, the parser of `unionbot org import`, so a file the command line accepts the
desk accepts, row for row. An invitation is the chat's `邀请码` run as the staff member (`acting.as_if_said`).
"""

from __future__ import annotations

import base64
import logging
from datetime import datetime
from typing import Annotated

import httpx
from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from bot.channel.invite_qr import invite_png
from bot.channel.wechat_api import WechatApi, WechatApiError
from bot.services import export, render
from bot.staff_desk import pages
from bot.staff_desk.acting import as_if_said
from bot.staff_desk.auth import Acting, Staff, services
from domain.commands import Command
from domain.enums import Role
from handlers import binding
from handlers.context import Context
from storage import desk_enterprises, desk_reports, roster, roster_uploads, stats
from storage.desk_enterprises import Filter, OnRoster
from storage.models import Enterprise, InviteCode

log = logging.getLogger("unionbot.desk")
router = APIRouter()

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
RECENT = 12
# The role word the chat's `邀请码 企业 [预警员]` understands, for the button's role.
INVITE_WORDS = {Role.CHAIR: "主席", Role.WARNER: "预警员"}
FIELDS = ("name", "credit_code", "employees", "community", "has_union")


def _on_roster(text: str) -> OnRoster:
    try:
        return OnRoster(text)
    except ValueError:
        return OnRoster.ALL


def qr_image(api: WechatApi, invite: InviteCode, now: datetime) -> str | None:
    """The invitation's WeChat QR code as a PNG `data:` URI, or None when WeChat gives none (the code still works)."""
    try:
        png = invite_png(api, invite.code, invite.expires_at, now)
    except (WechatApiError, httpx.HTTPError, ValueError) as exc:
        log.warning("desk: no QR code for invitation %s: %s", invite.code, exc)
        return None
    return "data:image/png;base64," + base64.b64encode(png).decode()


@router.get("/desk/enterprises")
def roster_list(request: Request, viewer: Staff, q: str = "", community: str = "", roster: str = "") -> Response:
    found = services(request)
    wanted = Filter(q.strip(), community, _on_roster(roster))
    with found.db.transaction(keep_loaded=True) as session:
        total = desk_enterprises.count_roster(session, wanted)
        pager = pages.pager(request, total)
        rows = desk_enterprises.roster_page(session, wanted, pager.offset, pager.size)
        communities = desk_reports.communities(session)
    return pages.show(
        request,
        viewer,
        "enterprises.html.j2",
        rows=rows,
        pager=pager,
        wanted=wanted,
        communities=communities,
        choices=list(OnRoster),
    )


def _enterprise(request: Request, enterprise_id: str) -> Enterprise | None:
    if not enterprise_id.isdecimal():
        return None
    with services(request).db.transaction(keep_loaded=True) as session:
        return session.get(Enterprise, int(enterprise_id))


@router.get("/desk/enterprises/{enterprise_id}")
def enterprise_page(request: Request, viewer: Staff, enterprise_id: str) -> Response:
    found = services(request)
    enterprise = _enterprise(request, enterprise_id)
    if enterprise is None or enterprise.id is None:
        return pages.not_found(request, viewer, "企业", "/desk/enterprises")
    with found.db.transaction(keep_loaded=True) as session:
        people = desk_enterprises.people_of(session, enterprise.id)
        reports = stats.recent_reports(session, enterprise.id, RECENT)
        warnings = desk_enterprises.recent_warnings(session, enterprise.id, RECENT)
        invites = desk_enterprises.open_invites(session, enterprise.id, found.clock())
    now = found.clock()
    return pages.show(
        request,
        viewer,
        "enterprise.html.j2",
        enterprise=enterprise,
        people=people,
        reports=reports,
        warnings=warnings,
        invites=[(invite, qr_image(found.api, invite, now)) for invite in invites],
        roles=INVITE_WORDS,
        labels=export.labels(),
    )


@router.post("/desk/enterprises/{enterprise_id}/invite")
def invite(request: Request, viewer: Acting, enterprise_id: str, role: Annotated[str, Form()] = "chair") -> Response:
    """生成邀请码: the chat's `邀请码 <credit code> <role>`, as this staff member; the code shows on the page."""
    enterprise = _enterprise(request, enterprise_id)
    if enterprise is None:
        return pages.not_found(request, viewer, "企业", "/desk/enterprises")
    word = INVITE_WORDS[Role.WARNER] if role == Role.WARNER else INVITE_WORDS[Role.CHAIR]
    args = f"{enterprise.credit_code} {word}"

    def handler(ctx: Context) -> str:
        return binding.invite(ctx, Command("邀请码", args))

    reply = as_if_said(request, viewer, f"邀请码 {args}", handler)
    return pages.after_action(f"/desk/enterprises/{enterprise.id}", reply)


@router.post("/desk/enterprises/upload")
async def upload(request: Request, viewer: Acting, file: Annotated[UploadFile, File()]) -> Response:
    """Read the file and keep its preview; nothing in the roster changes until the preview is applied."""
    found = services(request)
    name = file.filename or ""
    data = await file.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        notice = render.render("desk/notices/roster_refused.j2", file=name, reason="too_large")
        return pages.after_action("/desk/enterprises", notice)
    try:
        table = roster.read_upload(name or "（未选择文件）", data)
        with found.db.transaction() as session:
            preview = roster_uploads.preview(session, name, table)
            token = roster_uploads.save(session, preview, viewer.member.openid, found.clock())
    except roster.RosterError as exc:
        notice = render.render("desk/notices/roster_refused.j2", file=name, reason=exc.reason)
        return pages.after_action("/desk/enterprises", notice)
    return RedirectResponse(f"/desk/enterprises/upload/{token}", status_code=303)


@router.get("/desk/enterprises/upload/{token}")
def preview_page(request: Request, viewer: Staff, token: str) -> Response:
    found = services(request)
    with found.db.transaction(keep_loaded=True) as session:
        upload = roster_uploads.load(session, token)
    if upload is None:
        return pages.not_found(request, viewer, "名册预览", "/desk/enterprises")
    return pages.show(
        request,
        viewer,
        "roster_preview.html.j2",
        upload=upload,
        preview=roster_uploads.Preview.from_json(upload.preview),
        expired=roster_uploads.expired(upload, found.clock()),
        fields=FIELDS,
    )


@router.post("/desk/enterprises/upload/{token}/apply")
def apply(request: Request, viewer: Acting, token: str) -> Response:
    """Import exactly the previewed rows, once: a second apply (a double click, a second tab) changes nothing."""
    found = services(request)
    now = found.clock()
    here = f"/desk/enterprises/upload/{token}"
    with found.db.transaction() as session:
        upload = roster_uploads.load(session, token)
        if upload is None:
            return pages.not_found(request, viewer, "名册预览", "/desk/enterprises")
        if upload.applied_at is not None or roster_uploads.expired(upload, now):
            notice = render.render("desk/notices/roster_applied.j2", report=None, expired=upload.applied_at is None)
            return pages.after_action(here, notice)
        report = roster_uploads.apply(session, token, viewer.member.openid, now)
    notice = render.render("desk/notices/roster_applied.j2", report=report, expired=False)
    return pages.after_action(here if report is None else "/desk/enterprises", notice)

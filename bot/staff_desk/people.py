"""人员: who works the account. Everyone switches their own duty (as `值班 开`/`值班 关` does in the chat); admins
also switch anyone's duty, add staff and deactivate them (as `unionbot staff add|deactivate` does)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from bot.staff_desk import acting, pages
from bot.staff_desk.auth import Acting, Staff, services
from domain.enums import Role
from handlers import binding
from storage import desk_auth, desk_people, identity
from storage.desk_auth import Viewer

router = APIRouter()
PEOPLE = "/desk/people"
# The buttons' words, as `值班` takes them.
DUTY = {"开": True, "关": False}


def _refused(request: Request, viewer: Viewer, status_code: int, reason: str) -> Response:
    return pages.show(request, viewer, "people_refused.html.j2", status_code=status_code, reason=reason)


@router.get(PEOPLE)
def people(request: Request, viewer: Staff) -> Response:
    found = services(request)
    with found.db.transaction(keep_loaded=True) as session:
        staff = desk_people.staff_members(session)
        bound = desk_people.bound_counts(session)
    return pages.show(request, viewer, "people.html.j2", staff=staff, bound=bound)


@router.post(f"{PEOPLE}/duty")
def switch_duty(
    request: Request, viewer: Acting, openid: Annotated[str, Form()] = "", duty: Annotated[str, Form()] = ""
) -> Response:
    """Their own duty through the chat's `值班` handler; someone else's only by an admin."""
    if duty not in DUTY:
        return _refused(request, viewer, 400, "bad_duty")
    if openid == viewer.member.openid:
        reply = acting.as_if_said(request, viewer, f"值班 {duty}", lambda ctx: binding.duty(ctx, duty))
        return pages.after_action(PEOPLE, reply)
    if not viewer.is_admin:
        return _refused(request, viewer, 403, "not_admin")
    found = services(request)
    with found.db.transaction() as session:
        member = identity.active_member(session, openid)
        if not identity.is_staff(member):
            return _refused(request, viewer, 404, "unknown")
        identity.set_on_duty(session, member, DUTY[duty])
        name = member.name
    return pages.after_action(PEOPLE, f"已将{name}设为{'值班' if DUTY[duty] else '不值班'}。")


@router.post(f"{PEOPLE}/add")
def add_staff(
    request: Request,
    viewer: Acting,
    openid: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    admin: Annotated[str, Form()] = "",
) -> Response:
    """As `unionbot staff add`: the openid becomes staff (or admin), replacing any binding it had."""
    if not viewer.is_admin:
        return _refused(request, viewer, 403, "not_admin")
    openid, name = openid.strip(), name.strip()
    if not openid or not name:
        return pages.after_action(PEOPLE, "请填写微信 openid 和姓名。")
    if openid == viewer.member.openid:
        return pages.after_action(PEOPLE, "不能修改自己的账号。请另一位管理员操作。")
    found = services(request)
    with found.db.transaction() as session:
        member = identity.add_staff(session, openid, name=name, admin=bool(admin), now=found.clock())
        role = member.role
    return pages.after_action(PEOPLE, f"已添加{name}为{'管理员' if role == Role.ADMIN else '工作人员'}。")


@router.post(f"{PEOPLE}/deactivate")
def deactivate(request: Request, viewer: Acting, openid: Annotated[str, Form()] = "") -> Response:
    """As `unionbot staff deactivate`: no more commands, alerts or desk; their open sessions end at once."""
    if not viewer.is_admin:
        return _refused(request, viewer, 403, "not_admin")
    if openid == viewer.member.openid:
        return pages.after_action(PEOPLE, "不能停用自己的账号。请另一位管理员操作。")
    found = services(request)
    with found.db.transaction() as session:
        member = desk_auth.deactivate_staff(session, openid, found.clock())
        if member is None:
            return _refused(request, viewer, 404, "unknown")
        name = member.name
    return pages.after_action(PEOPLE, f"已停用{name}：不再接收提醒，工作台登录已失效。")

"""`登录` (or the menu's 工作台): a one-time link to the staff desk, sent only to active staff."""

from __future__ import annotations

from domain import timefmt
from handlers.context import Context
from storage import desk_auth

LOGIN_WORDS = ("登录", "工作台")
MENU_KEY = "DESK"


def login_link(ctx: Context) -> str:
    if not ctx.is_staff:
        return ctx.render("desk_login/staff_only.j2")
    token = desk_auth.create_link(ctx.session, ctx.openid, ctx.now)
    return ctx.render(
        "desk_login/link.j2",
        url=f"{ctx.settings.public_base_url.rstrip('/')}/desk/login/{token}",
        minutes=int(desk_auth.LINK_TTL.total_seconds() // 60),
        until=timefmt.chinese_minute(ctx.now + desk_auth.LINK_TTL, ctx.settings.zone),
        hours=int(desk_auth.SESSION_TTL.total_seconds() // 3600),
    )

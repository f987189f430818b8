"""A chair's or warner's own name and mobile (个人信息): the form `config/forms/member_profile.yaml`, asked after
binding and again with `我的信息`; its submission is stored on the member, so staff see who to call."""

from __future__ import annotations

from typing import Any

from bot.dialog.desk import Filed, Hooks
from bot.dialog.engine import Say
from bot.dialog.forms import Form
from domain.commands import Command
from handlers.context import Context
from storage import identity

FORM_ID = "member_profile"


def profile_context(ctx: Context, form: Form, command: Command) -> dict[str, Any]:
    """What is stored now, offered as each question's default (回复“默认”保留)."""
    member = ctx.member
    return {"ctx": {"name": member.name if member else "", "mobile": member.mobile if member else ""}}


def profile_submitted(ctx: Context, form: Form, filed: Filed) -> list[Say]:
    member = ctx.member
    assert member is not None, "the form is for bound chairs and warners"
    answers = filed.record.answers
    name = str(answers.get("name") or "").strip() or None
    mobile = str(answers.get("mobile") or "") or None
    identity.set_contact(ctx.session, member, name=name, mobile=mobile)
    return [Say("profile/saved.j2", {"person": member.name, "mobile": member.mobile})]


hooks: dict[str, Hooks[Context]] = {FORM_ID: Hooks(context=profile_context, on_submit=profile_submitted)}

"""What the account says when nothing more specific applies: welcome, help, unsupported message types."""

from __future__ import annotations

from handlers.context import Context

MENU_KEY = "HELP"


def silent(_ctx: Context) -> None:
    """WeChat shows nothing for unsubscribes and other events; answering would only be dropped."""
    return None


def welcome(ctx: Context) -> str:
    return ctx.render("welcome.j2", role=ctx.member.role if ctx.member else "")


def unsupported(ctx: Context) -> str:
    return ctx.render("unsupported.j2")


def help_text(ctx: Context) -> str:
    """What this user can do: the commands of their role."""
    return ctx.render("help.j2", role=ctx.member.role if ctx.member else "")

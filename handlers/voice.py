"""Voice messages: what WeChat heard is answered as if typed, after saying what was heard; no text, no guessing.

The text itself goes through every route as a typed message (`bot.channel.wechat.parse` makes it TEXT); here is
only what differs: the reply begins with the words heard, so a misheard "23" is caught before it is filed.
"""

from __future__ import annotations

from handlers.context import Context

ECHO_MAX_CHARS = 60  # a long dictation is echoed in part: the rest of page 1 belongs to the answer


def echo(ctx: Context, reply: str | None) -> str | None:
    """`reply` preceded by "您说的是：…" when the message was spoken; typed messages pass unchanged."""
    if reply is None or not ctx.incoming.spoken:
        return reply
    said = ctx.text
    if len(said) > ECHO_MAX_CHARS:
        said = said[:ECHO_MAX_CHARS] + "…"
    return ctx.render("voice/heard.j2", heard=said, reply=reply)


def unrecognised(ctx: Context) -> str:
    """A voice message without WeChat's recognition (switched off in the console, or nothing heard)."""
    return ctx.render("voice/unrecognised.j2")

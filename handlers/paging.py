"""Long replies are split into pages that fit WeChat's limit; `更多` shows the next one."""

from __future__ import annotations

from bot.services.pages import SUFFIX_RESERVE, split
from handlers.context import Context
from storage import crypto
from storage.drafts import conversation
from storage.models import Conversation

MORE = frozenset({"更多", "下一页", "继续看"})


def more(ctx: Context, _word: str) -> str:
    pointer = conversation(ctx.session, ctx.openid, ctx.now)
    if not pointer.pages:
        return ctx.render("paging/nothing_more.j2")
    page, pointer.pages = pointer.pages[0], pointer.pages[1:]
    ctx.session.add(pointer)
    return crypto.decrypt(ctx.settings.data_key, page)


def paginate(ctx: Context, reply: str | None) -> str | None:
    """Every reply passes here (but `更多`'s own): a long one becomes page 1 now and the rest waits for `更多`."""
    if reply is None:
        return reply
    limit = ctx.settings.reply_max_bytes
    if len(reply.encode()) <= limit:
        stale = ctx.session.get(Conversation, ctx.openid)
        if stale is not None and stale.pages:
            stale.pages = []
            ctx.session.add(stale)
        return reply
    bodies = split(reply, limit - SUFFIX_RESERVE)
    total = len(bodies)
    pages = [f"{body}\n{ctx.render('paging/more.j2', page=i, total=total)}" for i, body in enumerate(bodies, 1)]
    pointer = conversation(ctx.session, ctx.openid, ctx.now)
    pointer.pages = [crypto.encrypt(ctx.settings.data_key, page) for page in pages[1:]]  # may quote personal data
    ctx.session.add(pointer)
    return pages[0]

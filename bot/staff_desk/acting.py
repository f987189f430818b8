"""A desk action is the chat command it mirrors: the same handler, the same workflow table, the same notices.

The button's command text (`签收 W12 已电话联系`) runs through the capability's handler in a context of the staff
member's own, as if they had typed it, and the handler's reply becomes the page's notice. Whatever the handler
queues (the reporter's update, a reminder) leaves through the outbox exactly as it does after a message.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from fastapi import Request

from bot.staff_desk.auth import services
from domain.messages import Incoming, Kind
from handlers.context import Context
from storage.desk_auth import Viewer

DESK_ACCOUNT = "desk"


def as_if_said(request: Request, viewer: Viewer, text: str, handler: Callable[[Context], str]) -> str:
    """Run `handler` on `text` said by the viewer, in one transaction; returns what the chat would have answered."""
    found = services(request)
    now = found.clock()
    incoming = Incoming(
        kind=Kind.TEXT,
        openid=viewer.member.openid,
        account=DESK_ACCOUNT,
        created=now,
        dedup_key=f"desk:{secrets.token_hex(12)}",
        text=text,
    )
    with found.db.transaction(keep_loaded=True) as session:
        reply = handler(Context(session, incoming, now, found.settings))
    found.wake_outbox.set()
    return reply

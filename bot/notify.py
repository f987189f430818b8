"""Pushing a notice to one user: a customer-service text inside the 48-hour window, else a template message.

Either way it is queued in the caller's transaction, under an idempotency key, and leaves through the outbox.
A text that WeChat refuses with 45015 (the window closed meanwhile) falls back to the same template.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session

from bot import outbox
from config.notices import notices
from storage.models import WechatUser

SERVICE_WINDOW = timedelta(hours=48)


def in_service_window(session: Session, openid: str, now: datetime) -> bool:
    user = session.get(WechatUser, openid)
    return bool(user and user.subscribed and user.last_message_at and now - user.last_message_at < SERVICE_WINDOW)


def notify(
    session: Session,
    *,
    openid: str,
    notice: str,
    facts: dict[str, str],
    text: str,
    key: str,
    now: datetime,
) -> None:
    """`text` is the full message (rendered from a template); `facts` fill the template message's keywords."""
    spec = notices()[notice]
    data = spec.data(facts)
    if in_service_window(session, openid, now):
        fallback = {"template_id": spec.template_id, "data": data}
        outbox.enqueue_text(session, key=key, openid=openid, content=text, now=now, fallback=fallback)
    else:
        outbox.enqueue_template(session, key=key, openid=openid, template_id=spec.template_id, data=data, now=now)

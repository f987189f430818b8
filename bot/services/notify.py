"""Pushing a notice to one user: a customer-service text inside the 48-hour window, else a template message.

Either way it is queued in the caller's transaction, under an idempotency key, and leaves through the outbox.
A text that WeChat refuses with 45015 (the window closed meanwhile) falls back to the same template.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from config.notices import notices
from storage import outbox
from storage.models import OutboxKind, WechatUser

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
    kind, payload = message(notice, facts, text, in_window=in_service_window(session, openid, now))
    outbox.enqueue(session, key=key, openid=openid, kind=kind, payload=payload, now=now)


def message(notice: str, facts: dict[str, str], text: str, *, in_window: bool) -> tuple[OutboxKind, dict[str, Any]]:
    """Inside the window the full text, with the template as its fallback (45015); outside it, the template."""
    spec = notices()[notice]
    template: dict[str, Any] = {"template_id": spec.template_id, "data": spec.data(facts)}
    if in_window:
        return OutboxKind.TEXT, {"content": text, "fallback": template}
    return OutboxKind.TEMPLATE, {**template, "url": None}

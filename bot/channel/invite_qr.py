"""The QR code printed on an invitation: a temporary parametric QR whose scan binds the person in one step.

Made afresh each time it is shown (`identity.qr_expires`: with the invitation, or in 30 days if sooner).
"""

from __future__ import annotations

from datetime import datetime

from bot.channel.wechat_api import WechatApi
from storage import identity


def invite_png(api: WechatApi, code: str, expires_at: datetime, now: datetime) -> bytes:
    """Ask WeChat for the invitation's QR code and fetch its image; an expired invitation gets none."""
    seconds = int((identity.qr_expires(expires_at, now) - now).total_seconds())
    if seconds <= 0:
        raise ValueError(f"invitation {code} has expired; no QR code for it")
    ticket = api.create_qr(identity.invite_scene(code), seconds)
    return api.qr_image(ticket.ticket)

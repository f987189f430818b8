"""Signed, expiring download links: `/files/<path>?expires=…&sig=…`, so a phone can open a document or photo
that only the person it was sent to should see. The signature covers the path and the expiry time."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta
from urllib.parse import urlencode

from config.settings import Settings


def _signature(secret: str, path: str, expires: int) -> str:
    return hmac.new(secret.encode(), f"{path}\n{expires}".encode(), hashlib.sha256).hexdigest()


def signed_url(settings: Settings, path: str, now: datetime, ttl: timedelta | None = None) -> str:
    """An absolute link to `/files/<path>` valid for `ttl` (default `UNIONBOT_LINK_TTL_MINUTES`)."""
    expires = int((now + (ttl or timedelta(minutes=settings.link_ttl_minutes))).timestamp())
    query = urlencode({"expires": expires, "sig": _signature(settings.link_secret, path, expires)})
    return f"{settings.public_base_url.rstrip('/')}/files/{path}?{query}"


def check(settings: Settings, path: str, expires: int, sig: str, now: datetime) -> bool:
    """True for an unexpired link whose signature matches (constant-time compare)."""
    if expires < now.timestamp():
        return False
    return hmac.compare_digest(_signature(settings.link_secret, path, expires), sig)

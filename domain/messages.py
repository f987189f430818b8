"""One user message or event as routing and the handlers see it, whatever protocol carried it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Kind(StrEnum):
    TEXT = "text"
    IMAGE = "image"
    CLICK = "click"
    SUBSCRIBE = "subscribe"
    UNSUBSCRIBE = "unsubscribe"
    SCAN = "scan"  # a follower scanned one of the account's parametric QR codes (the scene is in `scene`)
    EVENT = "event"  # any other event: acknowledged, nothing to say
    UNSUPPORTED = "unsupported"  # voice, video, location, link, unknown types


@dataclass(frozen=True)
class Incoming:
    """One user message or event, as the dispatcher sees it."""

    kind: Kind
    openid: str
    account: str
    created: datetime
    dedup_key: str
    text: str = ""
    media_id: str = ""
    pic_url: str = ""
    event_key: str = ""
    raw_type: str = ""
    scene: str = ""  # the parametric QR code scanned: SCAN, or subscribe with EventKey `qrscene_<scene>`

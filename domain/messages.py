"""One user message or event as routing and the handlers see it, whatever protocol carried it."""

from __future__ import annotations

import re
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
    VOICE = "voice"  # a voice message WeChat did not turn into text (speech recognition off, or nothing heard)
    UNSUPPORTED = "unsupported"  # video, location, link, unknown types


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
    spoken: bool = False  # TEXT that WeChat heard in a voice message (its `Recognition`), not typed


# WeChat's speech recognition ends a sentence as written prose does; nobody types "月报。" or "32人！".
# A question mark is kept: "是？" asks, it does not answer.
_SPOKEN_END = re.compile(r"[\s。．.，,、！!～~]+$")


def heard(recognition: str) -> str:
    """What a voice message said, as the user would have typed it ("" when WeChat heard nothing)."""
    return _SPOKEN_END.sub("", recognition.strip())

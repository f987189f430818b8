"""The WeChat protocol at the edge: signatures, safe-mode crypto, parsing into typed messages, reply XML.

Everything wechatpy does for us is called from here and nowhere else.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import UTC, datetime
from typing import Any
from xml.parsers.expat import ExpatError

from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException

from domain.messages import Incoming, Kind, heard

# XML 1.0 forbids these; WeChat users can still paste them, so they are dropped on the way in and out.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_DTD = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


class RejectedRequest(Exception):
    """A request WeChat would never send; `status` is the HTTP answer, `reason` the log line."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def signature_of(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def verify_signature(token: str, signature: str, timestamp: str, nonce: str) -> bool:
    return hmac.compare_digest(signature_of(token, timestamp, nonce), signature.lower())


def check_fresh(timestamp: str, window_seconds: int, now: float) -> None:
    """Reject replays: WeChat signs the timestamp, so an old signed request cannot be re-dated."""
    try:
        sent = int(timestamp)
    except ValueError:
        raise RejectedRequest(400, "timestamp is not an integer") from None
    skew = abs(now - sent)
    if skew > window_seconds:
        raise RejectedRequest(403, f"timestamp outside the replay window ({int(skew)} s)")


def strip_illegal(text: str) -> str:
    return _XML_ILLEGAL.sub("", text)


def check_xml_body(body: bytes) -> str:
    """Text of a body that is safe to hand to the XML parser (no DTD, no entity tricks, an <xml> root)."""
    if _DTD.search(body):
        raise RejectedRequest(400, "XML with a DOCTYPE or ENTITY declaration")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise RejectedRequest(400, "body is not UTF-8") from None
    text = strip_illegal(text).strip()
    if not text.startswith("<xml>") and not text.startswith("<xml "):
        raise RejectedRequest(400, "body is not an <xml> document")
    return text


class Crypto:
    """Safe/compatible mode: wechatpy's AES envelope, verified with `msg_signature` (never `signature`)."""

    def __init__(self, token: str, aes_key: str, appid: str) -> None:
        self._crypto = WeChatCrypto(token, aes_key, appid)

    def decrypt(self, body: str, msg_signature: str, timestamp: str, nonce: str) -> str:
        try:
            plain = self._crypto.decrypt_message(body, msg_signature, timestamp, nonce)
        except InvalidSignatureException:
            raise RejectedRequest(403, "msg_signature does not match") from None
        except InvalidAppIdException:
            raise RejectedRequest(400, "encrypted for another appid") from None
        except (ExpatError, KeyError, TypeError, ValueError, UnicodeDecodeError) as exc:
            raise RejectedRequest(400, f"cannot decrypt body ({type(exc).__name__})") from None
        return check_xml_body(plain.encode() if isinstance(plain, str) else plain)

    def encrypt(self, xml: str, nonce: str, timestamp: str) -> str:
        return str(self._crypto.encrypt_message(xml, nonce, timestamp))


_MESSAGE_KINDS = {"text": Kind.TEXT, "image": Kind.IMAGE, "voice": Kind.VOICE}
_EVENT_KINDS = {
    "click": Kind.CLICK,
    "subscribe": Kind.SUBSCRIBE,
    "subscribe_scan": Kind.SUBSCRIBE,
    "unsubscribe": Kind.UNSUBSCRIBE,
    "scan": Kind.SCAN,
}


def _scene(event: str, event_key: str) -> str:
    """The scene of a parametric QR scan: SCAN carries it in EventKey; a subscribe by scanning carries
    `qrscene_<scene>`, which wechatpy reports as event `subscribe_scan` with the prefix already stripped."""
    return event_key if event in ("scan", "subscribe_scan") else ""


def parse(xml: str) -> Incoming:
    """Typed message from checked XML; anything WeChat would not send is a RejectedRequest(400)."""
    try:
        message: Any = parse_message(xml)
        raw = message._data
        openid = str(raw["FromUserName"]).strip()
        account = str(raw.get("ToUserName") or "")
        created_epoch = int(raw["CreateTime"])
        msg_type = str(raw["MsgType"]).lower()
        event = str(raw.get("Event") or "").lower()
        event_key = str(raw.get("EventKey") or "")
    except (ExpatError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise RejectedRequest(400, f"malformed message XML ({type(exc).__name__})") from None
    if not openid:
        raise RejectedRequest(400, "message without FromUserName")
    created = datetime.fromtimestamp(created_epoch, UTC)
    msg_id = str(raw.get("MsgId") or raw.get("MsgID") or "")
    if msg_type == "event":
        kind = _EVENT_KINDS.get(event, Kind.EVENT)
        dedup_key = f"evt:{openid}:{created_epoch}:{event}:{event_key}"
        raw_type = f"event:{event}"
    else:
        kind = _MESSAGE_KINDS.get(msg_type, Kind.UNSUPPORTED)
        dedup_key = f"msg:{msg_id}" if msg_id else f"msg:{openid}:{created_epoch}:{msg_type}"
        raw_type = msg_type
    text = str(raw.get("Content") or "") if kind is Kind.TEXT else ""
    spoken = heard(str(raw.get("Recognition") or "")) if kind is Kind.VOICE else ""
    if spoken:  # handled exactly as if it had been typed; the voice file itself is not needed
        kind, text = Kind.TEXT, spoken
    return Incoming(
        kind=kind,
        openid=openid,
        account=account,
        created=created,
        dedup_key=dedup_key[:200],
        text=text,
        media_id="" if spoken else str(raw.get("MediaId") or ""),
        pic_url=str(raw.get("PicUrl") or ""),
        event_key=event_key,
        raw_type=raw_type,
        scene=_scene(event, event_key) if msg_type == "event" else "",
        spoken=bool(spoken),
    )


def _cdata(value: str) -> str:
    return "<![CDATA[" + strip_illegal(value).replace("]]>", "]]]]><![CDATA[>") + "]]>"


def text_reply_xml(to_user: str, from_account: str, content: str, created: int) -> str:
    """A passive text reply that stays well-formed whatever the content holds (`]]>`, emoji, controls)."""
    return (
        f"<xml><ToUserName>{_cdata(to_user)}</ToUserName><FromUserName>{_cdata(from_account)}</FromUserName>"
        f"<CreateTime>{created}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content>{_cdata(content)}</Content></xml>"
    )

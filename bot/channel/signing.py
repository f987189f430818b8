"""Requests signed (and encrypted) exactly as WeChat's servers send them.

Used by the terminal chat, the benchmark and the tests: the one implementation of WeChat's client side.
"""

from __future__ import annotations

import itertools
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode
from xml.sax.saxutils import escape

import xmltodict
from wechatpy.crypto import WeChatCrypto

from bot.channel.wechat import signature_of

_msg_ids = itertools.count(int(time.time() * 1000) * 1000)


def new_msg_id() -> int:
    return next(_msg_ids)


def text_xml(openid: str, content: str, msg_id: int, account: str = "gh_unionbot", created: int | None = None) -> str:
    return (
        f"<xml><ToUserName><![CDATA[{account}]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{created or int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content>{escape(content)}</Content><MsgId>{msg_id}</MsgId></xml>"
    )


def image_xml(openid: str, media_id: str, msg_id: int, account: str = "gh_unionbot") -> str:
    return (
        f"<xml><ToUserName><![CDATA[{account}]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[image]]></MsgType>"
        f"<PicUrl><![CDATA[http://mmbiz.qpic.cn/{media_id}]]></PicUrl><MediaId><![CDATA[{media_id}]]></MediaId>"
        f"<MsgId>{msg_id}</MsgId></xml>"
    )


def voice_xml(
    openid: str, media_id: str, msg_id: int, recognition: str | None = None, account: str = "gh_unionbot"
) -> str:
    """A voice message; `recognition` is what WeChat heard (None: speech recognition is off for the account)."""
    heard = "" if recognition is None else f"<Recognition>{escape(recognition)}</Recognition>"
    return (
        f"<xml><ToUserName><![CDATA[{account}]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[voice]]></MsgType>"
        f"<MediaId><![CDATA[{media_id}]]></MediaId><Format><![CDATA[amr]]></Format>{heard}"
        f"<MsgId>{msg_id}</MsgId></xml>"
    )


def event_xml(openid: str, event: str, key: str = "", account: str = "gh_unionbot", created: int | None = None) -> str:
    key_xml = f"<EventKey><![CDATA[{key}]]></EventKey>" if key else ""
    return (
        f"<xml><ToUserName><![CDATA[{account}]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{created or int(time.time())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        f"<Event><![CDATA[{event}]]></Event>{key_xml}</xml>"
    )


@dataclass
class Signer:
    """Builds the query string and body of one delivery; in safe mode the body is the AES envelope.

    `clock` (epoch seconds) dates the signature: it must agree with the service's clock, which checks the age.
    """

    token: str
    appid: str = ""
    aes_key: str | None = None
    clock: Callable[[], float] = time.time
    _crypto: WeChatCrypto | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.aes_key:
            self._crypto = WeChatCrypto(self.token, self.aes_key, self.appid)

    def sign(self, xml: str, timestamp: int | None = None, nonce: str | None = None) -> tuple[dict[str, str], bytes]:
        stamp = str(timestamp if timestamp is not None else int(self.clock()))
        nonce = nonce or secrets.token_hex(5)
        params = {"signature": signature_of(self.token, stamp, nonce), "timestamp": stamp, "nonce": nonce}
        if self._crypto is None:
            return params, xml.encode()
        envelope = str(self._crypto.encrypt_message(xml, nonce, stamp))
        params["encrypt_type"] = "aes"
        params["msg_signature"] = _envelope(envelope)["MsgSignature"]
        return params, envelope.encode()

    def open_reply(self, body: str) -> str:
        """The reply's inner XML (verified and decrypted in safe mode)."""
        if self._crypto is None or body == "success":
            return body
        fields = _envelope(body)
        return str(self._crypto.decrypt_message(body, fields["MsgSignature"], fields["TimeStamp"], fields["Nonce"]))


def _envelope(xml: str) -> dict[str, str]:
    parsed: dict[str, str] = xmltodict.parse(xml)["xml"]
    return parsed


def asgi_scope(params: dict[str, str], length: int) -> dict[str, Any]:
    """The ASGI scope of WeChat's POST to /wechat with these query parameters and a body of `length` bytes: for
    driving the app in one process without a socket (the benchmark's profile, a caller hanging up mid-body)."""
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/wechat",
        "raw_path": b"/wechat",
        "query_string": urlencode(params).encode(),
        "root_path": "",
        "headers": [(b"content-type", b"text/xml"), (b"content-length", str(length).encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
    }

"""The ceiling to compare against: a minimal WeChat endpoint that only checks, parses and echoes.

Same framework, server and WeChat library as the real endpoint, but no database, no dialog, no templates: what
any WeChat backend in Python pays per message. Our throughput is reported as a ratio of this one's.
Run: `python -m bench.ceiling --port N` (the service's uvicorn settings); safe mode when UNIONBOT_WECHAT_AES_KEY
is set (as for the service).
"""

from __future__ import annotations

import hashlib
import hmac
import os

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, Response
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.replies import TextReply

TOKEN = os.environ.get("UNIONBOT_WECHAT_TOKEN", "unionbot-dev-token")
APPID = os.environ.get("UNIONBOT_WECHAT_APPID", "wx0000000000000000")
AES_KEY = os.environ.get("UNIONBOT_WECHAT_AES_KEY") or None

app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
crypto = WeChatCrypto(TOKEN, AES_KEY, APPID) if AES_KEY else None


def _signed(signature: str, timestamp: str, nonce: str) -> bool:
    expected = hashlib.sha1("".join(sorted((TOKEN, timestamp, nonce))).encode()).hexdigest()
    return hmac.compare_digest(expected, signature)


@app.post("/wechat")
async def receive(
    request: Request, signature: str = "", timestamp: str = "", nonce: str = "", msg_signature: str = ""
) -> Response:
    if not _signed(signature, timestamp, nonce):
        return PlainTextResponse("signature does not match", status_code=403)
    body = (await request.body()).decode()
    xml = crypto.decrypt_message(body, msg_signature, timestamp, nonce) if crypto else body
    message = parse_message(xml)
    content = str(getattr(message, "content", "") or "")
    reply = TextReply(message=message, content=content).render()
    if crypto:
        reply = crypto.encrypt_message(reply, nonce, timestamp)
    return Response(reply, media_type="application/xml")

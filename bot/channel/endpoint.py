"""The HTTP edge: `GET/POST /wechat` as WeChat calls it, and `/healthz` for load balancers.

verify → parse → `Inbox.deliver` (dedup, per-user lock, handler) → reply XML, encrypted in safe mode. What one
process owns (`Services`) is built by the app factory (`bot.app`) and reached through `app.state`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.requests import ClientDisconnect

from bot.channel import observe
from bot.channel.inbox import Inbox
from bot.channel.outbox import OutboxWorker
from bot.channel.wechat import (
    Crypto,
    RejectedRequest,
    check_fresh,
    check_xml_body,
    parse,
    text_reply_xml,
    verify_signature,
)
from bot.channel.wechat_api import WechatApi
from config.settings import Settings
from storage.db import Database, DatabaseUnreachable

log = logging.getLogger("unionbot.endpoint")
router = APIRouter()


@dataclass
class Services:
    """What one service process owns; built once, reachable from requests through `app.state`."""

    settings: Settings
    db: Database
    inbox: Inbox
    api: WechatApi
    outbox: OutboxWorker
    crypto: Crypto | None
    wake_outbox: asyncio.Event
    clock: Callable[[], datetime]  # the one "now" of this process: requests, the outbox, the scheduler


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def deliver_outbox(services: Services) -> None:
    """Deliver due messages; sleep until woken by a new message or the poll interval passes."""
    while True:
        try:
            done = await anyio.to_thread.run_sync(services.outbox.run_once)
        except Exception:
            log.exception("outbox delivery round failed")
            done = 0
        if done:
            continue
        services.wake_outbox.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(services.wake_outbox.wait(), services.settings.outbox_poll_seconds)


async def rejected(request: Request, exc: Exception) -> Response:
    """A request WeChat would never send: its status code, and a log line saying why."""
    assert isinstance(exc, RejectedRequest)
    client = request.client.host if request.client else "-"
    if request.url.path == "/wechat":
        observe.message_rejected()
    log.warning("rejected %s %s from %s: %s", request.method, request.url.path, client, exc.reason)
    return PlainTextResponse(exc.reason, status_code=exc.status)


def _signed(request: Request) -> tuple[str, str]:
    """Every request, GET or POST, carries `signature` over (token, timestamp, nonce).

    Read off the query string here rather than declared as FastAPI parameters: validating them took a tenth of the
    CPU a stranger's message costs (`bench/results/2026-12-02-causes.md`)."""
    query = request.query_params
    signature, timestamp, nonce = query.get("signature", ""), query.get("timestamp", ""), query.get("nonce", "")
    if not (signature and timestamp and nonce):
        raise RejectedRequest(400, "signature, timestamp and nonce are required")
    if not verify_signature(_services(request).settings.wechat_token, signature, timestamp, nonce):
        raise RejectedRequest(403, "signature does not match")
    return timestamp, nonce


@router.get("/wechat")
async def verify_url(request: Request) -> Response:
    _signed(request)
    return PlainTextResponse(request.query_params.get("echostr", ""))


@router.post("/wechat")
async def receive(request: Request) -> Response:
    started = time.perf_counter()
    services = _services(request)
    timestamp, nonce = _signed(request)
    encrypt_type, msg_signature = (
        request.query_params.get("encrypt_type", "raw"),
        request.query_params.get("msg_signature", ""),
    )
    now = services.clock()
    check_fresh(timestamp, services.settings.replay_window_seconds, now.timestamp())
    body = await _read_capped(request, services.settings.max_body_bytes)
    encrypted = encrypt_type.lower() == "aes"
    if encrypted:
        if services.crypto is None:
            raise RejectedRequest(400, "encrypted message but UNIONBOT_WECHAT_AES_KEY is not set")
        if not msg_signature:
            raise RejectedRequest(400, "encrypted message without msg_signature")
        xml = services.crypto.decrypt(check_xml_body(body), msg_signature, timestamp, nonce)
    else:
        xml = check_xml_body(body)
    incoming = parse(xml)
    delivery = await services.inbox.deliver(incoming)
    observe.message_answered(services.settings.data_key, incoming, delivery, time.perf_counter() - started)
    if delivery.reply is None:
        return PlainTextResponse("success")
    out = text_reply_xml(incoming.openid, incoming.account, delivery.reply, int(now.timestamp()))
    if encrypted and services.crypto is not None:
        out = services.crypto.encrypt(out, nonce, timestamp)
    return Response(out, media_type="application/xml")


@router.get("/healthz")
async def healthz(request: Request) -> Response:
    try:
        await anyio.to_thread.run_sync(_services(request).db.check_reachable)
    except DatabaseUnreachable as exc:
        return JSONResponse({"status": "unavailable", "database": str(exc)}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})


async def _read_capped(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise RejectedRequest(413, f"body of {declared} bytes is over {limit}")
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise RejectedRequest(413, f"body is over {limit} bytes")
            chunks.append(chunk)
    except ClientDisconnect:  # the caller hung up mid-body: nothing to handle, nobody to answer
        raise RejectedRequest(400, f"connection closed after {size} bytes of the body") from None
    return b"".join(chunks)

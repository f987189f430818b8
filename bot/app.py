"""The HTTP edge: `GET/POST /wechat` as WeChat calls it, and `/healthz` for load balancers.

verify → parse → `Inbox.deliver` (dedup, per-user lock, handler) → reply XML, encrypted in safe mode.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

import anyio
from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from bot.channel import files
from bot.channel.inbox import Inbox
from bot.channel.outbox import OutboxWorker
from bot.channel.tokens import DatabaseTokenCache, RedisTokenCache, TokenCache
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
from bot.dialog import desk
from bot.routing.dispatch import Dispatcher
from bot.routing.routes import build_dispatcher
from bot.services.scheduler import Scheduler
from config.settings import Settings, get_settings
from storage.db import Database, DatabaseUnreachable, utcnow
from storage.media import MediaVault
from storage.migrate import require_current

log = logging.getLogger("unionbot.endpoint")


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


def token_cache(settings: Settings, db: Database, clock: Callable[[], datetime]) -> TokenCache:
    if settings.redis_url:
        import redis

        return RedisTokenCache(redis.Redis.from_url(settings.redis_url), settings.wechat_appid)
    return DatabaseTokenCache(db, settings.wechat_appid, clock)


def build_services(settings: Settings, dispatcher: Dispatcher | None, clock: Callable[[], datetime]) -> Services:
    db = Database(settings.database_url)
    tokens = token_cache(settings, db, clock)
    api = WechatApi(settings.wechat_api_base, settings.wechat_appid, settings.wechat_secret, tokens)
    wake = asyncio.Event()
    aes_key = settings.wechat_aes_key
    crypto = Crypto(settings.wechat_token, aes_key, settings.wechat_appid) if aes_key else None
    vault = MediaVault(settings.files_dir, settings.data_key)
    return Services(
        settings=settings,
        db=db,
        inbox=Inbox(db, dispatcher or build_dispatcher(), settings, clock=clock, on_outbox=wake.set),
        api=api,
        outbox=OutboxWorker(db, api, max_attempts=settings.outbox_max_attempts, clock=clock, vault=vault),
        crypto=crypto,
        wake_outbox=wake,
        clock=clock,
    )


async def _deliver_outbox(services: Services) -> None:
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


def create_app(
    settings: Settings | None = None,
    *,
    dispatcher: Dispatcher | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> FastAPI:
    services = build_services(settings or get_settings(), dispatcher, clock)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        services.db.check_reachable()
        require_current(services.db.engine)
        worker = asyncio.create_task(_deliver_outbox(services)) if services.settings.outbox_run_in_service else None
        scheduler = None
        if services.settings.scheduler_run_in_service:
            scheduler = Scheduler(services.db, services.settings, services.clock, chores=[desk.sweep_expired])
            scheduler.start()
        try:
            yield
        finally:
            if scheduler:
                await anyio.to_thread.run_sync(scheduler.shutdown)
            if worker:
                worker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await worker
            await services.inbox.drain()
            services.api.close()
            services.db.dispose()

    app = FastAPI(title="unionbot", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.services = services
    app.include_router(files.router)

    @app.exception_handler(RejectedRequest)
    async def rejected(request: Request, exc: RejectedRequest) -> Response:
        client = request.client.host if request.client else "-"
        log.warning("rejected %s %s from %s: %s", request.method, request.url.path, client, exc.reason)
        return PlainTextResponse(exc.reason, status_code=exc.status)

    @app.get("/wechat")
    async def verify_url(_signed: Signed, echostr: str = "") -> Response:
        return PlainTextResponse(echostr)

    @app.post("/wechat")
    async def receive(request: Request, signed: Signed, encrypt_type: str = "raw", msg_signature: str = "") -> Response:
        timestamp, nonce = signed
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
        reply = await services.inbox.deliver(incoming)
        if reply is None:
            return PlainTextResponse("success")
        out = text_reply_xml(incoming.openid, incoming.account, reply, int(now.timestamp()))
        if encrypted and services.crypto is not None:
            out = services.crypto.encrypt(out, nonce, timestamp)
        return Response(out, media_type="application/xml")

    @app.get("/healthz")
    async def healthz() -> Response:
        try:
            await anyio.to_thread.run_sync(services.db.check_reachable)
        except DatabaseUnreachable as exc:
            return JSONResponse({"status": "unavailable", "database": str(exc)}, status_code=503)
        return JSONResponse({"status": "ok", "database": "ok"})

    return app


def _signed(
    request: Request,
    signature: Annotated[str, Query()] = "",
    timestamp: Annotated[str, Query()] = "",
    nonce: Annotated[str, Query()] = "",
) -> tuple[str, str]:
    """Every request, GET or POST, carries `signature` over (token, timestamp, nonce)."""
    if not (signature and timestamp and nonce):
        raise RejectedRequest(400, "signature, timestamp and nonce are required")
    token = request.app.state.services.settings.wechat_token
    if not verify_signature(token, signature, timestamp, nonce):
        raise RejectedRequest(403, "signature does not match")
    return timestamp, nonce


Signed = Annotated[tuple[str, str], Depends(_signed)]


async def _read_capped(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise RejectedRequest(413, f"body of {declared} bytes is over {limit}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RejectedRequest(413, f"body is over {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def make_app() -> FastAPI:
    """Factory for `uvicorn --factory` (several workers each build their own services)."""
    return create_app()

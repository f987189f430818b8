"""The app factory: one process's services, the channel's routes, the outbox worker and the scheduled jobs.

The composition root: the only module that knows every room, so each room knows only the ones below it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime

import anyio
from fastapi import FastAPI

from bot.channel import endpoint, files, observe
from bot.channel.endpoint import Services, deliver_outbox
from bot.channel.inbox import Inbox
from bot.channel.outbox import OutboxWorker
from bot.channel.tokens import token_cache
from bot.channel.wechat import Crypto, RejectedRequest
from bot.channel.wechat_api import WechatApi
from bot.dialog import desk
from bot.routing.dispatch import Dispatcher
from bot.routing.routes import build_dispatcher
from bot.services.scheduler import Scheduler
from bot.staff_desk import site as staff_desk
from config.settings import Settings, get_settings
from storage.db import Database, utcnow
from storage.media import MediaVault
from storage.migrate import require_current


def build_services(settings: Settings, dispatcher: Dispatcher | None, clock: Callable[[], datetime]) -> Services:
    db = Database(settings.database_url)
    tokens = token_cache(settings, db, clock)
    api = WechatApi(
        settings.wechat_api_base,
        settings.wechat_appid,
        settings.wechat_secret,
        tokens,
        qr_base=settings.wechat_qr_base,
        connections=settings.outbox_concurrency,
    )
    wake = asyncio.Event()
    aes_key = settings.wechat_aes_key
    crypto = Crypto(settings.wechat_token, aes_key, settings.wechat_appid) if aes_key else None
    vault = MediaVault(db, settings, clock)
    return Services(
        settings=settings,
        db=db,
        inbox=Inbox(db, dispatcher or build_dispatcher(settings.menu_file), settings, clock=clock, on_outbox=wake.set),
        api=api,
        outbox=OutboxWorker(
            db,
            api,
            max_attempts=settings.outbox_max_attempts,
            concurrency=settings.outbox_concurrency,
            clock=clock,
            vault=vault,
        ),
        crypto=crypto,
        wake_outbox=wake,
        clock=clock,
    )


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
        worker = asyncio.create_task(deliver_outbox(services)) if services.settings.outbox_run_in_service else None
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
                services.outbox.stop()  # the round in progress finishes what it has in flight, then the loop ends
                worker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await worker
            await services.inbox.drain()
            services.api.close()
            services.db.dispose()

    app = FastAPI(title="unionbot", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.services = services
    app.add_exception_handler(RejectedRequest, endpoint.rejected)
    app.include_router(endpoint.router)
    app.include_router(files.router)
    app.include_router(observe.router)
    staff_desk.install(app)
    return app


def make_app() -> FastAPI:
    """Factory for `uvicorn --factory` (several workers each build their own services)."""
    return create_app()

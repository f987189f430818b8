"""`unionbot fake-wechat`, `unionbot chat` and `serve --with-fake-wechat`: the CLI's only door to `bot.devtools`.

Each tool is imported when its command runs: the stand-in brings FastAPI and the chat client the WeChat
signing code, which would add about 0.3 s to the start-up of every other command.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer

from bot.cli.common import settings_or_exit
from config.settings import Settings

DEMO_FAKE_PORT = 8001  # the stand-in's port in the demo (`make run`'s FAKE_PORT) when nothing else says
REAL_WECHAT = "https://api.weixin.qq.com"


def fake_wechat(
    host: str = "127.0.0.1",
    port: int = DEMO_FAKE_PORT,
    latency_ms: Annotated[
        float, typer.Option(min=0, help="Answer every API call this late (WeChat takes about 50 ms).")
    ] = 0,
    rate_limit: Annotated[
        int | None, typer.Option(min=1, help="API calls a second; past it, answer errcode 45009 as WeChat does.")
    ] = None,
) -> None:
    """Run the local stand-in of WeChat's API (token, message sends, media/get, the menu, QR codes)."""
    from bot.devtools.fake_wechat import serve as serve_fake

    settings = settings_or_exit()
    serve_fake(
        host,
        port,
        settings.wechat_appid,
        settings.wechat_secret,
        latency_seconds=latency_ms / 1000,
        rate_limit=rate_limit,
    )


def chat(
    as_user: Annotated[str, typer.Option("--as", help="The WeChat openid to speak as.")] = "demo-user",
    url: Annotated[
        str | None, typer.Option(help="The service's WeChat endpoint. Default: on UNIONBOT_HOST:UNIONBOT_PORT.")
    ] = None,
    fake: Annotated[
        str | None,
        typer.Option(
            help="The WeChat stand-in, to show what the account pushes. Default: UNIONBOT_WECHAT_API_BASE when it "
            f"is not WeChat itself, else port {DEMO_FAKE_PORT} on this machine."
        ),
    ] = None,
) -> None:
    """Talk to a running service exactly as WeChat would (signed XML; safe mode when an AES key is set)."""
    from bot.devtools.chat_client import run_chat

    settings = settings_or_exit()
    endpoint = url or f"http://{settings.host}:{settings.port}/wechat"
    if fake is None:
        base = settings.wechat_api_base.rstrip("/")
        fake = base if base != REAL_WECHAT else f"http://127.0.0.1:{DEMO_FAKE_PORT}"
    sys.exit(run_chat(settings, as_user, endpoint, fake))


@contextmanager
def fake_wechat_beside(settings: Settings, port: int | None) -> Iterator[None]:
    """`serve --with-fake-wechat PORT`: the stand-in runs on PORT for as long as the service does."""
    if not port:
        yield
        return
    from bot.devtools.fake_wechat import FakeWechatServer

    with FakeWechatServer(settings.wechat_appid, settings.wechat_secret, port=port) as fake:
        typer.echo(f"WeChat stand-in on {fake.url}")
        yield

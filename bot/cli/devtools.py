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


def fake_wechat(
    host: str = "127.0.0.1",
    port: int = 8001,
) -> None:
    """Run the local stand-in of WeChat's API (token, message sends, media/get, menu/create, QR codes)."""
    from bot.devtools.fake_wechat import serve as serve_fake

    settings = settings_or_exit()
    serve_fake(host, port, settings.wechat_appid, settings.wechat_secret)


def chat(
    as_user: Annotated[str, typer.Option("--as", help="The WeChat openid to speak as.")] = "demo-user",
    url: Annotated[str, typer.Option(help="The service's WeChat endpoint.")] = "http://127.0.0.1:8000/wechat",
    fake: Annotated[str, typer.Option(help="The WeChat stand-in, to show what the account pushes.")] = (
        "http://127.0.0.1:8001"
    ),
) -> None:
    """Talk to a running service exactly as WeChat would (signed XML; safe mode when an AES key is set)."""
    from bot.devtools.chat_client import run_chat

    settings = settings_or_exit()
    sys.exit(run_chat(settings, as_user, url, fake))


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

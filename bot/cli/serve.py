"""`unionbot serve`: the WeChat endpoint, started only on sound settings and a current schema."""

from __future__ import annotations

import logging
import os
from typing import Annotated

import typer
import uvicorn

from bot.cli.common import database_or_exit, fail, settings_or_exit
from bot.cli.devtools import fake_wechat_beside
from bot.cli.menu import menu_or_exit
from storage.migrate import SchemaBehind, require_current

log = logging.getLogger("unionbot")


def setup_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def serve(
    host: Annotated[str | None, typer.Option(help="Default: UNIONBOT_HOST.")] = None,
    port: Annotated[int | None, typer.Option(help="Default: UNIONBOT_PORT.")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes sharing the database.")] = 1,
    with_fake_wechat: Annotated[
        int | None,
        typer.Option(help="Also run the local WeChat stand-in on this port and send through it (demo)."),
    ] = None,
) -> None:
    """Run the WeChat endpoint (refuses to start on a wrong setting, a wrong menu file or an outdated schema)."""
    if with_fake_wechat:
        os.environ["UNIONBOT_WECHAT_API_BASE"] = f"http://127.0.0.1:{with_fake_wechat}"
        os.environ["UNIONBOT_WECHAT_QR_BASE"] = f"http://127.0.0.1:{with_fake_wechat}"
    settings = settings_or_exit()
    menu_or_exit(settings.menu_file)  # the workers check it again; here a wrong menu reads as lines, not tracebacks
    db = database_or_exit(settings)
    try:
        require_current(db.engine)
    except SchemaBehind as exc:
        raise fail(str(exc)) from None
    finally:
        db.dispose()
    setup_logging()
    for name in settings.development_secrets():
        log.warning("%s is the development default, which anyone can read in the source: set your own", name)
    with fake_wechat_beside(settings, with_fake_wechat):
        uvicorn.run(
            "bot.app:make_app",
            factory=True,
            host=host or settings.host,
            port=port or settings.port,
            workers=workers,
            log_level="info",
        )

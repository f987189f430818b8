"""`unionbot serve`: the WeChat endpoint, started only on sound settings and a current schema."""

from __future__ import annotations

import copy
import logging
import logging.config
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
import uvicorn
from uvicorn.config import LOGGING_CONFIG

from bot.cli.common import database_or_exit, fail, settings_or_exit
from bot.cli.devtools import fake_wechat_beside
from storage.migrate import SchemaBehind, require_current

log = logging.getLogger("unionbot")

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# `bot.services.metrics.MULTIPROCESS_ENV`, not imported from there: that would open this process's metric files
# before `metrics_folder` empties the folder of an earlier run's.
MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"


def log_config() -> dict[str, Any]:
    """uvicorn's own logging plus ours on the root logger. uvicorn applies it in every worker process it starts,
    which begins with no logging set up: without it, a worker's INFO lines (the message log) would be lost."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config["formatters"]["unionbot"] = {"format": LOG_FORMAT}
    config["handlers"]["unionbot"] = {
        "class": "logging.StreamHandler",
        "formatter": "unionbot",
        "stream": "ext://sys.stderr",
    }
    config["root"] = {"level": "INFO", "handlers": ["unionbot"]}
    return config


@contextmanager
def metrics_folder(workers: int) -> Iterator[None]:
    """prometheus-client's multiprocess mode, so `/metrics` adds up every worker whichever one answers: the folder
    `PROMETHEUS_MULTIPROC_DIR` names, emptied of an earlier run's files, or for several workers a fresh one
    removed at exit. One worker without the variable keeps its counters in memory."""
    given = os.environ.get(MULTIPROCESS_ENV)
    if given:
        folder = Path(given)
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("*.db"):
            stale.unlink()
        yield
        return
    if workers == 1:
        yield
        return
    with tempfile.TemporaryDirectory(prefix="unionbot-metrics-") as fresh:
        os.environ[MULTIPROCESS_ENV] = fresh
        try:
            yield
        finally:
            del os.environ[MULTIPROCESS_ENV]


def serve(
    host: Annotated[str | None, typer.Option(help="Default: UNIONBOT_HOST.")] = None,
    port: Annotated[int | None, typer.Option(help="Default: UNIONBOT_PORT.")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes sharing the database.")] = 1,
    with_fake_wechat: Annotated[
        int | None,
        typer.Option(help="Also run the local WeChat stand-in on this port and send through it (demo)."),
    ] = None,
    access_log: Annotated[
        bool, typer.Option(help="uvicorn's line per HTTP request, besides the service's own line per message.")
    ] = False,
) -> None:
    """Run the WeChat endpoint (refuses to start on a wrong setting or an outdated schema)."""
    if with_fake_wechat:
        os.environ["UNIONBOT_WECHAT_API_BASE"] = f"http://127.0.0.1:{with_fake_wechat}"
        os.environ["UNIONBOT_WECHAT_QR_BASE"] = f"http://127.0.0.1:{with_fake_wechat}"
    settings = settings_or_exit()
    db = database_or_exit(settings)
    try:
        require_current(db.engine)
    except SchemaBehind as exc:
        raise fail(str(exc)) from None
    finally:
        db.dispose()
    logging.config.dictConfig(log_config())
    for name in settings.development_secrets():
        log.warning("%s is the development default, which anyone can read in the source: set your own", name)
    with fake_wechat_beside(settings, with_fake_wechat), metrics_folder(workers):
        uvicorn.run(
            "bot.app:make_app",
            factory=True,
            host=host or settings.host,
            port=port or settings.port,
            workers=workers,
            log_config=log_config(),
            log_level="info",
            access_log=access_log,
        )

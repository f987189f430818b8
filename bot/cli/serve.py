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
from bot.cli.menu import menu_or_exit
from storage.migrate import SchemaBehind, require_current

log = logging.getLogger("unionbot")

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# `bot.services.metrics.MULTIPROCESS_ENV`, not imported from there: that would open this process's metric files
# before `metrics_folder` empties the folder of an earlier run's.
MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
# A worker answers its supervisor only once it has imported Python, the CLI and the app: about 2.5 s of CPU, which
# a loaded 2-core server stretches past uvicorn's default of 5 s, so the supervisor killed workers still starting.
WORKER_HEALTHCHECK_SECONDS = 60


def log_config() -> dict[str, Any]:
    """uvicorn's own logging, and everything else at INFO on stderr. Given to uvicorn, so every worker process
    applies it too: a worker starts with Python's defaults, which drop the service's INFO lines (the message log)."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config["formatters"]["unionbot"] = {"format": LOG_FORMAT}
    config["handlers"]["unionbot"] = {
        "class": "logging.StreamHandler",
        "formatter": "unionbot",
        "stream": "ext://sys.stderr",
    }
    config["root"] = {"handlers": ["unionbot"], "level": "INFO"}
    # Each worker checks the schema and starts a scheduler: lines that say nothing the operator needs.
    config["loggers"].update({name: {"level": "WARNING"} for name in ("alembic", "apscheduler")})
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
    workers: Annotated[
        int, typer.Option(min=1, help="Worker processes sharing the database (more than one needs PostgreSQL).")
    ] = 1,
    timeout_worker_healthcheck: Annotated[
        int,
        typer.Option(
            min=1, help="Seconds a worker may take to answer its supervisor (starting counts) before it is restarted."
        ),
    ] = WORKER_HEALTHCHECK_SECONDS,
    with_fake_wechat: Annotated[
        int | None,
        typer.Option(help="Also run the local WeChat stand-in on this port and send through it (demo)."),
    ] = None,
    access_log: Annotated[
        bool, typer.Option(help="uvicorn's line per HTTP request, besides the service's own line per message.")
    ] = False,
) -> None:
    """Run the WeChat endpoint (refuses to start on a wrong setting, a wrong menu file or an outdated schema)."""
    if with_fake_wechat:
        os.environ["UNIONBOT_WECHAT_API_BASE"] = f"http://127.0.0.1:{with_fake_wechat}"
        os.environ["UNIONBOT_WECHAT_QR_BASE"] = f"http://127.0.0.1:{with_fake_wechat}"
    settings = settings_or_exit()
    if workers > 1 and settings.database_url.startswith("sqlite"):
        raise fail(f"--workers {workers}: SQLite serves one process; set UNIONBOT_DATABASE_URL to PostgreSQL")
    menu_or_exit(settings.menu_file)  # the workers check it again; here a wrong menu reads as lines, not tracebacks
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
        run_uvicorn(
            "bot.app:make_app",
            factory=True,
            host=host or settings.host,
            port=port or settings.port,
            workers=workers,
            timeout_worker_healthcheck=timeout_worker_healthcheck,
            access_log=access_log,
        )


def run_uvicorn(
    app: str,
    *,
    factory: bool,
    host: str,
    port: int,
    workers: int = 1,
    timeout_worker_healthcheck: int = WORKER_HEALTHCHECK_SECONDS,
    access_log: bool = False,
) -> None:
    """uvicorn as the service runs under it: the benchmark starts its ceiling app through here, so the ratio
    compares apps, not server settings."""
    uvicorn.run(
        app,
        factory=factory,
        host=host,
        port=port,
        workers=workers,
        timeout_worker_healthcheck=timeout_worker_healthcheck,
        log_config=log_config(),
        log_level="info",
        access_log=access_log,
    )

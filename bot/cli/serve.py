"""`unionbot serve`: the WeChat endpoint, started only on sound settings and a current schema."""

from __future__ import annotations

import copy
import logging
import logging.config
import os
from typing import Annotated, Any

import typer
import uvicorn

from bot.cli.common import database_or_exit, fail, settings_or_exit
from bot.cli.devtools import fake_wechat_beside
from bot.cli.menu import menu_or_exit
from storage.migrate import SchemaBehind, require_current

log = logging.getLogger("unionbot")

# A worker answers its supervisor only once it has imported Python, the CLI and the app: about 2.5 s of CPU, which
# a loaded 2-core server stretches past uvicorn's default of 5 s, so the supervisor killed workers still starting.
WORKER_HEALTHCHECK_SECONDS = 60


def log_config() -> dict[str, Any]:
    """uvicorn's own logging, and everything else at INFO on stderr. Given to uvicorn, so every worker process
    applies it too: a worker starts with Python's defaults, which drop the service's INFO lines."""
    config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    config["formatters"]["unionbot"] = {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
    config["handlers"]["unionbot"] = {
        "class": "logging.StreamHandler",
        "formatter": "unionbot",
        "stream": "ext://sys.stderr",
    }
    config["root"] = {"handlers": ["unionbot"], "level": "INFO"}
    # Each worker checks the schema and starts a scheduler: lines that say nothing the operator needs.
    config["loggers"].update({name: {"level": "WARNING"} for name in ("alembic", "apscheduler")})
    return config


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
    logging_config = log_config()
    logging.config.dictConfig(logging_config)
    for name in settings.development_secrets():
        log.warning("%s is the development default, which anyone can read in the source: set your own", name)
    with fake_wechat_beside(settings, with_fake_wechat):
        uvicorn.run(
            "bot.app:make_app",
            factory=True,
            host=host or settings.host,
            port=port or settings.port,
            workers=workers,
            timeout_worker_healthcheck=timeout_worker_healthcheck,
            log_config=logging_config,
            log_level="info",
        )

"""`unionbot`: run the service, migrate the database, run the WeChat stand-in, chat from a terminal."""

from __future__ import annotations

import logging
import os
import sys
from typing import Annotated

import typer

from bot.cli.admin import invite_app, org_app, staff_app
from bot.cli.common import database_or_exit, fail, settings_or_exit
from bot.cli.export import export_app
from bot.cli.remind import remind_app
from bot.cli.summary import figures_app, summary_app
from storage.migrate import SchemaBehind, new_revision, require_current, upgrade

log = logging.getLogger("unionbot")
app = typer.Typer(help="工会助手 (unionbot): the WeChat backend of a sub-district trade-union federation.")
db_app = typer.Typer(help="Database schema.")
outbox_app = typer.Typer(help="Messages the account sends on its own.")
app.add_typer(db_app, name="db")
app.add_typer(outbox_app, name="outbox")
app.add_typer(org_app, name="org")
app.add_typer(invite_app, name="invite")
app.add_typer(staff_app, name="staff")
app.add_typer(export_app, name="export")
app.add_typer(summary_app, name="summary")
app.add_typer(figures_app, name="figures")
app.add_typer(remind_app, name="remind")


def setup_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Default: UNIONBOT_HOST.")] = None,
    port: Annotated[int | None, typer.Option(help="Default: UNIONBOT_PORT.")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes sharing the database.")] = 1,
    with_fake_wechat: Annotated[
        int | None,
        typer.Option(help="Also run the local WeChat stand-in on this port and send through it (demo)."),
    ] = None,
) -> None:
    """Run the WeChat endpoint (refuses to start on a wrong setting or an outdated schema)."""
    import uvicorn

    if with_fake_wechat:
        os.environ["UNIONBOT_WECHAT_API_BASE"] = f"http://127.0.0.1:{with_fake_wechat}"
    settings = settings_or_exit()
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
    fake = None
    if with_fake_wechat:
        from bot.devtools.fake_wechat import FakeWechatServer

        fake = FakeWechatServer(settings.wechat_appid, settings.wechat_secret, port=with_fake_wechat).start()
        typer.echo(f"WeChat stand-in on {fake.url}")
    try:
        uvicorn.run(
            "bot.app:make_app",
            factory=True,
            host=host or settings.host,
            port=port or settings.port,
            workers=workers,
            log_level="info",
        )
    finally:
        if fake:
            fake.stop()


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the schema to this version (safe to run again)."""
    settings = settings_or_exit()
    database_or_exit(settings).dispose()
    upgrade(settings.database_url)
    typer.echo("database schema is up to date")


@db_app.command("revision")
def db_revision(message: Annotated[str, typer.Argument(help="What the migration does.")]) -> None:
    """Autogenerate a migration from the models (developers)."""
    new_revision(settings_or_exit().database_url, message)


@app.command("fake-wechat")
def fake_wechat(
    host: str = "127.0.0.1",
    port: int = 8001,
) -> None:
    """Run the local stand-in of WeChat's API (token, custom/send, template/send, media/get, menu/create)."""
    from bot.devtools.fake_wechat import serve as serve_fake

    settings = settings_or_exit()
    serve_fake(host, port, settings.wechat_appid, settings.wechat_secret)


@app.command()
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


@outbox_app.command("status")
def outbox_status(limit: Annotated[int, typer.Option(help="How many recent failures to list.")] = 10) -> None:
    """Counts by state, and the latest messages that failed or need a template fallback."""
    from storage.queries import outbox_counts, outbox_problems

    db = database_or_exit(settings_or_exit())
    try:
        with db.transaction() as session:
            for status, count in outbox_counts(session):
                typer.echo(f"{status:10} {count}")
            for row in outbox_problems(session, limit):
                typer.echo(f"#{row.id} {row.status} to {row.openid} errcode={row.errcode} {row.last_error or ''}")
    finally:
        db.dispose()


if __name__ == "__main__":
    app()

"""`unionbot`: the command line, put together from one module per command group (`bot/cli/*.py`)."""

from __future__ import annotations

import typer

from bot.cli.admin import desk_app, invite_app, org_app, staff_app
from bot.cli.backup import backup, restore
from bot.cli.db import db_app
from bot.cli.devtools import chat, fake_wechat
from bot.cli.doctor import doctor
from bot.cli.export import export_app
from bot.cli.files import files_app
from bot.cli.keys import keys_app
from bot.cli.menu import menu_app
from bot.cli.outbox import outbox_app
from bot.cli.remind import remind_app
from bot.cli.serve import serve
from bot.cli.summary import figures_app, summary_app

app = typer.Typer(help="工会助手 (unionbot): the WeChat backend of a sub-district trade-union federation.")
app.command()(serve)
app.command()(doctor)
app.command("fake-wechat")(fake_wechat)
app.command()(chat)
app.add_typer(db_app, name="db")
app.add_typer(outbox_app, name="outbox")
app.add_typer(org_app, name="org")
app.add_typer(invite_app, name="invite")
app.add_typer(staff_app, name="staff")
app.add_typer(desk_app, name="desk")
app.add_typer(export_app, name="export")
app.add_typer(summary_app, name="summary")
app.add_typer(figures_app, name="figures")
app.add_typer(remind_app, name="remind")
app.add_typer(menu_app, name="menu")
app.add_typer(files_app, name="files")
app.add_typer(keys_app, name="keys")
app.command()(backup)
app.command()(restore)

if __name__ == "__main__":
    app()

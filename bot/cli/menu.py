"""`unionbot menu show | publish | remove`: the account's custom menu at WeChat, from `config/menu.yaml`.

The calls go through the service's own access-token owner (`bot.channel.tokens`), so publishing never knocks the
running service's token out. The routes are imported when a command runs: they bring every handler.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from bot.cli.common import database_or_exit, fail, fail_each, settings_or_exit
from bot.services.render import render
from config.menu import MenuError, checked_menu, menu_lines
from config.settings import Settings
from storage.db import utcnow

if TYPE_CHECKING:
    from bot.channel.wechat_api import WechatApi

menu_app = typer.Typer(help="The account's custom menu (自定义菜单) at WeChat, from config/menu.yaml.")
T = TypeVar("T")
MenuFile = Annotated[
    Path | None, typer.Option("--file", dir_okay=False, help="The menu file. Default: UNIONBOT_MENU_FILE.")
]


def menu_or_exit(path: Path) -> dict[str, Any]:
    """The menu file checked against WeChat's rules and the click keys the routes answer; each problem on a line."""
    from bot.dialog.forms import FormError
    from bot.routing.routes import build_dispatcher

    try:
        return checked_menu(build_dispatcher(menu_file=None).menu_keys, path)
    except MenuError as exc:
        raise fail_each(exc.problems) from None
    except FormError as exc:
        raise fail(str(exc)) from None


def _call(settings: Settings, action: str, request: Callable[[WechatApi], T]) -> T:
    """One call to WeChat with the service's token; WeChat's errcode comes back explained in Chinese, in one line."""
    import httpx

    from bot.channel.tokens import token_cache
    from bot.channel.wechat_api import WechatApi, WechatApiError

    db = database_or_exit(settings)
    tokens = token_cache(settings, db, utcnow)
    api = WechatApi(settings.wechat_api_base, settings.wechat_appid, settings.wechat_secret, tokens)
    try:
        return request(api)
    except WechatApiError as exc:
        raise fail(render("menu/wechat_error.j2", action=action, errcode=exc.errcode, errmsg=exc.errmsg)) from None
    except httpx.HTTPError as exc:
        raise fail(f"cannot reach WeChat at {settings.wechat_api_base}: {exc}") from None
    finally:
        api.close()
        db.dispose()


@menu_app.command("show")
def menu_show() -> None:
    """Print the menu WeChat shows followers now (menu/get)."""
    menu = _call(settings_or_exit(), "读取菜单", lambda api: api.get_menu())
    if menu is None:
        typer.echo("the account has no custom menu (publish one with `unionbot menu publish`)")
        return
    for line in menu_lines(menu):
        typer.echo(line)


@menu_app.command("publish")
def menu_publish(file: MenuFile = None) -> None:
    """Check the menu file, then make it the account's menu (menu/create); followers see it within 5 minutes."""
    settings = settings_or_exit()
    file = file or settings.menu_file
    menu = menu_or_exit(file)
    _call(settings, "发布菜单", lambda api: api.create_menu(menu))
    buttons = menu["button"]
    subs = sum(len(button.get("sub_button") or []) for button in buttons)
    typer.echo(f"published {file.name}: {len(buttons)} buttons, {subs} sub-buttons")
    for line in menu_lines(menu):
        typer.echo(line)


@menu_app.command("remove")
def menu_remove() -> None:
    """Remove the account's custom menu (menu/delete); followers then see only the input box."""
    _call(settings_or_exit(), "删除菜单", lambda api: api.delete_menu())
    typer.echo("removed the account's custom menu")

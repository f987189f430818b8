"""Where every message is routed: each capability's routes, in the order they are tried.

Binding gates everything (an unbound user only learns how to bind). Capabilities with staff commands go before
the forms, so that a staff command is answered even while a form is open; help answers what nothing else took.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.dialog import desk
from bot.dialog.desk import FormDesk, Hooks, Started
from bot.dialog.forms import shipped_forms
from bot.routing.dispatch import Dispatcher, Reply, Route
from bot.routing.filters import clicked, command, on, parsed, plain, said, staff, when
from config.menu import MENU_FILE, checked_menu
from domain.commands import Command
from domain.messages import Kind
from domain.warning_rules import VERB_WORDS
from handlers import (
    binding,
    desk_login,
    dispute_warning,
    hardship,
    help,
    monthly_report,
    paging,
    profile,
    staff_queries,
    summary,
    voice,
)
from handlers.context import Context

Routes = tuple[Route[Any], ...]


def on_click(key: str, handler: Callable[[Context], Reply]) -> Route[str]:
    """A menu click on `key`; the route declares the key, so `config/menu.yaml` can be checked against it."""
    return Route(clicked(key), plain(handler), menu_keys=frozenset({key}))


# Before the gate for unbound users: a stranger who asks for the desk is told it is for staff.
DESK: Routes = (
    Route(command(*desk_login.LOGIN_WORDS), plain(desk_login.login_link)),
    on_click(desk_login.MENU_KEY, desk_login.login_link),
)


def binding_routes(binder: binding.Binding) -> Routes:
    return (
        Route(command(*binding.BIND_WORDS, attached=True), binder.by_text),
        Route(binding.scanned_code, binder.by_scan),
        Route(on(Kind.UNSUBSCRIBE), plain(binding.unsubscribe)),
        Route(command("邀请码"), binding.invite),
        Route(staff(parsed(command(*binding.DUTY_WORDS, attached=True), binding.duty_switch)), binding.duty),
        Route(when(binding.unbound_subscriber), plain(binding.welcome)),
        Route(binding.code_alone, binder.by_code_alone),
        Route(when(binding.unbound), plain(binding.how_to_bind)),
    )


BINDING = binding_routes(binding.Binding())  # without the profile question: for tests of binding alone


def _more(ctx: Context, word: str) -> Reply:
    """The next page, as it was stored; a spoken `更多` still hears its echo (pages leave room for it)."""
    return voice.echo(ctx, paging.more(ctx, word))


PAGING: Routes = (Route(said(*paging.MORE), _more, paged=False),)


def _not_staff_asking(ctx: Context) -> bool:
    """A chair typing “企业 经营困难” as a form answer is answering the form, not asking for figures."""
    asks = command(*staff_queries.STAFF_WORDS)(ctx) is not None
    return asks and not ctx.is_staff and not desk.filling_a_form(ctx)


STAFF_QUERIES: Routes = (
    Route(when(_not_staff_asking), plain(staff_queries.refuse)),
    Route(staff(command("统计")), staff_queries.figures),
    Route(staff(command("未报")), staff_queries.missing),
    Route(staff(command("预警")), staff_queries.warnings),
    Route(staff(command("待审")), staff_queries.pending),
    Route(staff(command("企业")), staff_queries.enterprise),
    Route(staff(command("导出")), staff_queries.export_link),
)
MONTHLY_REPORT: Routes = (
    Route(parsed(command(*monthly_report.REPORT_WORDS), monthly_report.unreadable_month), monthly_report.refuse_period),
    Route(
        parsed(command(*monthly_report.REPORT_WORDS), monthly_report.other_month_pending),
        monthly_report.finish_pending_first,
    ),
    Route(
        parsed(command(*monthly_report.EXEMPTION_WORDS, attached=True), monthly_report.exemption_request),
        monthly_report.exemption_command,
    ),
)
DISPUTE_WARNING: Routes = (
    Route(parsed(command(*VERB_WORDS, attached=True), dispute_warning.names_a_case), dispute_warning.case_command),
)
HARDSHIP: Routes = (
    Route(parsed(command(*hardship.CASE_WORDS, attached=True), hardship.names_a_case), hardship.hardship_command),
)
SUMMARY: Routes = (
    Route(command("总结"), summary.make_summary),
    Route(command("数据"), summary.staff_data),
)
HELP: Routes = (
    Route(on(Kind.UNSUBSCRIBE, Kind.EVENT, Kind.SCAN), plain(help.silent)),
    Route(on(Kind.SUBSCRIBE), plain(help.welcome)),
    on_click(help.MENU_KEY, help.help_text),
    Route(on(Kind.VOICE), plain(voice.unrecognised)),
    Route(on(Kind.UNSUPPORTED), plain(help.unsupported)),
)
HOOKS: dict[str, Hooks[Context]] = {
    **monthly_report.hooks,
    **dispute_warning.hooks,
    **hardship.hooks,
    **profile.hooks,
}


def form_routes(desk: FormDesk[Context]) -> Routes:
    return (Route(desk.starting, desk.start, menu_keys=desk.menu_keys), Route(desk.in_form, desk.answer))


def _profile_asker(desk: FormDesk[Context]) -> binding.AskProfile:
    """Starts the name-and-mobile form as if the user had sent `我的信息`."""
    form = desk.forms[profile.FORM_ID]
    return lambda ctx: desk.start(ctx, Started(form, Command("", "")))


def finish(ctx: Context, reply: Reply) -> Reply:
    """What was heard goes first, then a long reply is paged: the echo sits on page 1 and counts towards its size."""
    return paging.paginate(ctx, voice.echo(ctx, reply))


def build_dispatcher(menu_file: Path | None = MENU_FILE) -> Dispatcher:
    """Reading the forms and the menu here validates them, so a broken form, or a menu button that WeChat would
    refuse or no route answers, stops the service at start-up (`FormError`, `MenuError`)."""
    desk = FormDesk[Context](shipped_forms(), HOOKS)
    routes = (
        *DESK,
        *binding_routes(binding.Binding(ask_profile=_profile_asker(desk))),
        *PAGING,
        *STAFF_QUERIES,
        *MONTHLY_REPORT,
        *DISPUTE_WARNING,
        *HARDSHIP,
        *SUMMARY,
        *form_routes(desk),
        *HELP,
    )
    dispatcher = Dispatcher(routes, fallback=help.help_text, finish=finish)
    if menu_file is not None:
        checked_menu(dispatcher.menu_keys, menu_file)
    return dispatcher

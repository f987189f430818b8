"""The one visible place where the capabilities are put together, in the order they are tried."""

from __future__ import annotations

from bot.dialog.forms import load_forms
from bot.dispatch import Dispatcher
from handlers import help, paging
from handlers.forms import FormDesk


def build_dispatcher() -> Dispatcher:
    """Loading the forms here validates them, so a broken form stops the service at start-up."""
    desk = FormDesk(load_forms())
    return Dispatcher([paging.router, desk.router, help.router], fallback=help.help_text, finish=paging.paginate)

"""The one visible place where the capabilities are put together, in the order they are tried."""

from __future__ import annotations

from bot.dispatch import Dispatcher
from handlers import help


def build_dispatcher() -> Dispatcher:
    return Dispatcher([help.router], fallback=help.help_text)

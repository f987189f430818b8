"""The one visible place where the capabilities are put together, in the order they are tried."""

from __future__ import annotations

from bot.dialog.forms import load_forms
from bot.routing.router import Dispatcher
from handlers import binding, dispute_warning, hardship, help, monthly_report, paging, staff_queries, summary
from handlers.forms import FormDesk

# Binding gates everything (an unbound user only learns how to bind). Capabilities with staff commands and form
# hooks go before the forms so that a staff command is answered even while a form is open.
CAPABILITIES = (staff_queries, monthly_report, dispute_warning, hardship, summary)


def build_dispatcher() -> Dispatcher:
    """Loading the forms here validates them, so a broken form stops the service at start-up."""
    hooks = {form_id: hook for module in CAPABILITIES for form_id, hook in module.hooks.items()}
    desk = FormDesk(load_forms(), hooks)
    routers = [binding.router, paging.router, *(module.router for module in CAPABILITIES), desk.router, help.router]
    return Dispatcher(routers, fallback=help.help_text, finish=paging.paginate)

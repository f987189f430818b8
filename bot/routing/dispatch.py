"""Trying the routes in order: the first whose filter matches answers, with what the filter read.

A filter returns None for "not mine", or the message's parsed arguments as a typed value, which the handler
receives as its second argument; so a command is read once, in the filter, and never passed around as text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from handlers.context import Context

A = TypeVar("A")
Reply = str | None


@dataclass(frozen=True)
class Route(Generic[A]):
    match: Callable[[Context], A | None]
    handle: Callable[[Context, A], Reply]
    paged: bool = True  # False for the route that serves pages itself (`更多`)
    menu_keys: frozenset[str] = frozenset()  # the menu clicks it answers: `config/menu.yaml` is checked against them


Handler = Callable[[Context], Reply]
Finish = Callable[[Context, Reply], Reply]


def name_of(handler: Callable[..., object]) -> str:
    """Where to read the code that answered, for the message log: `staff_queries.figures`, `desk.FormDesk.start`."""
    module = str(getattr(handler, "__module__", None) or "")
    qualname = str(getattr(handler, "__qualname__", None) or type(handler).__name__)
    return f"{module.rsplit('.', 1)[-1]}.{qualname}"


class Dispatcher:
    """Tries the routes in order; `finish` sees every reply of a paged route on its way out (paging long ones)."""

    def __init__(self, routes: Sequence[Route[Any]], fallback: Handler, finish: Finish | None = None) -> None:
        self.routes = tuple(routes)
        self.fallback = fallback
        self.finish = finish
        self._names = tuple(name_of(route.handle) for route in self.routes)
        self._fallback_name = name_of(fallback)

    @property
    def menu_keys(self) -> frozenset[str]:
        """Every menu click some route answers (a click on any other key only gets the fallback's help)."""
        return frozenset(key for route in self.routes for key in route.menu_keys)

    def handle(self, ctx: Context) -> Reply:
        return self.answer(ctx)[1]

    def answer(self, ctx: Context) -> tuple[str, Reply]:
        """The name of the route that answered (`name_of` its handler), and its reply."""
        for route, name in zip(self.routes, self._names, strict=True):
            args = route.match(ctx)
            if args is not None:
                reply = route.handle(ctx, args)
                return name, self.finish(ctx, reply) if self.finish and route.paged else reply
        reply = self.fallback(ctx)
        return self._fallback_name, self.finish(ctx, reply) if self.finish else reply

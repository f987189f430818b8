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


class Dispatcher:
    """Tries the routes in order; `finish` sees every reply of a paged route on its way out (paging long ones)."""

    def __init__(self, routes: Sequence[Route[Any]], fallback: Handler, finish: Finish | None = None) -> None:
        self.routes = list(routes)
        self.fallback = fallback
        self.finish = finish

    @property
    def menu_keys(self) -> frozenset[str]:
        """Every menu click some route answers (a click on any other key only gets the fallback's help)."""
        return frozenset(key for route in self.routes for key in route.menu_keys)

    def handle(self, ctx: Context) -> Reply:
        for route in self.routes:
            args = route.match(ctx)
            if args is not None:
                reply = route.handle(ctx, args)
                return self.finish(ctx, reply) if self.finish and route.paged else reply
        reply = self.fallback(ctx)
        return self.finish(ctx, reply) if self.finish else reply

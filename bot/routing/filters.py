"""Filters: what a route answers. Each returns None for "not mine", or what it read from the message.

Commands are read with `domain.commands.split_command`, so the word is split from its arguments in one place;
a capability that takes structured arguments (`签收 W12 说明`) passes its own pure `parse` for the arguments.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Literal, TypeVar

from domain.commands import Command, command_text, split_command
from domain.messages import Incoming, Kind
from handlers.context import Context

T = TypeVar("T")
Filter = Callable[[Context], T | None]
Yes = Literal[True]


def on(*kinds: Kind) -> Filter[Incoming]:
    """A message or event of one of these kinds."""
    return lambda ctx: ctx.incoming if ctx.incoming.kind in kinds else None


def when(predicate: Callable[[Context], bool]) -> Filter[Yes]:
    """A condition that reads nothing worth passing on (the sender is unbound, a form is open…)."""
    return lambda ctx: True if predicate(ctx) else None


def clicked(*keys: str) -> Filter[str]:
    """A menu click on one of `keys`."""
    return lambda ctx: (
        ctx.incoming.event_key if ctx.incoming.kind is Kind.CLICK and ctx.incoming.event_key in keys else None
    )


def said(*words: str) -> Filter[str]:
    """A text message that is, as a whole, one of `words` (`更多`, `更 多。`)."""

    def match(ctx: Context) -> str | None:
        if ctx.incoming.kind is not Kind.TEXT:
            return None
        folded = command_text(ctx.text)
        return folded if folded in words else None

    return match


def command(*words: str, attached: bool = False) -> Filter[Command]:
    """A text message whose first word is one of `words` (`统计`, `统计 上月`)."""

    def match(ctx: Context) -> Command | None:
        return split_command(ctx.text, words, attached=attached) if ctx.incoming.kind is Kind.TEXT else None

    return match


def parsed(read: Filter[Command], parse: Callable[[Context, Command], T | None]) -> Filter[T]:
    """A command that the capability's `parse` reads into a typed value (None: not of that shape, not for them)."""

    def match(ctx: Context) -> T | None:
        found = read(ctx)
        return parse(ctx, found) if found is not None else None

    return match


def staff(read: Filter[T]) -> Filter[T]:
    """Only when the sender is staff (or an admin)."""
    return lambda ctx: read(ctx) if ctx.is_staff else None


def plain(handler: Callable[[Context], str | None]) -> Callable[[Context, object], str | None]:
    """A handler that needs nothing from its filter (named after it, for the message log)."""

    @functools.wraps(handler)
    def handle(ctx: Context, _args: object) -> str | None:
        return handler(ctx)

    return handle

"""Routing a typed message to the capability that answers it.

Each `handlers/` module exposes a `Router`; `bot.composition` lists them in order. The first route that
matches answers; a handler returns the reply text, or None when there is nothing to say.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session

from bot.routing.message import Incoming, Kind
from bot.services import render
from config.settings import Settings
from storage import outbox
from storage.identity import active_member, is_staff
from storage.models import Member


@dataclass
class Context:
    """What a handler may touch: the open transaction, the message, the clock, and the outbox."""

    session: Session
    incoming: Incoming
    now: datetime
    settings: Settings
    cache: dict[str, Any] = field(default_factory=dict, init=False, repr=False)
    _member: Member | None = field(default=None, init=False, repr=False)
    _member_loaded: bool = field(default=False, init=False, repr=False)

    @property
    def member(self) -> Member | None:
        """The sender's active binding (None for a user who has not bound yet), read once per message."""
        if not self._member_loaded:
            self._member = active_member(self.session, self.incoming.openid)
            self._member_loaded = True
        return self._member

    @property
    def is_staff(self) -> bool:
        return is_staff(self.member)

    def forget_member(self) -> None:
        """After binding or unbinding in this message, read the binding again."""
        self._member_loaded = False

    @property
    def local_now(self) -> datetime:
        """The federation's wall clock: report months, dates and quiet hours are read in it."""
        return self.now.astimezone(self.settings.zone)

    @property
    def openid(self) -> str:
        return self.incoming.openid

    @property
    def text(self) -> str:
        return self.incoming.text.strip()

    def render(self, name: str, **context: Any) -> str:
        return render.render(name, **context)

    def push_text(self, openid: str, content: str, key: str) -> None:
        """Queue a customer-service message in this transaction (sent only if the transaction commits)."""
        outbox.enqueue_text(self.session, key=key, openid=openid, content=content, now=self.now)


Handler = Callable[[Context], str | None]
Predicate = Callable[[Context], bool]


class Router:
    """The routes of one capability, tried in the order they were declared."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.routes: list[tuple[Predicate, Handler]] = []

    def route(self, predicate: Predicate) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.routes.append((predicate, handler))
            return handler

        return register

    def on(self, *kinds: Kind) -> Callable[[Handler], Handler]:
        return self.route(lambda ctx: ctx.incoming.kind in kinds)

    def command(self, *words: str) -> Callable[[Handler], Handler]:
        """A text message whose first word is one of `words` (`月报`, `月报 2024年5月`)."""
        pattern = re.compile(r"^(?:" + "|".join(map(re.escape, words)) + r")(?:\s|$)")
        return self.route(lambda ctx: ctx.incoming.kind is Kind.TEXT and bool(pattern.match(ctx.text)))

    def click(self, *keys: str) -> Callable[[Handler], Handler]:
        return self.route(lambda ctx: ctx.incoming.kind is Kind.CLICK and ctx.incoming.event_key in keys)

    def resolve(self, ctx: Context) -> Handler | None:
        return next((handler for predicate, handler in self.routes if predicate(ctx)), None)


Finish = Callable[[Context, str | None], str | None]


class Dispatcher:
    """Tries the routers in order; `finish` sees every reply on its way out (paging long ones)."""

    def __init__(self, routers: Sequence[Router], fallback: Handler, finish: Finish | None = None) -> None:
        self.routers = list(routers)
        self.fallback = fallback
        self.finish = finish

    def handle(self, ctx: Context) -> str | None:
        reply = self._route(ctx)
        return self.finish(ctx, reply) if self.finish else reply

    def _route(self, ctx: Context) -> str | None:
        for router in self.routers:
            handler = router.resolve(ctx)
            if handler is not None:
                return handler(ctx)
        return self.fallback(ctx)

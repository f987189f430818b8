"""What a handler may touch while it answers one message: the open transaction, the message, the clock, the outbox."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session

from bot.services import render
from config.settings import Settings
from domain.messages import Incoming
from storage import filestore, outbox
from storage.identity import active_member, is_staff
from storage.models import Member


@dataclass
class Context:
    session: Session
    incoming: Incoming
    now: datetime
    settings: Settings
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

    @property
    def files(self) -> filestore.FileStore:
        """The file store (exports, documents), writing in this message's transaction."""
        return filestore.open_store(self.settings, self.session)

    def render(self, name: str, **context: Any) -> str:
        return render.render(name, **context)

    def push_text(self, openid: str, content: str, key: str) -> None:
        """Queue a customer-service message in this transaction (sent only if the transaction commits)."""
        outbox.enqueue_text(self.session, key=key, openid=openid, content=content, now=self.now)

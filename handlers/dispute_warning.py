"""Placeholder: this capability is being built (issue 4)."""

from __future__ import annotations

from bot.dispatch import Router
from handlers.forms import Hooks

router = Router("dispute_warning")
hooks: dict[str, Hooks] = {}

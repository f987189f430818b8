"""Sensitive form answers (fields marked `sensitive: true`) encrypted wherever the generic form machinery
stores them: the draft saved after every message and the submitted answers.

The engine stays pure and sees plain values; the edge seals on the way into the database and opens on the way
out. A sealed value is `{"sealed": "<Fernet token of the JSON value>"}`, so a plain value written before a field
was marked sensitive still reads back.
"""

from __future__ import annotations

import json
from typing import Any

from bot.dialog.forms import Form
from storage import crypto

SEALED = crypto.SEALED


def _sensitive(form: Form) -> frozenset[str]:
    return frozenset(f.id for f in form.fields if f.sensitive)


def seal(key: str, value: Any) -> dict[str, str]:
    return {SEALED: crypto.encrypt(key, json.dumps(value, ensure_ascii=False))}


def unseal(key: str, value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {SEALED}:
        return json.loads(crypto.decrypt(key, str(value[SEALED])))
    return value


def seal_answers(form: Form, answers: dict[str, Any], key: str) -> dict[str, Any]:
    hidden = _sensitive(form)
    return {
        name: seal(key, value) if name in hidden and value is not None else value for name, value in answers.items()
    }


def open_answers(form: Form, answers: dict[str, Any], key: str) -> dict[str, Any]:
    hidden = _sensitive(form)
    return {name: unseal(key, value) if name in hidden else value for name, value in answers.items()}


def seal_state(form: Form, state: dict[str, Any], key: str) -> dict[str, Any]:
    """The engine's state with sensitive answers sealed, and the half-typed value (a warned answer, a group's
    records so far) too while the cursor is on a sensitive field."""
    sealed = {**state, "answers": seal_answers(form, state.get("answers") or {}, key)}
    if state.get("cursor") in _sensitive(form) and state.get("pending") is not None:
        sealed["pending"] = seal(key, state["pending"])
    return sealed


def open_state(form: Form, state: dict[str, Any], key: str) -> dict[str, Any]:
    return {
        **state,
        "answers": open_answers(form, state.get("answers") or {}, key),
        "pending": unseal(key, state.get("pending")),
    }

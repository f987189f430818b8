"""Drafts, the per-user conversation pointer, and idempotent submissions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from storage.models import Conversation, Draft, ReceiptCounter, Submission


class DraftConflict(Exception):
    """Another process saved this draft in between (the per-user lock should make this impossible)."""


# A form step loads and saves its draft: both statements are built once and bound per step.
DRAFTS = Draft.metadata.tables[Draft.__tablename__]
LOAD = select(Draft).where(Draft.openid == bindparam("openid"), Draft.form_id == bindparam("form_id"))
SAVE = (
    update(DRAFTS)
    .where(DRAFTS.c.id == bindparam("draft_id"), DRAFTS.c.version == bindparam("seen_version"))
    .values(
        state=bindparam("new_state", type_=DRAFTS.c.state.type),
        version=bindparam("new_version", type_=DRAFTS.c.version.type),
        updated_at=bindparam("new_updated_at", type_=DRAFTS.c.updated_at.type),
        expires_at=bindparam("new_expires_at", type_=DRAFTS.c.expires_at.type),
    )
)


def load_draft(session: Session, openid: str, form_id: str) -> Draft | None:
    return session.exec(LOAD, params={"openid": openid, "form_id": form_id}).first()


def save_draft(
    session: Session,
    draft: Draft | None,
    *,
    openid: str,
    form_id: str,
    state: dict[str, Any],
    now: datetime,
    ttl: timedelta,
) -> Draft:
    """Insert, or update with an optimistic version check; every save pushes the expiry forward."""
    if draft is None:
        draft = Draft(openid=openid, form_id=form_id, state=state, created_at=now, updated_at=now, expires_at=now + ttl)
        session.add(draft)
        session.flush()
        return draft
    values = {"state": state, "version": draft.version + 1, "updated_at": now, "expires_at": now + ttl}
    bound = {f"new_{key}": value for key, value in values.items()}
    result = session.connection().execute(SAVE, {"draft_id": draft.id, "seen_version": draft.version, **bound})
    if result.rowcount != 1:
        raise DraftConflict(f"draft {draft.id} changed concurrently")
    for key, value in values.items():  # what was written, without reading the row back
        set_committed_value(draft, key, value)
    return draft


def delete_draft(session: Session, draft: Draft) -> None:
    session.delete(draft)
    session.flush()


def expired(session: Session, now: datetime, limit: int) -> list[Draft]:
    """Up to `limit` drafts past their expiry, oldest first."""
    query = select(Draft).where(col(Draft.expires_at) < now).order_by(col(Draft.expires_at)).limit(limit)
    return list(session.exec(query).all())


def delete_many(session: Session, ids: Sequence[int]) -> None:
    """One statement, however many."""
    if ids:
        session.execute(delete(Draft).where(col(Draft.id).in_(ids)), execution_options={"synchronize_session": False})


def leave_forms(session: Session, pointers: Sequence[tuple[str, str]]) -> None:
    """Point these users (openid, form id) at no form, where they still point at that one."""
    for openid, form_id in pointers:
        session.execute(
            update(Conversation)
            .where(col(Conversation.openid) == openid, col(Conversation.active_form) == form_id)
            .values(active_form=None),
            execution_options={"synchronize_session": False},
        )


def conversation(session: Session, openid: str, now: datetime) -> Conversation:
    found = session.get(Conversation, openid)
    if found is None:
        found = Conversation(openid=openid, updated_at=now)
        session.add(found)
    return found


def submit(
    session: Session,
    *,
    form_id: str,
    receipt_prefix: str,
    draft_key: str,
    openid: str,
    enterprise_id: int | None,
    answers: dict[str, Any],
    now: datetime,
    amends: str | None = None,
) -> Submission:
    """One record per draft: a second submit of the same draft returns the first record. Its receipt is the kind's
    next number (Y12), or, amending an earlier receipt, that receipt's next version (H7-2)."""
    existing = session.exec(select(Submission).where(Submission.draft_key == draft_key)).first()
    if existing is not None:
        return existing
    receipt = (
        amendment_receipt(session, amends)
        if amends
        else f"{receipt_prefix}{next_receipt_number(session, receipt_prefix)}"
    )
    record = Submission(
        form_id=form_id,
        receipt=receipt,
        draft_key=draft_key,
        openid=openid,
        enterprise_id=enterprise_id,
        answers=answers,
        submitted_at=now,
    )
    session.add(record)
    session.flush()
    return record


def next_receipt_number(session: Session, prefix: str) -> int:
    """The next number of this kind of receipt. The UPDATE locks the counter row until the transaction ends, so
    two submissions at once get consecutive numbers; a kind's first receipt starts its row after any number that
    kind already used (receipts made before the counters were numbered by submission id)."""
    bumped = session.execute(
        update(ReceiptCounter)
        .where(col(ReceiptCounter.prefix) == prefix)
        .values(last=col(ReceiptCounter.last) + 1)
        .returning(col(ReceiptCounter.last)),
        execution_options={"synchronize_session": False},
    ).scalar_one_or_none()
    if bumped is not None:
        return int(bumped)
    first = highest_receipt_number(session, prefix) + 1
    try:
        with session.begin_nested():
            session.add(ReceiptCounter(prefix=prefix, last=first))
    except IntegrityError:  # another transaction started this kind's counter meanwhile: take the next one
        return next_receipt_number(session, prefix)
    return first


def highest_receipt_number(session: Session, prefix: str) -> int:
    """The largest number among stored receipts `prefix<digits>`, 0 when there are none."""
    numbers = [
        int(receipt[len(prefix) :])
        for receipt in session.exec(
            select(Submission.receipt).where(col(Submission.receipt).startswith(prefix, autoescape=True))
        )
        if receipt[len(prefix) :].isdigit()
    ]
    return max(numbers, default=0)


def amendment_receipt(session: Session, amended: str) -> str:
    """H7-2, H7-3 …: the amended receipt's next version (the user's lock serialises their amendments)."""
    versions = session.exec(
        select(Submission.receipt).where(col(Submission.receipt).startswith(f"{amended}-", autoescape=True))
    ).all()
    return f"{amended}-{len(versions) + 2}"

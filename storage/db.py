"""Engines and transactions for SQLite (embedded default) and PostgreSQL (production)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import StaticPool
from sqlmodel import Session


class DatabaseUnreachable(Exception):
    """The configured database cannot be reached; start-up stops with this message."""


def utcnow() -> datetime:
    """The wall clock as aware UTC (what the `UTCDateTime` columns store and return on both databases).

    Only the edges read it: `create_app`'s default clock and each CLI command once at its start. Everything
    below is handed `now` or the service's clock, so tests can set the time.
    """
    return datetime.now(UTC)


_KEPT = "kept"


def _keep(session: Session, instance: object) -> None:
    kept = session.info.get(_KEPT)
    if kept is not None:
        kept.append(instance)


# The session's identity map holds objects weakly: a row read in one helper and dropped is read again by the
# next. A transaction opened with `keep_loaded` holds them for its length, so each row is read once.
event.listen(Session, "loaded_as_persistent", _keep)
event.listen(Session, "pending_to_persistent", _keep)


def _sqlite_engine(url: str) -> Engine:
    path = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else ""  # `sqlite://` is in memory
    memory = path in ("", ":memory:")
    if not memory:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    # Pooled: opening a connection (and its PRAGMAs) per transaction cost more than the transaction itself.
    # An in-memory database exists only inside its connection, so every session shares that one.
    pooling: dict[str, Any] = {"poolclass": StaticPool} if memory else {"pool_size": 5, "max_overflow": 10}
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **pooling)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN IMMEDIATE: the write lock is taken at the start of
        # the transaction, so a read-then-write (dedup check, draft update) can never deadlock or lose.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        return _sqlite_engine(url)
    # JIT compiles each large aggregate for 100-300 ms, longer than the staff queries themselves take to run.
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, connect_args={"options": "-c jit=off"})


class Database:
    """One engine and the transaction helpers every layer uses."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.is_postgres = self.engine.dialect.name == "postgresql"
        # SQLite admits one writer at a time. Queueing this process's transactions on a lock hands the database
        # to the next one the moment the last commits; otherwise waiters poll in SQLite's busy handler, which
        # sleeps up to 100 ms between tries (seen by the benchmark as replies taking seconds under load).
        self._writer: AbstractContextManager[Any] = nullcontext() if self.is_postgres else threading.RLock()

    @contextmanager
    def transaction(self, keep_loaded: bool = False) -> Iterator[Session]:
        """A session inside one transaction: committed on success, rolled back on any exception.

        `keep_loaded` for short transactions that look rows up from several places (one message's handling);
        not for jobs that stream many rows."""
        with self._writer, Session(self.engine, expire_on_commit=False) as session, session.begin():
            if keep_loaded:
                session.info[_KEPT] = []
            yield session

    def lock_key(self, session: Session, key: str) -> None:
        """Serialise work on `key` across processes until the transaction ends.

        SQLite needs nothing: BEGIN IMMEDIATE already admits one writer at a time.
        """
        if self.is_postgres:
            session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": key})

    def try_lock_key(self, session: Session, key: str) -> bool:
        """Non-blocking variant for leader election (one scheduler among several processes)."""
        if not self.is_postgres:
            return True
        row = session.execute(text("SELECT pg_try_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": key})
        return bool(row.scalar())

    def check_reachable(self) -> None:
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except OperationalError as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise DatabaseUnreachable(f"UNIONBOT_DATABASE_URL: cannot connect ({reason})") from None

    def dispose(self) -> None:
        self.engine.dispose()

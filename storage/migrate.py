"""Alembic driven from code, so `unionbot db upgrade` needs no alembic.ini and no working directory."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


class SchemaBehind(Exception):
    """The database is older than the code; the message says which command fixes it."""


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "heads") -> None:
    command.upgrade(alembic_config(url), revision)


def new_revision(url: str, message: str) -> None:
    command.revision(alembic_config(url), message=message, autogenerate=True)


def head_revisions() -> frozenset[str]:
    """Capabilities may add migrations on branches of their own; the schema is current when all heads are applied."""
    return frozenset(ScriptDirectory(str(MIGRATIONS_DIR)).get_heads())


def current_revisions(engine: Engine) -> frozenset[str]:
    with engine.connect() as connection:
        return frozenset(MigrationContext.configure(connection).get_current_heads())


def require_current(engine: Engine) -> None:
    current, heads = current_revisions(engine), head_revisions()
    if current != heads:
        raise SchemaBehind(
            f"database schema is at {', '.join(sorted(current)) or 'empty'}, this version needs "
            f"{', '.join(sorted(heads))}: run `unionbot db upgrade`"
        )

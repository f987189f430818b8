"""What every `unionbot` command shares: one way to fail, and settings, database and `--period` read or exit."""

from __future__ import annotations

from datetime import date

import typer

from config.settings import Settings, SettingsError, load_settings
from domain.normalize import ParseError, parse_period
from domain.periods import Period
from storage.db import Database, DatabaseUnreachable


def fail(message: str) -> typer.Exit:
    """One line on stderr and exit code 2, so an operator or a script sees why the command refused."""
    typer.echo(f"unionbot: {message}", err=True)
    return typer.Exit(code=2)


def fail_each(problems: list[str]) -> typer.Exit:
    """`fail` for several problems found at once: one line each, so the operator fixes them in one go."""
    for problem in problems:
        typer.echo(f"unionbot: {problem}", err=True)
    return typer.Exit(code=2)


def settings_or_exit() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        raise fail(str(exc)) from None


def database_or_exit(settings: Settings) -> Database:
    db = Database(settings.database_url)
    try:
        db.check_reachable()
    except DatabaseUnreachable as exc:
        raise fail(str(exc)) from None
    return db


def period_or_exit(text: str, today: date, examples: str, default: Period | None = None) -> Period:
    """`--period` read as the chat reads it; `examples` end the error with what this command's users type."""
    try:
        return parse_period(text, today=today, default=default)
    except ParseError as error:
        raise fail(f"--period: cannot read {text!r} ({error.reason}); {examples}") from None

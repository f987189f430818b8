"""`unionbot keys rotate --new-key KEY`: move every encrypted value and file to a new data key (`storage.rekey`).

The order that keeps the service reading throughout: set `UNIONBOT_DATA_KEY=NEW,OLD` on every service machine
(new values are written under NEW, old ones still read), run this, then set `UNIONBOT_DATA_KEY=NEW`.
"""

from __future__ import annotations

from typing import Annotated

import typer
from cryptography.fernet import Fernet

from bot.cli.common import database_or_exit, fail, settings_or_exit
from storage.migrate import SchemaBehind, require_current
from storage.rekey import rotate

keys_app = typer.Typer(help="The data key that encrypts personal data, replies and files at rest.")


@keys_app.command("rotate")
def keys_rotate(
    new_key: Annotated[
        str, typer.Option("--new-key", help="The new Fernet key (make one: unionbot keys new).", show_default=False)
    ],
) -> None:
    """Re-encrypt under NEW whatever UNIONBOT_DATA_KEY's keys can read; safe to stop and run again."""
    try:
        Fernet(new_key.encode())
    except ValueError:
        raise fail(
            "--new-key: not a Fernet key (32 bytes, url-safe base64; make one with `unionbot keys new`)"
        ) from None
    settings = settings_or_exit()
    db = database_or_exit(settings)
    try:
        require_current(db.engine)
        done = rotate(db, settings, new_key)
    except SchemaBehind as exc:
        raise fail(str(exc)) from None
    finally:
        db.dispose()
    for kind, count in done.counts.items():
        typer.echo(f"{kind}: {count} re-encrypted")
    if done.undecryptable:
        total = sum(len(names) for names in done.undecryptable.values())
        kinds = ", ".join(f"{kind} {len(names)}" for kind, names in done.undecryptable.items())
        first = next(iter(done.undecryptable.values()))[0]
        raise fail(f"{total} values no key could open were left as they are ({kinds}; the first: {first})")
    typer.echo("every value is under the new key: set UNIONBOT_DATA_KEY to it alone, then the old key can go")


@keys_app.command("new")
def keys_new() -> None:
    """Print a fresh Fernet key for UNIONBOT_DATA_KEY."""
    typer.echo(Fernet.generate_key().decode())

"""`python -m bench.profile stranger|form`: the CPU one message costs the service, measured in one process.

wrk (`bench.run`) measures what the service answers over HTTP; this drives the same app through ASGI without a
socket, 16 senders at once, and reports CPU per message, which moves far less than throughput on a shared machine.
It is the before/after figure for each cause in bench/results/2026-12-02-causes.md; wrap it in
`py-spy record --gil -f raw -o stacks.txt -- python -m bench.profile …` to see where the time goes.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.script import preferred_walk
from bench.seed_data import seed_users
from bot.app import create_app
from bot.channel.signing import Signer, asgi_scope, new_msg_id, text_xml
from config.settings import Settings
from storage.db import Database
from storage.migrate import upgrade

TOKEN = "unionbot-profile-token"
SENDERS = 16
CHAIRS_PER_SENDER = 100


async def _post(app: Any, signer: Signer, openid: str, text: str) -> None:
    params, body = signer.sign(text_xml(openid, text, new_msg_id()))
    answered: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        answered.append(message)

    await app(asgi_scope(params, len(body)), receive, send)
    if answered[0]["status"] != 200:
        raise RuntimeError(f"HTTP {answered[0]['status']}: {answered[1:]}")


async def _drive(app: Any, turns: list[tuple[str, str]]) -> tuple[float, float]:
    """Send `turns` (openid, text) from SENDERS coroutines, each its own chairs in order; (seconds, CPU seconds)."""
    signer = Signer(TOKEN)
    lanes = [turns[i::SENDERS] for i in range(SENDERS)]

    async def lane(mine: list[tuple[str, str]]) -> None:
        for openid, text in mine:
            await _post(app, signer, openid, text)

    async with app.router.lifespan_context(app):
        began, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(lane(mine) for mine in lanes))
        return time.perf_counter() - began, time.process_time() - cpu


def _turns(mode: str, messages: int, db: Database, settings: Settings) -> list[tuple[str, str]]:
    if mode == "stranger":
        return [(f"stranger-{i % 3000}", "你好") for i in range(messages)]
    chairs = [f"profile-chair-{i}" for i in range(SENDERS * CHAIRS_PER_SENDER)]
    seed_users(db, chairs)
    _form, script, _ = preferred_walk(db, settings, chairs[0], datetime.now(UTC))
    texts = [turn.text for turn in script]
    # Sender s walks its own chairs one after another, so every message is a real step of a walk in progress.
    per_sender = messages // SENDERS
    turns: list[tuple[str, str]] = []
    for k in range(per_sender):
        for s in range(SENDERS):
            chair = chairs[s * CHAIRS_PER_SENDER + (k // len(texts)) % CHAIRS_PER_SENDER]
            turns.append((chair, texts[k % len(texts)]))
    return turns


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("mode", choices=("stranger", "form"))
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--database", help="a database URL (default: a fresh SQLite file)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="unionbot-profile-") as folder:
        url = args.database or f"sqlite:///{Path(folder) / 'profile.db'}"
        upgrade(url)
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            database_url=url,
            wechat_token=TOKEN,
            wechat_aes_key=None,
            redis_url=None,
            outbox_run_in_service=False,
            scheduler_run_in_service=False,
            files_dir=Path(folder) / "files",
        )
        db = Database(url)
        turns = _turns(args.mode, args.messages, db, settings)
        db.dispose()
        seconds, cpu = asyncio.run(_drive(create_app(settings), turns))
    print(
        f"{args.mode}: {len(turns)} messages in {seconds:.2f} s ({len(turns) / seconds:.0f}/s), "
        f"CPU {cpu * 1e6 / len(turns):.0f} µs a message"
    )


if __name__ == "__main__":
    main()

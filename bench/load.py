"""The load generator: many users filling a form at once, speaking to the endpoint exactly as WeChat does.

Each request is signed (and in safe mode encrypted) with a fresh MsgId, and each user walks a complete,
valid conversation (`bench.script.plan`), so every request is a real form step: dedup record, draft read,
validation, draft write and reply render. Three ways to drive it:

* closed loop: every user sends its next message as soon as the previous reply arrives (finds the maximum);
* open loop: messages are released at a fixed rate and latency counts from the scheduled moment, so a slow
  server cannot hide its queueing (no coordinated omission);
* retry storm: every message is delivered three times at once, as WeChat does when replies are slow.

Run on its own: `python -m bench.load --url http://127.0.0.1:8000/wechat --users 20 --seconds 10`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from bench.script import Turn, plan
from bot.channel.signing import Signer, new_msg_id, text_xml
from bot.dialog.forms import load_forms

ACCOUNT = "gh_unionbot"
SLOW_SECONDS = 1.0
_CONTENT = re.compile(r"<Content><!\[CDATA\[(.*)\]\]></Content>", re.DOTALL)


@dataclass
class User:
    """One simulated chair: an openid and how far through its one walk of the form it is."""

    openid: str
    script: Sequence[Turn]
    position: int = 0

    def next_turn(self) -> Turn:
        turn = self.script[self.position % len(self.script)]
        self.position += 1
        return turn

    @property
    def done(self) -> bool:
        return self.position >= len(self.script)


class Pool:
    """Bound chairs waiting to file: each walks the form once (as a chair files once a month), then the next
    one takes its place. Wraps around when exhausted, which turns later walks into resubmissions."""

    def __init__(self, openids: Sequence[str], script: Sequence[Turn]) -> None:
        self.openids = list(openids)
        self.script = script
        self.taken = 0  # walks started
        self._next = 0
        self._walking: set[str] = set()

    def fresh(self) -> User:
        """The next chair not in the middle of a walk: a chair files one form at a time, and two walks on one
        chair would answer each other's questions."""
        for _ in range(len(self.openids)):
            openid = self.openids[self._next % len(self.openids)]
            self._next += 1
            if openid not in self._walking:
                self._walking.add(openid)
                self.taken += 1
                return User(openid, self.script)
        raise RuntimeError(f"more users at once than the {len(self.openids)} chairs in the pool")

    def after(self, user: User) -> User:
        """The same user until its walk is complete, then a fresh one."""
        if not user.done:
            return user
        self._walking.discard(user.openid)
        return self.fresh()


@dataclass
class Outcome:
    latency: float
    error: str | None = None
    reply: str = ""


@dataclass
class Report:
    """What one pass measured; latencies in milliseconds."""

    name: str
    users: int
    sent: int
    errors: int
    seconds: float
    per_second: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    slow: int  # replies slower than SLOW_SECONDS
    target_rate: float | None = None
    generator_cpu: float | None = None  # share of one CPU the generator used; near 1.0 it, not the server, limits
    error_samples: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of an already sorted list (0 for an empty one)."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def summarize(
    name: str, users: int, outcomes: list[Outcome], seconds: float, rate: float | None = None, cpu: float = 0.0
) -> Report:
    latencies = sorted(o.latency * 1000 for o in outcomes)
    errors = [o.error for o in outcomes if o.error]
    return Report(
        name=name,
        users=users,
        sent=len(outcomes),
        errors=len(errors),
        seconds=round(seconds, 2),
        per_second=round(len(outcomes) / seconds, 1) if seconds > 0 else 0.0,
        p50_ms=round(percentile(latencies, 0.50), 1),
        p95_ms=round(percentile(latencies, 0.95), 1),
        p99_ms=round(percentile(latencies, 0.99), 1),
        max_ms=round(latencies[-1], 1) if latencies else 0.0,
        slow=sum(1 for v in latencies if v > SLOW_SECONDS * 1000),
        target_rate=rate,
        generator_cpu=round(cpu / seconds, 2) if seconds > 0 else None,
        error_samples=sorted(set(errors))[:5],
    )


class Target:
    """The endpoint under load, and how to speak to it (token, AppID, AES key for safe mode, the service's clock)."""

    def __init__(
        self, url: str, token: str, appid: str, aes_key: str | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        self.url = url
        self.signer = Signer(token, appid, aes_key, clock)

    def reply_text(self, body: str) -> str | None:
        """The text of a passive reply; None when the endpoint answered `success` (nothing in time)."""
        inner = self.signer.open_reply(body)
        found = _CONTENT.search(inner)
        return found.group(1) if found else None

    async def send(
        self, client: httpx.AsyncClient, openid: str, turn: Turn, msg_id: int | None = None, started: float = 0.0
    ) -> Outcome:
        """Deliver one message; latency counts from `started` when given (the scheduled send time)."""
        params, body = self.signer.sign(text_xml(openid, turn.text, msg_id or new_msg_id(), ACCOUNT))
        began = started or time.perf_counter()
        try:
            response = await client.post(self.url, params=params, content=body)
        except httpx.HTTPError as exc:
            return Outcome(time.perf_counter() - began, f"{type(exc).__name__}")
        latency = time.perf_counter() - began
        if response.status_code != 200:
            return Outcome(latency, f"HTTP {response.status_code}")
        reply = self.reply_text(response.text)
        if not reply:
            return Outcome(latency, "no passive reply")
        if turn.expect and turn.expect not in reply:
            return Outcome(latency, f"unexpected reply to {turn.text!r}: {reply[:60]!r}", reply)
        return Outcome(latency, None, reply)


def _client(users: int, transport: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncClient:
    """One keep-alive connection per concurrent user; `transport` lets the smoke test call the app in-process."""
    limits = httpx.Limits(max_connections=users, max_keepalive_connections=users)
    return httpx.AsyncClient(timeout=30, limits=limits, transport=transport)


async def closed_loop(
    target: Target,
    pool: Pool,
    users: int,
    seconds: float,
    name: str = "closed",
    transport: httpx.AsyncBaseTransport | None = None,
) -> Report:
    """`users` chairs at a time each send the next message as soon as they have the reply, for `seconds`."""
    outcomes: list[Outcome] = []
    deadline = time.perf_counter() + seconds

    async def walk(client: httpx.AsyncClient) -> None:
        user = pool.fresh()
        while time.perf_counter() < deadline:
            outcomes.append(await target.send(client, user.openid, user.next_turn()))
            user = pool.after(user)

    async with _client(users, transport) as client:
        began, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(walk(client) for _ in range(users)))
        elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu
    return summarize(name, users, outcomes, elapsed, cpu=cpu)


async def open_loop(target: Target, pool: Pool, users: int, rate: float, seconds: float, name: str = "open") -> Report:
    """Release `rate` messages per second; each goes to an idle user, latency counts from its release time.

    A user still waits for its previous reply (a person does), so `users` must exceed rate × latency.
    """
    outcomes: list[Outcome] = []
    idle: asyncio.Queue[User] = asyncio.Queue()
    for _ in range(users):
        idle.put_nowait(pool.fresh())
    total = max(1, int(rate * seconds))

    async def one(client: httpx.AsyncClient, scheduled: float) -> None:
        user = await idle.get()
        outcomes.append(await target.send(client, user.openid, user.next_turn(), started=scheduled))
        idle.put_nowait(pool.after(user))

    async with _client(users) as client:
        began, cpu = time.perf_counter(), time.process_time()
        tasks = []
        for i in range(total):
            scheduled = began + i / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(client, scheduled)))
        await asyncio.gather(*tasks)
        elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu
    return summarize(name, users, outcomes, elapsed, rate, cpu)


@dataclass
class StormResult:
    report: Report
    messages: int  # distinct messages (each delivered three times)
    mismatched: int  # messages whose three replies were not identical
    walks_completed: int


async def retry_storm(
    target: Target, users: list[User], copies: int = 3, transport: httpx.AsyncBaseTransport | None = None
) -> StormResult:
    """Each user walks the form once; every message is delivered `copies` times at once."""
    outcomes: list[Outcome] = []
    mismatched = 0
    messages = 0

    async def walk(client: httpx.AsyncClient, user: User) -> None:
        nonlocal mismatched, messages
        while not user.done:
            turn = user.next_turn()
            msg_id = new_msg_id()
            results = await asyncio.gather(*(target.send(client, user.openid, turn, msg_id) for _ in range(copies)))
            outcomes.extend(results)
            messages += 1
            if len({r.reply for r in results}) != 1:
                mismatched += 1

    async with _client(len(users) * copies, transport) as client:
        began, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(walk(client, user) for user in users))
        elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu
    report = summarize("retry storm (×3)", len(users), outcomes, elapsed, cpu=cpu)
    return StormResult(report, messages, mismatched, len(users))


def openids(count: int, prefix: str = "bench-user-") -> list[str]:
    return [f"{prefix}{i:05d}" for i in range(count)]


def script_for(form_id: str, context: dict[str, Any] | None = None) -> list[Turn]:
    """A complete valid walk through `form_id`, planned against the current time."""
    return plan(load_forms()[form_id], datetime.now(UTC), context)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8000/wechat")
    parser.add_argument("--token", default="unionbot-dev-token")
    parser.add_argument("--appid", default="wx0000000000000000")
    parser.add_argument("--aes-key", default=None)
    parser.add_argument("--form", default="demo")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rate", type=float, default=None, help="open loop at this many messages per second")
    parser.add_argument("--prefix", default="bench-user-", help="openids are PREFIX00000, PREFIX00001, …")
    parser.add_argument("--pool", type=int, default=1000, help="how many bound chairs exist (PREFIX00000…)")
    args = parser.parse_args(argv)
    target = Target(args.url, args.token, args.appid, args.aes_key)
    pool = Pool(openids(args.pool, args.prefix), script_for(args.form))
    if args.rate:
        report = asyncio.run(open_loop(target, pool, args.users, args.rate, args.seconds))
    else:
        report = asyncio.run(closed_loop(target, pool, args.users, args.seconds))
    print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()

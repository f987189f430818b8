"""The Python generator, kept for what wrk (bench/wrk.py) cannot do: check each reply against the form's script.

Each request is signed (and in safe mode encrypted) with a fresh MsgId, and each user walks a complete,
valid conversation (`bench.script.plan`). The retry storm delivers every message three times at once, as WeChat
does when replies are slow, and compares the three replies; `bench.run` then counts the stored rows.
Its throughput is this generator's, not the service's: the benchmark's msg/s come from wrk.
"""

from __future__ import annotations

import asyncio
import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import httpx

from bench.script import Turn
from bot.channel.signing import Signer, new_msg_id, text_xml

ACCOUNT = "gh_unionbot"
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


@dataclass
class Outcome:
    latency: float
    error: str | None = None
    reply: str = ""


@dataclass
class Report:
    """What one pass measured; latencies in milliseconds."""

    name: str
    users: int  # at once: walking users, or wrk's connections
    sent: int
    errors: int
    seconds: float
    per_second: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    target_rate: float | None = None
    generator_cpu: float | None = None  # share of one CPU the generator used; near 1.0 it, not the server, limits
    error_samples: list[str] = field(default_factory=list)


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of an already sorted list (0 for an empty one)."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def summarize(name: str, users: int, outcomes: list[Outcome], seconds: float, cpu: float = 0.0) -> Report:
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

    async def send(self, client: httpx.AsyncClient, openid: str, turn: Turn, msg_id: int | None = None) -> Outcome:
        """Deliver one message and check its reply against the turn's expected phrase."""
        params, body = self.signer.sign(text_xml(openid, turn.text, msg_id or new_msg_id(), ACCOUNT))
        began = time.perf_counter()
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

"""Throughput and latency from wrk (bench/wechat.lua), pinned to the generator's CPU.

wrk is C and sends from one thread many times faster than the Python generator could, so what the benchmark
divides is the apps' throughput, not the generator's; its CPU share is reported to show it was not the limit.
"""

from __future__ import annotations

import json
import os
import resource
import shlex
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from bench.load import Report
from bench.script import Turn

SCRIPT = Path(__file__).resolve().parent / "wechat.lua"
CONNECTIONS = 32
THREADS = 1
TIMEOUT_SECONDS = 5  # WeChat gives up on a reply after five seconds


@dataclass(frozen=True)
class Load:
    """What the Lua script sends: strangers saying `text`, or bound chairs walking `script`."""

    mode: Literal["stranger", "form"]
    token: str
    prefix: str
    first: int = 0  # openids prefix%05d from `first`, `pool` of them
    pool: int = 1000
    script: Sequence[Turn] = ()
    text: str = "你好"

    def env(self, threads: int, rate: float | None) -> dict[str, str]:
        values = {
            "WECHAT_TOKEN": self.token,
            "WECHAT_MODE": self.mode,
            "WECHAT_PREFIX": self.prefix,
            "WECHAT_FIRST": str(self.first),
            "WECHAT_POOL": str(self.pool),
            "WECHAT_THREADS": str(threads),
        }
        if self.mode == "stranger":
            values["WECHAT_TEXT"] = self.text
        if rate:
            values["WECHAT_RATE"] = f"{rate:g}"
        return values


def command(url: str, seconds: float, connections: int = CONNECTIONS, threads: int = THREADS) -> list[str]:
    return [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        f"--timeout={TIMEOUT_SECONDS}s",
        "--latency",
        "-s",
        str(SCRIPT),
        url,
    ]


def by_hand(url: str, load: Load, cpu: int, seconds: float = 8) -> str:
    """The shell line that repeats a measurement by hand, from the repository's root."""
    env = " ".join(f"{key}={shlex.quote(value)}" for key, value in load.env(THREADS, None).items())
    line = command(url, seconds)
    line[line.index(str(SCRIPT))] = str(SCRIPT.relative_to(SCRIPT.parent.parent))
    return f"{env} WRK_REPORT=/tmp/wrk.json taskset -c {cpu} {' '.join(line)}"


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(
    name: str,
    url: str,
    load: Load,
    seconds: float,
    rate: float | None = None,
    connections: int = CONNECTIONS,
    threads: int = THREADS,
    cpu: int = 0,
) -> tuple[Report, dict[str, Any]]:
    """One wrk pass on CPU `cpu`; the report and wrk's own JSON (bench/wechat.lua's done())."""
    with tempfile.TemporaryDirectory(prefix="unionbot-wrk-") as folder:
        env = os.environ | load.env(threads, rate) | {"WRK_REPORT": str(Path(folder, "report.json"))}
        if load.mode == "form":
            turns = "".join(f"{turn.text}\t{turn.expect or ''}\n" for turn in load.script)
            Path(folder, "script.tsv").write_text(turns, encoding="utf-8")
            env["WECHAT_SCRIPT"] = str(Path(folder, "script.tsv"))
        before, began = _children_cpu(), time.perf_counter()
        done = subprocess.run(
            ["taskset", "-c", str(cpu), *command(url, seconds, connections, threads)],
            env=env,
            capture_output=True,
            text=True,
        )
        wall, used = time.perf_counter() - began, _children_cpu() - before
        if done.returncode != 0:
            raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
        raw: dict[str, Any] = json.loads(Path(folder, "report.json").read_text())
    return report(name, connections, raw, used / wall, rate), raw


def report(name: str, connections: int, raw: dict[str, Any], cpu_share: float, rate: float | None) -> Report:
    """wrk's counts as a Report: every failure counted once, whether wrk or the script's checks saw it."""
    seconds = raw["duration_us"] / 1e6
    failures = {
        "connect errors": raw["connect"],
        "read errors": raw["read"],
        "write errors": raw["write"],
        "timeouts": raw["timeout"],
        "status ≠ 200": raw["non200"],
        "reply not XML": raw["no_xml"],
        "reply not the expected one": raw["unexpected"],
    }
    return Report(
        name=name,
        users=connections,
        sent=raw["requests"],
        errors=sum(failures.values()),
        seconds=round(seconds, 2),
        per_second=round(raw["requests"] / seconds, 1) if seconds else 0.0,
        p50_ms=round(raw["p50_us"] / 1000, 1),
        p95_ms=round(raw["p95_us"] / 1000, 1),
        p99_ms=round(raw["p99_us"] / 1000, 1),
        max_ms=round(raw["max_us"] / 1000, 1),
        target_rate=rate,
        generator_cpu=round(cpu_share, 2),
        error_samples=[f"{what}: {count}" for what, count in failures.items() if count],
    )

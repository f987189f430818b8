"""`python -m bench.outbox_delivery [--quick]`: 100,000 reminders from planning to delivered, counted by WeChat.

The deployment's shape: `unionbot serve --workers 2` (each worker process runs its outbox, UNIONBOT_OUTBOX_CONCURRENCY
sends in flight) on PostgreSQL, the WeChat stand-in in a process of its own answering every call 50 ms late
(`unionbot fake-wechat --latency-ms 50`). Chairs behind with their reports are seeded; the reminder job's own
planning (`bot.services.reminder_job`) plans and queues their reminders at the next window opening (four a chair:
the month just opened and three overdue ones, so each chair's four must also arrive in order). The clock starts
when planning starts and stops at the stand-in's last accepted call. Doubled, lost and out-of-order messages are
counted from the stand-in's own record of every call against the outbox rows planning wrote.

Needs PostgreSQL on 127.0.0.1:5432 with trust auth (`UNIONBOT_BENCH_PG_URL` for another server; the benchmark
creates and drops its own database `unionbot_outbox_bench`). Writes bench/results/outbox-delivery[-quick].md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import make_url, text

from bench.scale import next_opening
from bench.seed_data import PG_ADMIN_URL, pg_admin, seed_users
from bot.services.reminder_job import calendar_for, queue_planned, read_facts
from bot.services.reminders import plan, report_steps
from config.settings import Settings
from storage.db import Database
from storage.migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
RAW = RESULTS / "raw"
VENV_BIN = Path(sys.executable).parent
DATABASE = "unionbot_outbox_bench"
APPID = "wx00000000bench001"
SECRET = "unionbot-outbox-bench-secret"
SENDS = ("/cgi-bin/message/custom/send", "/cgi-bin/message/template/send")
TARGET_SECONDS = 300.0


@dataclass
class Tally:
    """What the stand-in received, held against what planning queued."""

    expected: int = 0
    accepted: int = 0  # calls answered 0
    doubled: int = 0  # accepted calls beyond the first for the same message
    lost: int = 0  # queued messages never accepted
    out_of_order: int = 0  # users whose messages arrived in another order than they were queued
    rejected: dict[str, int] = field(default_factory=dict)  # errcode → calls


@dataclass
class Delivery:
    messages: int
    chairs: int
    latency_ms: float
    workers: int
    concurrency: int
    plan_seconds: float = 0.0
    deliver_seconds: float = 0.0  # queue committed → last accepted call
    total_seconds: float = 0.0  # planning started → last accepted call
    tally: Tally = field(default_factory=Tally)
    statuses: dict[str, int] = field(default_factory=dict)
    peak_in_flight: int = 0
    cpu_seconds: dict[str, float] = field(default_factory=dict)
    load_before: tuple[float, float, float] = (0.0, 0.0, 0.0)
    load_after: tuple[float, float, float] = (0.0, 0.0, 0.0)
    note: str = ""

    @property
    def per_second(self) -> float:
        return self.tally.accepted / self.total_seconds if self.total_seconds else 0.0

    @property
    def met(self) -> bool:
        t = self.tally
        return self.total_seconds * 100_000 / self.messages < TARGET_SECONDS and t.doubled == t.lost == 0


def log(message: str) -> None:
    print(f"[outbox bench {datetime.now(UTC):%H:%M:%S}] {message}", flush=True)


# -- what was sent against what was queued ---------------------------------------------------------------------


def sent_body(kind: str, payload: dict[str, Any]) -> str:
    """The JSON body `bot.channel.wechat_api` posts for an outbox row, without `touser`, in canonical form."""
    if kind == "text":
        body: dict[str, Any] = {"msgtype": "text", "text": {"content": payload["content"]}}
    else:
        body = {"template_id": payload["template_id"], "data": payload["data"]}
        if payload.get("url"):
            body["url"] = payload["url"]
    return json.dumps(body, ensure_ascii=False, sort_keys=True)


def tally(queued: Iterable[tuple[str, str, dict[str, Any]]], calls: Sequence[dict[str, Any]]) -> Tally:
    """`queued`: (openid, kind, payload) in queue order; `calls`: the stand-in's record (`/_fake/calls`)."""
    expected: dict[str, list[str]] = defaultdict(list)
    for openid, kind, payload in queued:
        expected[openid].append(sent_body(kind, payload))
    received: dict[str, list[str]] = defaultdict(list)
    rejected: Counter[str] = Counter()
    for call in sorted((c for c in calls if c["path"] in SENDS), key=lambda c: c["at"]):
        if call["errcode"] != 0:
            rejected[str(call["errcode"])] += 1
            continue
        body = {k: v for k, v in call["body"].items() if k != "touser"}
        received[call["body"]["touser"]].append(json.dumps(body, ensure_ascii=False, sort_keys=True))
    result = Tally(expected=sum(map(len, expected.values())), rejected=dict(rejected))
    for openid in expected.keys() | received.keys():
        want, got = expected.get(openid, []), received.get(openid, [])
        result.accepted += len(got)
        result.doubled += sum(n - 1 for n in Counter(got).values())
        result.lost += sum((Counter(want) - Counter(got)).values())
        first_arrivals = list(dict.fromkeys(got))
        result.out_of_order += first_arrivals != [body for body in want if body in first_arrivals]
    return result


# -- processes -------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(url: str, process: subprocess.Popen[bytes], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: its process exited with {process.returncode}")
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {seconds:.0f} s")


@contextmanager
def process(name: str, command: Sequence[str], env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """`command` with its output in bench/results/raw/<name>.log; stopped (SIGTERM) afterwards."""
    RAW.mkdir(parents=True, exist_ok=True)
    with (RAW / f"{name}.log").open("wb") as output:
        running = subprocess.Popen(command, env=env, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT)
        try:
            yield running
        finally:
            running.terminate()
            try:
                running.wait(timeout=30)
            except subprocess.TimeoutExpired:
                running.kill()
                running.wait()


def wait_for_workers(log_path: Path, workers: int, served: subprocess.Popen[bytes], seconds: float = 180) -> None:
    """Until every worker process has started (and with it its outbox loop): uvicorn logs each one."""
    deadline = time.monotonic() + seconds
    while log_path.read_text(errors="replace").count("Application startup complete") < workers:
        if served.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the service's {workers} workers did not start; see {log_path}")
        time.sleep(0.5)


def cpu_seconds(pid: int) -> float:
    """User and system CPU of a process and its children that were waited for (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def family(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [pid, *(p for child in children for p in family(int(child)))]


def base_env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("UNIONBOT_")}
    return env | {"UNIONBOT_WECHAT_APPID": APPID, "UNIONBOT_WECHAT_SECRET": SECRET} | values


# -- the run ---------------------------------------------------------------------------------------------------


@contextmanager
def database() -> Iterator[str]:
    pg_admin(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
    pg_admin(f'CREATE DATABASE "{DATABASE}"')
    try:
        url = make_url(PG_ADMIN_URL).set(database=DATABASE).render_as_string(hide_password=False)
        upgrade(url)
        yield url
    finally:
        pg_admin(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')


def queue_reminders(db: Database, settings: Settings, moment: datetime) -> int:
    """The reminder job's planning at `moment`, queued as due now so the running workers take them at once."""
    calendar = calendar_for(settings)
    with db.transaction() as session:
        planned = plan(moment, calendar, read_facts(session, calendar, moment))
        return queue_planned(session, planned, datetime.now(UTC))


def measure(messages: int, latency_ms: float = 50, workers: int = 2, concurrency: int = 16) -> Delivery:
    with database() as url, tempfile.TemporaryDirectory(prefix="unionbot-outbox-bench-") as files:
        db = Database(url)
        settings = Settings(_env_file=None, database_url=url)  # type: ignore[call-arg]
        moment = next_opening(datetime.now(UTC), settings)
        per_chair = len(report_steps(moment.astimezone(settings.zone).date(), calendar_for(settings)))
        chairs = math.ceil(messages / per_chair)
        run = Delivery(messages, chairs, latency_ms, workers, concurrency)
        log(f"seeding {chairs:,} chairs behind with their reports ({per_chair} reminders each)")
        seed_users(db, [f"bench-chair-{n:06d}" for n in range(chairs)])
        with db.engine.begin() as connection:
            connection.execute(text("ANALYZE"))
        fake_port, port = free_port(), free_port()
        fake_url = f"http://127.0.0.1:{fake_port}"
        stand_in = [
            str(VENV_BIN / "unionbot"),
            "fake-wechat",
            "--port",
            str(fake_port),
            "--latency-ms",
            str(latency_ms),
        ]
        service = [str(VENV_BIN / "unionbot"), "serve", "--workers", str(workers), "--port", str(port)]
        service_env = base_env(
            UNIONBOT_DATABASE_URL=url,
            UNIONBOT_WECHAT_API_BASE=fake_url,
            UNIONBOT_FILES_DIR=files,
            UNIONBOT_SCHEDULER_RUN_IN_SERVICE="false",
            UNIONBOT_OUTBOX_CONCURRENCY=str(concurrency),
        )
        with (
            process("outbox-stand-in", stand_in, base_env()) as fake,
            process("outbox-service", service, service_env) as served,
        ):
            wait_for(f"{fake_url}/_fake/stats", fake)
            wait_for(f"http://127.0.0.1:{port}/healthz", served)
            wait_for_workers(RAW / "outbox-service.log", workers, served)
            run.load_before = os.getloadavg()
            idle = {"service": sum(cpu_seconds(pid) for pid in family(served.pid)), "stand-in": cpu_seconds(fake.pid)}
            log(f"planning and queueing; {workers} workers × {concurrency} in flight, stand-in at {latency_ms:g} ms")
            began = time.time()
            queued = queue_reminders(db, settings, moment)
            run.plan_seconds = time.time() - began
            log(f"queued {queued:,} in {run.plan_seconds:.1f} s; delivering")
            deadline = time.monotonic() + 3600
            while unfinished(db) and time.monotonic() < deadline:
                time.sleep(1)
            run.load_after = os.getloadavg()
            run.cpu_seconds = {  # spent delivering: what starting up took is left out
                "service": round(sum(cpu_seconds(pid) for pid in family(served.pid)) - idle["service"], 1),
                "stand-in": round(cpu_seconds(fake.pid) - idle["stand-in"], 1),
            }
            log("reading the stand-in's record")
            calls = httpx.get(f"{fake_url}/_fake/calls", timeout=300).json()
            run.peak_in_flight = int(httpx.get(f"{fake_url}/_fake/stats").json()["peak_in_flight"])
        accepted = [c["at"] for c in calls if c["path"] in SENDS and c["errcode"] == 0]
        last = max(accepted, default=began)
        run.total_seconds = last - began
        run.deliver_seconds = last - began - run.plan_seconds
        with db.engine.connect() as connection:
            rows = connection.execute(text("SELECT openid, kind, payload FROM outbox_message ORDER BY id")).all()
            statuses = connection.execute(text("SELECT status, count(*) FROM outbox_message GROUP BY status"))
            run.statuses = {str(status): int(n) for status, n in statuses}
        run.tally = tally([(r.openid, r.kind, r.payload) for r in rows], calls)
        if queued != messages:
            run.note = f"planning queued {queued:,} reminders for {chairs:,} chairs"
        db.dispose()
    return run


def unfinished(db: Database) -> int:
    with db.engine.connect() as connection:
        query = text("SELECT count(*) FROM outbox_message WHERE status IN ('pending', 'sending')")
        return int(connection.execute(query).scalar_one())


# -- report ----------------------------------------------------------------------------------------------------


def section(run: Delivery) -> list[str]:
    """The measurement as Markdown lines: what ran, the table, the verdict (also a section of `make bench`)."""
    t = run.tally
    per_100k = run.total_seconds * 100_000 / run.messages if run.messages else 0
    load = " / ".join(f"{a:.1f}" for a in run.load_before), " / ".join(f"{a:.1f}" for a in run.load_after)
    per_message = {name: seconds * 1000 / max(t.accepted, 1) for name, seconds in run.cpu_seconds.items()}
    cpu_bound = 2000 / sum(per_message.values()) if per_message else 0
    latency_bound = run.workers * run.concurrency * 1000 / run.latency_ms if run.latency_ms else 0
    lines = [
        f"{t.expected:,} reminders to {run.chairs:,} chairs, planned by the reminder job and delivered by "
        f"`unionbot serve --workers {run.workers}` (UNIONBOT_OUTBOX_CONCURRENCY={run.concurrency}) on PostgreSQL "
        f"through the WeChat stand-in in its own process at {run.latency_ms:g} ms a call "
        f"(`python -m bench.outbox_delivery{'' if run.messages >= 100_000 else ' --quick'}`).",
        "",
        "| planned and queued | delivered after | planning → all delivered | msg/s | doubled | lost | out of order "
        "| rejected calls | peak in flight at WeChat | outbox rows |",
        "|---|---|---|---|---|---|---|---|---|---|",
        f"| {run.plan_seconds:.1f} s | {run.deliver_seconds:.1f} s | **{run.total_seconds:.1f} s** | "
        f"**{run.per_second:.0f}** | {t.doubled} | {t.lost} | {t.out_of_order} | "
        f"{', '.join(f'{n} × {code}' for code, n in t.rejected.items()) or 'none'} | {run.peak_in_flight} | "
        f"{', '.join(f'{n:,} {status}' for status, n in sorted(run.statuses.items()))} |",
        "",
        f"Target: 100,000 in < 5 min (≥ 333 msg/s), none doubled or lost → "
        f"{per_100k:.0f} s per 100,000 here: **{'met' if run.met else 'missed'}**.",
        "",
        f"The machine ({os.cpu_count()} cores) is shared with other work: load average (1/5/15 min) {load[0]} before, "
        f"{load[1]} after. CPU per message delivered: "
        + ", ".join(f"{name} {ms:.2f} ms" for name, ms in per_message.items())
        + f" (PostgreSQL not counted). At that cost two cores of their own would deliver at most {cpu_bound:.0f} "
        f"msg/s; the latency alone allows {latency_bound:.0f} ({run.workers} × {run.concurrency} in flight, "
        f"{run.latency_ms:g} ms each).",
    ]
    if run.note:
        lines += ["", f"Note: {run.note}."]
    return lines


def render(run: Delivery, started: datetime) -> str:
    return "\n".join([f"# Outbox delivery — {started:%Y-%m-%d %H:%M} UTC", "", *section(run)]) + "\n"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="10,000 reminders instead of 100,000")
    parser.add_argument("--messages", type=int, help="how many reminders (rounded up to whole chairs)")
    parser.add_argument("--latency-ms", type=float, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=Settings.model_fields["outbox_concurrency"].default)
    args = parser.parse_args(argv)
    messages = args.messages or (10_000 if args.quick else 100_000)
    started = datetime.now(UTC)
    run = measure(messages, args.latency_ms, args.workers, args.concurrency)
    report = render(run, started)
    suffix = "-quick" if messages < 100_000 else ""
    (RESULTS / f"outbox-delivery{suffix}.md").write_text(report, encoding="utf-8")
    RAW.mkdir(parents=True, exist_ok=True)
    raw = asdict(run) | {"per_second": run.per_second, "met": run.met}
    (RAW / f"outbox-delivery{suffix}.json").write_text(json.dumps(raw, indent=2), encoding="utf-8")
    print(report)


if __name__ == "__main__":
    main()

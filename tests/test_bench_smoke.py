"""The benchmark still speaks to the endpoint: wrk's script (bench/wechat.lua) signs as WeChat does and walks the
form, and the Python generator's retry storm doubles nothing (the real `make bench` is never part of the tests)."""

from __future__ import annotations

import asyncio
import json
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func
from sqlmodel import select

from bench import baseline_app, wrk
from bench.load import Target, User, openids, percentile, retry_storm
from bench.outbox_delivery import Tally, sent_body, tally
from bench.run import free_port
from bench.script import preferred_walk
from bench.seed_data import seed_users
from bot.app import create_app
from config.settings import Settings
from storage.db import Database
from storage.models import InboundMessage, Submission
from tests.conftest import APPID, TOKEN
from tests.harness import Clock

needs_wrk = pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed (.ci/run installs it)")


@contextmanager
def listening(app: FastAPI) -> Iterator[str]:
    """`app` under uvicorn in a thread, for wrk to reach over TCP; the URL of its endpoint."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start listening")
            # time.sleep, not Event.wait: under libfaketime (.ci/run's second and third passes) a timed wait on
            # a lock never returns.
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/wechat"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@needs_wrk
def test_the_wrk_script_signs_every_request_as_wechat_does() -> None:
    with listening(baseline_app.app) as url:  # it answers 403 to a wrong signature
        report, raw = wrk.run("smoke", url, wrk.Load("stranger", baseline_app.TOKEN, "smoke-"), 1, connections=4)
    assert report.sent > 0 and raw["non200"] == 0 and report.errors == 0, report.error_samples
    assert 0 < report.p50_ms <= report.p99_ms <= report.max_ms


@needs_wrk
def test_wrk_walks_the_form_and_every_message_is_stored_once(settings: Settings, db: Database) -> None:
    chairs = openids(200, "wrk-")
    seed_users(db, chairs)
    now = Clock(datetime.now(UTC))  # wrk signs with the real time, and the endpoint checks its freshness
    _, script, _ = preferred_walk(db, settings, chairs[0], now())
    load = wrk.Load("form", TOKEN, "wrk-", pool=len(chairs), script=script)
    with listening(create_app(settings, clock=now)) as url:
        report, raw = wrk.run("smoke", url, load, 1, connections=4)
    assert report.sent > 0 and report.errors == 0, report.error_samples
    with db.transaction() as session:
        stored = session.exec(select(func.count()).select_from(InboundMessage)).one()
        filed = session.exec(select(Submission.openid)).all()
        walked = session.exec(select(func.count(func.distinct(InboundMessage.openid)))).one()
    # Every reply wrk read was stored; at most the messages still in flight when it stopped were stored besides.
    assert raw["requests"] <= stored <= raw["sent"]
    assert raw["walks"] <= len(filed) <= raw["walks"] + 4 and len(set(filed)) == len(filed)
    assert walked <= raw["walks"] + 4  # no more walks begun than finished, but one in progress per connection


def test_a_retry_storm_doubles_nothing(settings: Settings, db: Database, clock: Clock) -> None:
    chairs = openids(4, "smoke-")
    seed_users(db, chairs)
    form_id, script, _ = preferred_walk(db, settings, chairs[0], clock())
    assert script[0].expect and script[-1].expect == "回执号"
    transport = httpx.ASGITransport(app=create_app(settings, clock=clock))
    target = Target("http://unionbot.test/wechat", TOKEN, APPID, clock=lambda: clock().timestamp())

    storm = asyncio.run(retry_storm(target, [User(chairs[3], script)], transport=transport))
    assert storm.report.errors == 0 and storm.mismatched == 0
    assert storm.messages == len(script) and storm.report.sent == 3 * len(script)
    with db.transaction() as session:
        stored = session.exec(select(InboundMessage).where(InboundMessage.openid == chairs[3])).all()
        filed = session.exec(select(Submission).where(Submission.openid == chairs[3])).all()
    assert len(stored) == len(script)
    assert [s.form_id for s in filed] == [form_id]


@given(st.lists(st.floats(min_value=0, max_value=1e6, allow_nan=False), min_size=1, max_size=200))
def test_percentiles_are_measured_values_in_order(latencies: list[float]) -> None:
    ordered = sorted(latencies)
    p50, p95, p99 = (percentile(ordered, f) for f in (0.50, 0.95, 0.99))
    assert {p50, p95, p99} <= set(ordered)
    assert ordered[0] <= p50 <= p95 <= p99 <= ordered[-1]
    assert percentile(ordered, 1.0) == ordered[-1]


def test_the_outbox_benchmark_counts_doubled_lost_and_reordered_messages_from_the_stand_ins_record() -> None:
    template = "/cgi-bin/message/template/send"

    def reminder(month: str) -> dict[str, object]:
        return {"template_id": "TPL", "data": {"keyword1": {"value": month}}, "url": None}

    def call(at: float, touser: str, month: str, errcode: int = 0) -> dict[str, object]:
        body = {"touser": touser, "template_id": "TPL", "data": {"keyword1": {"value": month}}}
        return {"path": template, "body": body, "errcode": errcode, "at": at}

    queued = [
        ("a", "template", reminder("9月")),
        ("a", "template", reminder("10月")),
        ("b", "template", reminder("10月")),
    ]
    clean = [call(1, "a", "9月"), call(2, "b", "10月"), call(3, "a", "10月")]
    assert tally(queued, clean) == Tally(expected=3, accepted=3)

    messy = [
        call(1, "a", "10月"),
        call(2, "a", "9月", errcode=45009),
        call(3, "a", "9月"),  # after the 10月 one: a's order broken
        call(4, "a", "9月"),  # twice
        {"path": "/cgi-bin/token", "body": None, "errcode": 0, "at": 5},
    ]  # b's never arrived
    assert tally(queued, messy) == Tally(
        expected=3, accepted=3, doubled=1, lost=1, out_of_order=1, rejected={"45009": 1}
    )
    text_row = sent_body("text", {"content": "您好", "fallback": {"template_id": "T"}})
    assert json.loads(text_row) == {"msgtype": "text", "text": {"content": "您好"}}

"""The benchmark's load generator still speaks to the endpoint: a few chairs file a form, once plainly, once
as a retry storm, in-process (the real `make bench` is never part of the tests)."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import select

from bench.load import Pool, Target, User, closed_loop, openids, percentile, retry_storm
from bench.outbox_delivery import Tally, sent_body, tally
from bench.script import Turn, preferred_walk
from bench.seed_data import seed_users
from bot.app import create_app
from config.settings import Settings
from storage.db import Database
from storage.models import InboundMessage, Submission
from tests.conftest import APPID, TOKEN
from tests.harness import Clock


def test_chairs_walk_the_form_under_load_and_a_retry_storm_doubles_nothing(
    settings: Settings, db: Database, clock: Clock
) -> None:
    chairs = openids(4, "smoke-")
    seed_users(db, chairs)
    form_id, script, _ = preferred_walk(db, settings, chairs[0], clock())
    assert script[0].expect and script[-1].expect == "回执号"
    transport = httpx.ASGITransport(app=create_app(settings, clock=clock))
    target = Target("http://unionbot.test/wechat", TOKEN, APPID, clock=lambda: clock().timestamp())

    report = asyncio.run(closed_loop(target, Pool(chairs[:2], script), 2, 0.5, transport=transport))
    assert report.sent > 0 and report.errors == 0, report.error_samples
    assert 0 < report.p50_ms <= report.max_ms

    storm = asyncio.run(retry_storm(target, [User(chairs[3], script)], transport=transport))
    assert storm.report.errors == 0 and storm.mismatched == 0
    assert storm.messages == len(script) and storm.report.sent == 3 * len(script)
    with db.transaction() as session:
        stored = session.exec(select(InboundMessage).where(InboundMessage.openid == chairs[3])).all()
        filed = session.exec(select(Submission).where(Submission.openid == chairs[3])).all()
    assert len(stored) == len(script)
    assert [s.form_id for s in filed] == [form_id]


def test_the_pool_never_hands_a_chair_in_the_middle_of_a_walk_to_another_walker() -> None:
    pool = Pool(["chair-a", "chair-b"], [Turn("月报"), Turn("确认")])
    a, b = pool.fresh(), pool.fresh()
    b.next_turn(), b.next_turn()
    assert a.openid == "chair-a" and not a.done
    assert pool.after(b).openid == "chair-b"  # chair-a is still half-way through its report
    assert pool.taken == 3
    with pytest.raises(RuntimeError, match="more users at once"):
        pool.fresh()


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

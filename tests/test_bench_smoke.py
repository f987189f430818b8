"""The benchmark's load generator still speaks to the endpoint: a few chairs file a form, once plainly, once
as a retry storm, in-process (the real `make bench` is never part of the tests)."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import select

from bench.load import Pool, Target, User, closed_loop, openids, percentile, retry_storm
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

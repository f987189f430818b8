"""The outbox sends many messages at once, each user's one at a time and in order, and slows down when WeChat
says "too fast"; counted from the stand-in's own record of every call, on both databases."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from itertools import combinations

import httpx
import pytest
from sqlalchemy import text
from sqlmodel import col, select

from bot.channel.outbox import OutboxWorker
from bot.channel.pacing import FIRST_PAUSE, Pace
from bot.channel.tokens import DatabaseTokenCache
from bot.channel.wechat_api import WechatApi
from bot.devtools.fake_wechat import CUSTOM_SEND_PATH, TEMPLATE_SEND_PATH, TOKEN_PATH, Call, FakeWechatServer
from storage.db import Database
from storage.models import OutboxKind, OutboxMessage, OutboxStatus
from storage.outbox import ANALYZE_AFTER, enqueue_many, enqueue_media, enqueue_text
from storage.outbox import row as outbox_row
from tests.conftest import APPID, SECRET
from tests.harness import NOW, Clock

USERS = [f"o-chair-{n}" for n in range(6)]


@pytest.fixture
def slow_fake(fake: FakeWechatServer) -> Iterator[FakeWechatServer]:
    """The stand-in answering like WeChat, 50 ms a call; put back as it was for the next test."""
    fake.state.latency_seconds = 0.05
    yield fake
    fake.state.latency_seconds = 0.0
    fake.state.token_overlap_seconds = 300.0


@pytest.fixture
def api(db: Database, slow_fake: FakeWechatServer, clock: Clock) -> Iterator[WechatApi]:
    client = WechatApi(slow_fake.url, APPID, SECRET, DatabaseTokenCache(db, APPID, clock), timeout=5.0)
    yield client
    client.close()


def worker(db: Database, api: WechatApi, clock: Clock, concurrency: int = 8) -> OutboxWorker:
    return OutboxWorker(db, api, max_attempts=8, concurrency=concurrency, clock=clock)


def queue_texts(db: Database, clock: Clock, per_user: int) -> dict[str, list[str]]:
    """`per_user` texts to each of USERS, queued round-robin as notices for many chairs would be."""
    expected: dict[str, list[str]] = {user: [] for user in USERS}
    with db.transaction() as session:
        for i in range(per_user):
            for user in USERS:
                content = f"{user} 第{i + 1}条"
                enqueue_text(session, key=f"notice:{user}:{i}", openid=user, content=content, now=clock())
                expected[user].append(content)
    return expected


def sends(fake: FakeWechatServer) -> list[Call]:
    return [c for c in fake.state.snapshot() if c.path in (CUSTOM_SEND_PATH, TEMPLATE_SEND_PATH)]


def overlapping(calls: list[Call]) -> int:
    """The most calls the stand-in was answering at one moment, from the record."""
    starts = [c.started or c.at for c in calls]
    return max(sum(1 for c in calls if (c.started or c.at) <= moment < c.at) for moment in starts)


def rows(db: Database) -> list[OutboxMessage]:
    with db.transaction() as session:
        return list(session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).all())


def assert_each_sent_once_in_order(fake: FakeWechatServer, expected: dict[str, list[str]]) -> None:
    for user, texts in expected.items():
        assert fake.state.texts(user) == texts
    accepted = Counter((c.touser, str(c.body)) for c in fake.state.sent())
    assert set(accepted.values()) == {1}
    for user in USERS:  # a user's sends never overlap: the next leaves only once the last was answered
        theirs = [c for c in sends(fake) if c.touser == user]
        assert all(a.at <= (b.started or b.at) for a, b in combinations(theirs, 2))


def test_messages_to_several_users_go_out_at_once_each_user_in_order_and_once(
    db: Database, slow_fake: FakeWechatServer, api: WechatApi, clock: Clock
) -> None:
    expected = queue_texts(db, clock, per_user=5)

    assert worker(db, api, clock).drain() == 30

    assert_each_sent_once_in_order(slow_fake, expected)
    assert overlapping(sends(slow_fake)) > 1  # in parallel: one at a time, 30 calls would never overlap
    assert slow_fake.state.peak_in_flight <= len(USERS)  # one per user at most
    assert {(r.status, r.attempts, r.sent_at) for r in rows(db)} == {(OutboxStatus.SENT, 1, clock.now)}
    assert slow_fake.state.token_fetches == 1


def test_a_photo_to_fetch_neither_waits_for_nor_holds_up_the_users_messages(
    db: Database, slow_fake: FakeWechatServer, api: WechatApi, clock: Clock
) -> None:
    """A photo a chair sent is fetched beside the messages to them, not queued behind them."""
    user = USERS[0]
    with db.transaction() as session:
        enqueue_text(session, key="first", openid=user, content="第一条", now=clock())
        enqueue_media(session, media_id="photo-1", owner="warning:1", openid=user, now=clock())
        enqueue_text(session, key="second", openid=user, content="第二条", now=clock())

    # This worker has no vault: the fetch fails and waits its backoff, and the texts go out in order meanwhile.
    assert worker(db, api, clock).drain() == 3

    by_key = {r.idempotency_key: r for r in rows(db)}
    assert slow_fake.state.texts(user) == ["第一条", "第二条"]
    assert by_key["media:photo-1"].status == OutboxStatus.PENDING


def test_a_rate_limit_burst_pauses_the_worker_and_everything_still_arrives_once_in_order(
    db: Database, slow_fake: FakeWechatServer, api: WechatApi, clock: Clock
) -> None:
    expected = queue_texts(db, clock, per_user=4)
    slow_fake.state.fail_next(CUSTOM_SEND_PATH, 45009, times=3)
    sender = worker(db, api, clock)

    sender.run_once()

    assert sender.pace.paused(clock.now) and sender.pace.limit < 8  # the whole worker waits, then sends fewer
    due = [r for r in rows(db) if r.status == OutboxStatus.PENDING and r.next_attempt_at <= clock.now]
    assert due, "messages are due, yet the paused worker sends none of them"
    calls = len(slow_fake.state.snapshot())
    assert sender.run_once() == 0
    assert len(slow_fake.state.snapshot()) == calls

    for _ in range(20):
        clock.advance(seconds=5)
        sender.drain()

    assert_each_sent_once_in_order(slow_fake, expected)
    assert [c.errcode for c in sends(slow_fake)].count(45009) == 3
    attempts = Counter(str(c.body["text"]["content"]) for c in sends(slow_fake) if c.body)
    stored = rows(db)
    assert {r.status for r in stored} == {OutboxStatus.SENT}
    # An attempt is counted for every call made, and only then (messages given back unsent count none).
    assert {r.payload["content"]: r.attempts for r in stored} == attempts


@pytest.mark.parametrize("how", ["expired", "replaced by another fetch"])
def test_a_token_rejected_under_many_sends_is_refreshed_once_and_each_send_retried_once(
    db: Database, slow_fake: FakeWechatServer, api: WechatApi, clock: Clock, how: str
) -> None:
    with db.transaction() as session:
        enqueue_text(session, key="warm-up", openid="o-staff", content="早上好", now=clock())
    assert worker(db, api, clock).drain() == 1  # the token every send below starts with
    if how == "expired":
        slow_fake.state.expire_tokens()  # every token answers 42001
        rejected, fetches = 42001, 2
    else:
        slow_fake.state.token_overlap_seconds = 0  # a fetch elsewhere makes ours answer 40001 at once
        params = {"grant_type": "client_credential", "appid": APPID, "secret": SECRET}
        assert "access_token" in httpx.get(slow_fake.url + TOKEN_PATH, params=params).json()
        rejected, fetches = 40001, 3
    expected = queue_texts(db, clock, per_user=1)

    assert worker(db, api, clock).drain() == len(USERS)

    assert_each_sent_once_in_order(slow_fake, expected)
    codes = Counter(c.errcode for c in sends(slow_fake))
    assert 1 <= codes[rejected] <= len(USERS) and set(codes) == {0, rejected}
    for user in USERS:  # at most one rejected call and one retry per message
        assert len([c for c in sends(slow_fake) if c.touser == user]) <= 2
    assert slow_fake.state.token_fetches == fetches  # one refresh, however many sends saw the old token
    assert {(r.status, r.attempts) for r in rows(db)} == {(OutboxStatus.SENT, 1)}


def test_a_user_whose_customer_service_quota_is_used_gets_the_template_instead(
    db: Database, slow_fake: FakeWechatServer, api: WechatApi, clock: Clock
) -> None:
    """45047: this user may get no more customer-service messages for now; retrying would not change that."""
    fallback = {"template_id": "TPL-NOTICE", "data": {"first": {"value": "您有一条新通知"}}}
    with db.transaction() as session:
        enqueue_text(session, key="notice:1", openid=USERS[0], content="预警W3已签收", now=clock(), fallback=fallback)
    slow_fake.state.fail_next(CUSTOM_SEND_PATH, 45047)
    sender = worker(db, api, clock)

    assert sender.drain() == 2

    original, template = rows(db)
    assert (original.status, original.errcode) == (OutboxStatus.FALLBACK, 45047)
    assert (template.status, template.idempotency_key) == (OutboxStatus.SENT, "notice:1:fallback")
    assert not sender.pace.paused(clock.now)  # one user's quota does not slow anyone else down


def test_a_reminder_run_of_a_thousand_messages_leaves_the_planner_knowing_they_wait(db: Database, clock: Clock) -> None:
    """Otherwise each claim checks every waiting message (the plan for an empty queue) until the table is analyzed."""
    rows_ = [
        outbox_row(key=f"remind:{n}", openid=f"o-{n}", kind=OutboxKind.TEMPLATE, payload={"n": n}, now=clock())
        for n in range(ANALYZE_AFTER)
    ]
    with db.transaction() as session:
        assert len(enqueue_many(session, rows_)) == ANALYZE_AFTER
    with db.transaction() as session:
        if db.is_postgres:
            query = "SELECT reltuples FROM pg_class WHERE relname = 'outbox_message'"
        else:
            query = "SELECT CAST(stat AS INTEGER) FROM sqlite_stat1 WHERE idx = 'ix_outbox_unfinished'"
        believed = session.execute(text(query)).scalar_one()
    assert believed == ANALYZE_AFTER


# --- pacing: the bound on sends in flight ---


def test_pace_halves_and_pauses_once_per_episode_then_grows_back_by_one_per_bound() -> None:
    pace = Pace(16)
    pace.slow_down(NOW)
    pace.slow_down(NOW)  # a second answer of the same burst

    assert (pace.limit, pace.pause_left(NOW)) == (8, FIRST_PAUSE)
    after = NOW + FIRST_PAUSE
    assert not pace.paused(after)
    pace.slow_down(after)
    assert (pace.limit, pace.pause_left(after)) == (4, 2 * FIRST_PAUSE)  # a new episode waits longer

    pace.went_through(3)
    assert pace.limit == 4
    pace.went_through(1)
    assert pace.limit == 5
    pace.went_through(1000)
    assert pace.limit == 16  # never past the configured concurrency
    later = after + timedelta(minutes=5)
    pace.slow_down(later)
    assert pace.pause_left(later) == FIRST_PAUSE  # a clean stretch forgets the earlier episodes
    with pytest.raises(ValueError):
        Pace(0)

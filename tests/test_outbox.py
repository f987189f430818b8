"""The outbox against the fake WeChat API: stored rows and what WeChat received must agree, on both databases."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import col, select
from typer.testing import CliRunner

from bot.channel.outbox import LEASE, OutboxWorker
from bot.channel.tokens import DatabaseTokenCache
from bot.channel.wechat_api import WechatApi
from bot.cli.main import app as cli_app
from bot.devtools.fake_wechat import CUSTOM_SEND_PATH, TEMPLATE_SEND_PATH, FakeWechatServer
from storage.db import Database
from storage.models import AccessToken, OutboxKind, OutboxMessage, OutboxStatus
from storage.outbox import enqueue_template, enqueue_text
from tests.conftest import APPID, SECRET
from tests.harness import Clock

ALICE = "o-alice"
BOB = "o-bob"
UNREACHABLE = "http://127.0.0.1:9"


MakeWorker = Callable[..., OutboxWorker]


@pytest.fixture
def make_worker(db: Database, fake: FakeWechatServer, clock: Clock) -> Iterator[MakeWorker]:
    """Workers with their own API client and token cache on `db` (or another Database), closed afterwards."""
    apis: list[WechatApi] = []

    def make(
        *,
        database: Database | None = None,
        base_url: str | None = None,
        max_attempts: int = 3,
        concurrency: int = 16,
    ) -> OutboxWorker:
        database = database or db
        api = WechatApi(base_url or fake.url, APPID, SECRET, DatabaseTokenCache(database, APPID, clock), timeout=2.0)
        apis.append(api)
        return OutboxWorker(database, api, max_attempts=max_attempts, concurrency=concurrency, clock=clock)

    yield make
    for api in apis:
        api.close()


@pytest.fixture
def worker(make_worker: MakeWorker) -> OutboxWorker:
    return make_worker()


def rows(db: Database) -> list[OutboxMessage]:
    with db.transaction() as session:
        return list(session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).all())


def only_row(db: Database) -> OutboxMessage:
    stored = rows(db)
    assert len(stored) == 1, stored
    return stored[0]


def send_calls(fake: FakeWechatServer, path: str = CUSTOM_SEND_PATH) -> list[int]:
    """Errcodes of every call to `path`, accepted or not, in order."""
    return [c.errcode for c in fake.state.snapshot() if c.path == path]


def add_text(
    db: Database, clock: Clock, key: str, openid: str, content: str, fallback: dict[str, Any] | None = None
) -> None:
    with db.transaction() as session:
        enqueue_text(session, key=key, openid=openid, content=content, now=clock(), fallback=fallback)


# --- enqueue: idempotency and the caller's transaction ---


def test_same_key_twice_is_one_row_and_one_delivery(
    db: Database, fake: FakeWechatServer, worker: OutboxWorker, clock: Clock
) -> None:
    add_text(db, clock, "reply:1", ALICE, "first")
    add_text(db, clock, "reply:1", ALICE, "second")
    with db.transaction() as session:  # the same key twice inside one transaction as well
        enqueue_text(session, key="reply:1", openid=ALICE, content="third", now=clock())
        enqueue_text(session, key="reply:1", openid=ALICE, content="fourth", now=clock())

    row = only_row(db)
    assert (row.idempotency_key, row.payload, row.status) == ("reply:1", {"content": "first"}, OutboxStatus.PENDING)
    assert worker.drain() == 1
    add_text(db, clock, "reply:1", ALICE, "after it was sent")
    assert worker.drain() == 0

    assert fake.state.texts(ALICE) == ["first"]
    assert len(fake.state.sent()) == 1
    assert only_row(db).status == OutboxStatus.SENT


def test_enqueue_rolled_back_with_its_transaction_leaves_nothing(
    db: Database, fake: FakeWechatServer, worker: OutboxWorker, clock: Clock
) -> None:
    with pytest.raises(RuntimeError, match="change failed"), db.transaction() as session:
        enqueue_text(session, key="reply:rolled-back", openid=ALICE, content="never", now=clock())
        enqueue_template(session, key="notice:rolled-back", openid=ALICE, template_id="T", data={}, now=clock())
        raise RuntimeError("change failed")

    assert rows(db) == []
    assert worker.drain() == 0
    assert fake.state.snapshot() == []


# --- delivery ---


def test_text_is_delivered_to_its_openid_and_marked_sent(
    db: Database, fake: FakeWechatServer, worker: OutboxWorker, clock: Clock
) -> None:
    add_text(db, clock, "reply:a", ALICE, "您好，张三：会员卡已补办 ✓")
    add_text(db, clock, "reply:b", BOB, "second user")
    clock.advance(seconds=5)

    assert worker.drain() == 2

    by_key = {r.idempotency_key: r for r in rows(db)}
    for key in ("reply:a", "reply:b"):
        row = by_key[key]
        assert (row.status, row.attempts, row.errcode, row.last_error) == (OutboxStatus.SENT, 1, None, None)
        assert row.sent_at == clock.now
        assert row.lease_until is None
    sent = fake.state.sent(ALICE)
    assert len(sent) == 1
    assert sent[0].path == CUSTOM_SEND_PATH
    assert sent[0].body == {"touser": ALICE, "msgtype": "text", "text": {"content": "您好，张三：会员卡已补办 ✓"}}
    assert fake.state.texts(BOB) == ["second user"]
    assert fake.state.token_fetches == 1


def test_template_is_delivered_with_its_id_data_and_url(
    db: Database, fake: FakeWechatServer, worker: OutboxWorker, clock: Clock
) -> None:
    data = {"first": {"value": "活动报名成功"}, "keyword1": {"value": "12月5日 14:00"}}
    with db.transaction() as session:
        enqueue_template(
            session, key="notice:1", openid=ALICE, template_id="TPL-1", data=data, url="https://x.test/e/1", now=clock()
        )

    assert worker.drain() == 1

    row = only_row(db)
    assert (row.kind, row.status, row.sent_at) == (OutboxKind.TEMPLATE, OutboxStatus.SENT, clock.now)
    [call] = fake.state.sent(ALICE)
    assert call.path == TEMPLATE_SEND_PATH
    assert call.body == {"touser": ALICE, "template_id": "TPL-1", "data": data, "url": "https://x.test/e/1"}
    assert fake.state.texts(ALICE) == []


# --- the access token ---


def test_expired_token_is_refreshed_and_the_send_retried_once(
    db: Database, fake: FakeWechatServer, worker: OutboxWorker, clock: Clock
) -> None:
    add_text(db, clock, "reply:1", ALICE, "before expiry")
    worker.drain()
    with db.transaction() as session:
        first_token = session.get(AccessToken, APPID)
    assert first_token is not None
    fake.state.expire_tokens()

    add_text(db, clock, "reply:2", ALICE, "after expiry")
    assert worker.drain() == 1

    second = next(r for r in rows(db) if r.idempotency_key == "reply:2")
    assert (second.status, second.attempts, second.errcode) == (OutboxStatus.SENT, 1, None)
    assert fake.state.texts(ALICE) == ["before expiry", "after expiry"]
    assert send_calls(fake) == [0, 42001, 0]
    assert fake.state.token_fetches == 2
    with db.transaction() as session:
        stored = session.get(AccessToken, APPID)
    assert stored is not None and stored.token != first_token.token
    last = fake.state.snapshot()[-1]
    assert last.params["access_token"] == stored.token  # the retry used the refreshed, stored token


def test_invalid_token_is_refreshed_and_the_send_retried_once(
    db: Database, fake: FakeWechatServer, worker: OutboxWorker, clock: Clock
) -> None:
    fake.state.fail_next(CUSTOM_SEND_PATH, 40001)
    add_text(db, clock, "reply:1", ALICE, "hello")

    assert worker.drain() == 1

    row = only_row(db)
    assert (row.status, row.attempts, row.errcode) == (OutboxStatus.SENT, 1, None)
    assert send_calls(fake) == [40001, 0]
    assert fake.state.token_fetches == 2
    tokens = [c.params["access_token"] for c in fake.state.snapshot() if c.path == CUSTOM_SEND_PATH]
    assert tokens[0] != tokens[1]
    assert fake.state.texts(ALICE) == ["hello"]


def test_token_rejected_twice_is_retried_only_once(
    db: Database, fake: FakeWechatServer, worker: OutboxWorker, clock: Clock
) -> None:
    """One refresh per call, not a refresh loop that would knock out every other worker's token."""
    fake.state.fail_next(CUSTOM_SEND_PATH, 40001, times=2)
    add_text(db, clock, "reply:1", ALICE, "hello")

    worker.drain()

    row = only_row(db)
    assert (row.status, row.errcode) == (OutboxStatus.FAILED, 40001)
    assert send_calls(fake) == [40001, 40001]
    assert fake.state.token_fetches == 2


# --- errors: backoff, fallback, final failure ---


def test_rate_limit_backs_off_then_sends(
    db: Database, fake: FakeWechatServer, worker: OutboxWorker, clock: Clock
) -> None:
    fake.state.fail_next(CUSTOM_SEND_PATH, 45009)
    add_text(db, clock, "reply:1", ALICE, "hello")

    assert worker.drain() == 1

    row = only_row(db)
    assert (row.status, row.attempts, row.errcode, row.sent_at) == (OutboxStatus.PENDING, 1, 45009, None)
    assert row.next_attempt_at > clock.now
    assert fake.state.sent() == []
    assert worker.run_once() == 0  # not due yet: no busy retry against a rate limit

    clock.advance(seconds=(row.next_attempt_at - clock.now).total_seconds() + 1)
    assert worker.drain() == 1

    row = only_row(db)
    assert (row.status, row.attempts, row.errcode, row.sent_at) == (OutboxStatus.SENT, 2, None, clock.now)
    assert send_calls(fake) == [45009, 0]
    assert fake.state.texts(ALICE) == ["hello"]


def test_rate_limit_that_never_lifts_fails_after_max_attempts(
    db: Database, fake: FakeWechatServer, worker: OutboxWorker, clock: Clock
) -> None:
    fake.state.fail_next(CUSTOM_SEND_PATH, 45009, times=10)
    add_text(db, clock, "reply:1", ALICE, "hello")

    for _ in range(5):
        worker.drain()
        clock.advance(seconds=3600)

    row = only_row(db)
    assert (row.status, row.attempts, row.errcode) == (OutboxStatus.FAILED, 3, 45009)
    assert send_calls(fake) == [45009] * 3


def test_closed_window_marks_fallback_and_is_never_retried(
    db: Database, fake: FakeWechatServer, worker: OutboxWorker, clock: Clock
) -> None:
    fake.state.close_window(ALICE)
    add_text(db, clock, "reply:1", ALICE, "too late")

    worker.drain()
    clock.advance(seconds=86400)
    assert worker.drain() == 0

    row = only_row(db)
    assert (row.status, row.attempts, row.errcode) == (OutboxStatus.FALLBACK, 1, 45015)
    assert row.sent_at is None and row.lease_until is None
    assert send_calls(fake) == [45015]
    assert fake.state.sent() == []


def test_closed_window_sends_the_fallback_template_once(
    db: Database, fake: FakeWechatServer, worker: OutboxWorker, clock: Clock
) -> None:
    fake.state.close_window(ALICE)
    data = {"first": {"value": "您有一条新回复"}}
    fallback = {"template_id": "TPL-REPLY", "data": data, "url": "https://x.test/r/1"}
    add_text(db, clock, "reply:1", ALICE, "too late", fallback=fallback)

    assert worker.drain() == 2  # the text, then the template enqueued in the same transaction as FALLBACK
    clock.advance(seconds=86400)
    assert worker.drain() == 0

    original, template = rows(db)
    assert (original.idempotency_key, original.status, original.errcode) == ("reply:1", OutboxStatus.FALLBACK, 45015)
    assert (template.idempotency_key, template.kind) == ("reply:1:fallback", OutboxKind.TEMPLATE)
    assert (template.openid, template.status, template.attempts) == (ALICE, OutboxStatus.SENT, 1)
    [call] = fake.state.sent(ALICE)
    assert call.path == TEMPLATE_SEND_PATH
    assert call.body == {"touser": ALICE, "template_id": "TPL-REPLY", "data": data, "url": "https://x.test/r/1"}
    assert send_calls(fake) == [45015]


def test_non_retryable_error_fails_at_once_with_its_errcode(
    db: Database, fake: FakeWechatServer, worker: OutboxWorker, clock: Clock
) -> None:
    fake.state.fail_next(CUSTOM_SEND_PATH, 40003)
    add_text(db, clock, "reply:1", ALICE, "hello")

    worker.drain()
    clock.advance(seconds=86400)
    assert worker.drain() == 0

    row = only_row(db)
    assert (row.status, row.attempts, row.errcode, row.last_error) == (
        OutboxStatus.FAILED,
        1,
        40003,
        "invalid openid",
    )
    assert row.sent_at is None
    assert send_calls(fake) == [40003]


def test_unreachable_api_backs_off_then_fails_after_max_attempts(
    db: Database, fake: FakeWechatServer, make_worker: MakeWorker, clock: Clock
) -> None:
    worker = make_worker(base_url=UNREACHABLE, max_attempts=3)
    add_text(db, clock, "reply:1", ALICE, "hello")
    waits = []
    for attempt in (1, 2):
        assert worker.drain() == 1
        row = only_row(db)
        assert (row.status, row.attempts, row.errcode) == (OutboxStatus.PENDING, attempt, None)
        assert row.last_error is not None and "ConnectError" in row.last_error
        waits.append(row.next_attempt_at - clock.now)
        assert worker.run_once() == 0
        clock.advance(seconds=waits[-1].total_seconds())

    assert worker.drain() == 1

    row = only_row(db)
    assert (row.status, row.attempts, row.errcode) == (OutboxStatus.FAILED, 3, None)
    assert row.last_error is not None and "ConnectError" in row.last_error
    assert timedelta(0) < waits[0] < waits[1]  # backoff grows
    clock.advance(seconds=86400)
    assert worker.drain() == 0
    assert fake.state.snapshot() == []


# --- claiming ---


def test_expired_lease_of_a_crashed_worker_is_picked_up_again(
    db: Database, fake: FakeWechatServer, worker: OutboxWorker, clock: Clock
) -> None:
    now = clock()
    with db.transaction() as session:
        for key, lease_until in (("crashed", now - timedelta(seconds=1)), ("in-flight", now + LEASE)):
            session.add(
                OutboxMessage(
                    idempotency_key=key,
                    openid=ALICE,
                    kind=OutboxKind.TEXT,
                    payload={"content": key},
                    status=OutboxStatus.SENDING,
                    attempts=1,
                    next_attempt_at=now - LEASE,
                    lease_until=lease_until,
                    created_at=now - LEASE,
                )
            )

    assert worker.drain() == 1

    by_key = {r.idempotency_key: r for r in rows(db)}
    assert (by_key["crashed"].status, by_key["crashed"].attempts) == (OutboxStatus.SENT, 2)
    assert (by_key["in-flight"].status, by_key["in-flight"].attempts) == (OutboxStatus.SENDING, 1)
    assert fake.state.texts(ALICE) == ["crashed"]


def test_two_workers_deliver_each_message_exactly_once(
    database_url: str, db: Database, fake: FakeWechatServer, make_worker: MakeWorker, clock: Clock
) -> None:
    """Two processes' worth of workers (own Database, own token cache) racing over one table."""
    count = 60
    with db.transaction() as session:
        for i in range(count):
            enqueue_text(session, key=f"bulk:{i}", openid=f"o-{i % 7}", content=f"message {i}", now=clock())
    databases = [Database(database_url), Database(database_url)]
    workers = [make_worker(database=d, concurrency=4) for d in databases]
    start = threading.Barrier(len(workers))
    done: list[int] = []
    errors: list[BaseException] = []

    def run(w: OutboxWorker) -> None:
        try:
            start.wait()
            done.append(w.drain())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
    finally:
        for d in databases:
            d.dispose()

    assert errors == []
    assert sum(done) == count
    delivered = Counter((c.touser, c.body["text"]["content"]) for c in fake.state.sent() if c.body)
    assert delivered == Counter({(f"o-{i % 7}", f"message {i}"): 1 for i in range(count)})
    stored = rows(db)
    assert {(r.status, r.attempts) for r in stored} == {(OutboxStatus.SENT, 1)}
    assert len(stored) == count
    assert fake.state.token_fetches == 1  # the two workers shared one token


# --- the operator's view ---


def test_cli_outbox_status_lists_counts_and_failures(
    database_url: str, db: Database, fake: FakeWechatServer, worker: OutboxWorker, clock: Clock
) -> None:
    fake.state.close_window(BOB)
    fake.state.fail_next(CUSTOM_SEND_PATH, 40003)
    add_text(db, clock, "reply:bad", ALICE, "fails")
    worker.drain()  # alone: sends to several users go out at once, in no fixed order
    add_text(db, clock, "reply:ok1", ALICE, "one")
    add_text(db, clock, "reply:ok2", ALICE, "two")
    add_text(db, clock, "reply:late", BOB, "closed")
    worker.drain()
    fake.state.fail_next(CUSTOM_SEND_PATH, 45009)
    add_text(db, clock, "reply:pending", ALICE, "waits")
    worker.drain()

    result = CliRunner().invoke(cli_app, ["outbox", "status"], env={"UNIONBOT_DATABASE_URL": database_url})

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    counts = dict(line.split() for line in lines if not line.startswith("#"))
    assert counts == {"failed": "1", "fallback": "1", "pending": "1", "sent": "2"}
    by_key = {r.idempotency_key: r for r in rows(db)}
    bad, late = by_key["reply:bad"], by_key["reply:late"]
    assert f"#{late.id} fallback to {BOB} errcode=45015 {late.last_error}" in lines
    assert f"#{bad.id} failed to {ALICE} errcode=40003 invalid openid" in lines
    assert len([line for line in lines if line.startswith("#")]) == 2


def test_a_malformed_message_does_not_strand_the_rest_of_its_batch(
    db: Database, worker: OutboxWorker, fake: FakeWechatServer, clock: Clock
) -> None:
    with db.transaction() as session:
        enqueue_template(session, key="bad", openid=ALICE, template_id="", data={}, now=clock.now)
        session.exec(select(OutboxMessage)).one().payload = {"no": "template id"}
        enqueue_text(session, key="good", openid=BOB, content="您的月报已收到", now=clock.now)
    worker.run_once()
    bad, good = rows(db)
    assert good.status == OutboxStatus.SENT and fake.state.texts(BOB) == ["您的月报已收到"]
    assert bad.status == OutboxStatus.PENDING and "KeyError" in (bad.last_error or "")
    for _ in range(3):
        clock.advance(seconds=3600)
        worker.run_once()
    assert only_failed(db).attempts == 3


def only_failed(db: Database) -> OutboxMessage:
    [failed] = [row for row in rows(db) if row.status == OutboxStatus.FAILED]
    return failed

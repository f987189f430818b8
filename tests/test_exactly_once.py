"""WeChat retries: every delivery key is handled once, per user in arrival order, within the reply budget."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from itertools import pairwise

import httpx
import pytest
from sqlmodel import select

from bot.channel.signing import Signer, event_xml, new_msg_id, text_xml
from bot.devtools.fake_wechat import FakeWechatServer
from bot.routing.dispatch import Dispatcher
from config.settings import Settings
from handlers.context import Context
from storage import crypto
from storage.models import InboundMessage, OutboxMessage, ReplyMode, WechatUser
from tests.conftest import APPID, SECRET, TOKEN, make_settings
from tests.harness import Delivery, Service, running_service


class SlowCounter:
    """Counts how often the handler really ran; optionally slow, optionally failing."""

    def __init__(self, seconds: float = 0.0, fail: bool = False) -> None:
        self.seconds = seconds
        self.fail = fail
        self.calls: list[str] = []
        self.spans: list[tuple[str, float, float]] = []
        self._lock = threading.Lock()

    def handle(self, ctx: Context) -> str:
        start = time.monotonic()
        time.sleep(self.seconds)
        with self._lock:
            self.calls.append(ctx.text)
            count = len(self.calls)
            self.spans.append((ctx.text, start, time.monotonic()))
        if self.fail:
            raise RuntimeError("handler bug")
        return f"第{count}次处理：{ctx.text}"


def counting(settings: Settings, counter: SlowCounter) -> AbstractContextManager[Service]:
    return running_service(settings, dispatcher=Dispatcher([], fallback=counter.handle))


@pytest.fixture
def counter() -> SlowCounter:
    return SlowCounter()


@pytest.fixture
def counted(settings: Settings, counter: SlowCounter) -> Iterator[Service]:
    with counting(settings, counter) as service:
        yield service


def stored(service: Service) -> list[InboundMessage]:
    with service.services.db.transaction() as session:
        return list(session.exec(select(InboundMessage)).all())


def test_sequential_retry_gets_the_stored_reply_without_running_again(counted: Service, counter: SlowCounter) -> None:
    msg_id = new_msg_id()
    first = counted.wechat.text("u", "月报", msg_id)
    again = counted.wechat.text("u", "月报", msg_id)
    third = counted.wechat.text("u", "月报", msg_id)
    assert first.content == again.content == third.content == "第1次处理：月报"
    assert counter.calls == ["月报"]
    assert [row.dedup_key for row in stored(counted)] == [f"msg:{msg_id}"]
    with counted.services.db.transaction() as session:
        user = session.get(WechatUser, "u")
        assert user is not None and user.messages_handled == 1


def test_retries_arriving_while_the_first_is_running_wait_for_its_reply(settings: Settings) -> None:
    counter = SlowCounter(seconds=0.6)
    with counting(settings, counter) as service:
        xml = text_xml("u", "预警", new_msg_id())
        signed = service.wechat.signer.sign(xml)
        with ThreadPoolExecutor(3) as pool:
            posts = [pool.submit(service.wechat.post, signed[1], params=signed[0], sign=False) for _ in range(3)]
            responses = [post.result() for post in posts]
        assert {r.status_code for r in responses} == {200}
        replies = {service.wechat.signer.open_reply(r.text) for r in responses}
        assert len(replies) == 1 and "第1次处理：预警" in replies.pop()
        assert counter.calls == ["预警"]


def replied(service: Service) -> bool:
    """The late handler has committed its outcome."""
    rows = stored(service)
    return bool(rows) and rows[0].reply is not None


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


def opened(settings: Settings, reply: str | None) -> str:
    """Stored replies are encrypted at rest (they can quote personal data)."""
    assert reply is not None
    return crypto.decrypt(settings.data_key, reply)


def test_over_budget_answers_success_then_delivers_through_the_outbox(
    database_url: str, fake: FakeWechatServer
) -> None:
    counter = SlowCounter(seconds=0.8)
    settings = make_settings(database_url, fake.url, reply_budget_seconds=0.3)
    with counting(settings, counter) as service:
        msg_id = new_msg_id()
        first = service.wechat.text("slow-user", "统计", msg_id)
        assert first.body == "success"
        wait_until(lambda: replied(service))
        [record] = stored(service)
        assert record.reply_mode == ReplyMode.OUTBOX and opened(settings, record.reply) == "第1次处理：统计"
        service.services.outbox.drain()
        assert fake.state.texts("slow-user") == ["第1次处理：统计"]
        retry = service.wechat.text("slow-user", "统计", msg_id)
        assert retry.body == "success"
        service.services.outbox.drain()
        assert fake.state.texts("slow-user") == ["第1次处理：统计"]
        assert counter.calls == ["统计"]


def test_a_retry_during_an_over_budget_first_delivery_sends_one_answer(
    database_url: str, fake: FakeWechatServer
) -> None:
    counter = SlowCounter(seconds=0.9)
    settings = make_settings(database_url, fake.url, reply_budget_seconds=0.3)
    with counting(settings, counter) as service:
        params, body = service.wechat.signer.sign(text_xml("u2", "待审", new_msg_id()))
        with ThreadPoolExecutor(2) as pool:
            first = pool.submit(service.wechat.post, body, params=params, sign=False)
            time.sleep(0.1)
            second = pool.submit(service.wechat.post, body, params=params, sign=False)
            answers = [first.result().text, second.result().text]
        assert answers == ["success", "success"]
        wait_until(lambda: replied(service))
        time.sleep(0.3)
        service.services.outbox.drain()
        assert fake.state.texts("u2") == ["第1次处理：待审"]
        with service.services.db.transaction() as session:
            assert len(session.exec(select(OutboxMessage)).all()) == 1


def test_one_users_messages_are_handled_one_at_a_time_in_arrival_order(settings: Settings) -> None:
    counter = SlowCounter(seconds=0.1)
    with counting(settings, counter) as service:
        texts = [f"第{i}条" for i in range(5)]
        signed = [service.wechat.signer.sign(text_xml("tapper", t, new_msg_id())) for t in texts]
        with ThreadPoolExecutor(5) as pool:
            futures = []
            for params, body in signed:
                futures.append(pool.submit(service.wechat.post, body, params=params, sign=False))
                time.sleep(0.02)
            assert all(f.result().status_code == 200 for f in futures)
        assert counter.calls == texts
        spans = sorted(counter.spans, key=lambda span: span[1])
        assert all(earlier[2] <= later[1] for earlier, later in pairwise(spans))


def test_a_worker_handles_at_most_its_configured_number_of_messages_at_once(
    database_url: str, fake: FakeWechatServer
) -> None:
    """Six chairs write at the same moment; two threads take them. (SQLite admits one writer anyway.)"""
    counter = SlowCounter(seconds=0.2)
    with counting(make_settings(database_url, fake.url, handler_threads=2), counter) as service:
        signed = [service.wechat.signer.sign(text_xml(f"chair-{i}", "月报", new_msg_id())) for i in range(6)]
        with ThreadPoolExecutor(6) as pool:
            replies = list(
                pool.map(lambda request: service.wechat.post(request[1], params=request[0], sign=False), signed)
            )
    assert [reply.status_code for reply in replies] == [200] * 6 and len(counter.calls) == 6
    overlap = max(sum(1 for _, start, end in counter.spans if start <= moment < end) for _, moment, _ in counter.spans)
    assert overlap == (2 if database_url.startswith("postgresql") else 1)


def test_a_failing_handler_gets_an_apology_and_a_retry_does_not_run_it_again(settings: Settings) -> None:
    counter = SlowCounter(fail=True)
    with counting(settings, counter) as service:
        msg_id = new_msg_id()
        first = service.wechat.text("u", "月报", msg_id)
        retry = service.wechat.text("u", "月报", msg_id)
        assert "抱歉" in (first.content or "") and retry.content == first.content
        assert counter.calls == ["月报"]
        [record] = stored(service)
        assert opened(settings, record.reply) == first.content


def test_events_are_deduplicated_by_sender_time_event_and_key(counted: Service, counter: SlowCounter) -> None:
    created = int(time.time())
    counted.wechat.deliver(event_xml("u", "CLICK", "A", created=created))
    counted.wechat.deliver(event_xml("u", "CLICK", "A", created=created))
    counted.wechat.deliver(event_xml("u", "CLICK", "B", created=created))
    counted.wechat.deliver(event_xml("other", "CLICK", "A", created=created))
    assert len(counter.calls) == 3
    assert sorted(row.dedup_key for row in stored(counted)) == [
        f"evt:other:{created}:click:A",
        f"evt:u:{created}:click:A",
        f"evt:u:{created}:click:B",
    ]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def two_processes(database_url: str, fake: FakeWechatServer) -> Iterator[list[str]]:
    """Two real service processes (uvicorn) sharing one PostgreSQL."""
    if not database_url.startswith("postgresql"):
        pytest.skip("several processes share a database only on PostgreSQL")
    ports = [_free_port(), _free_port()]
    env = {
        **os.environ,
        "UNIONBOT_DATABASE_URL": database_url,
        "UNIONBOT_WECHAT_TOKEN": TOKEN,
        "UNIONBOT_WECHAT_APPID": APPID,
        "UNIONBOT_WECHAT_SECRET": SECRET,
        "UNIONBOT_WECHAT_API_BASE": fake.url,
    }
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "bot.cli.main", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for port in ports
    ]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        for url in urls:
            wait_until(lambda url=url: _up(url), timeout=20)
        yield urls
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=10)


def _up(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_two_service_processes_handle_a_retried_delivery_once(two_processes: list[str], database_url: str) -> None:
    signer = Signer(TOKEN, APPID)
    for round_ in range(5):
        params, body = signer.sign(text_xml(f"chair-{round_}", "你好", new_msg_id()))
        with ThreadPoolExecutor(4) as pool:
            posts = [pool.submit(httpx.post, f"{url}/wechat", params=params, content=body) for url in two_processes * 2]
            responses = [post.result() for post in posts]
        assert {r.status_code for r in responses} == {200}
        contents = {Delivery(200, r.text, r.text).content for r in responses}
        assert len(contents) == 1 and "月报" in (contents.pop() or "")
    settings = make_settings(database_url, "http://127.0.0.1:9")
    from storage.db import Database

    db = Database(settings.database_url)
    with db.transaction() as session:
        users = session.exec(select(WechatUser)).all()
        assert sorted((u.openid, u.messages_handled) for u in users) == [(f"chair-{i}", 1) for i in range(5)]
        assert len(session.exec(select(InboundMessage)).all()) == 5
    db.dispose()

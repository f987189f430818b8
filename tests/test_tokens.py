"""One owner of the access_token: every fetch at WeChat invalidates the last one, so fetches must be rare and shared.

The contract runs against the database cache (SQLite, PostgreSQL) and the Redis cache (a real server on
redis://127.0.0.1:6379/15, skipped when it is not running).
"""

from __future__ import annotations

import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import redis

from bot.channel.tokens import MARGIN, DatabaseTokenCache, RedisTokenCache, TokenCache
from storage.db import Database
from storage.models import AccessToken
from tests.conftest import APPID, _empty_tables
from tests.harness import Clock

REDIS_URL = "redis://127.0.0.1:6379/15"
LIFETIME = 7200


class CountingFetch:
    """Stands in for WeChat's /cgi-bin/token: a new token per call, slow enough for callers to overlap."""

    def __init__(self, delay: float = 0.0, expires_in: int = LIFETIME) -> None:
        self.delay = delay
        self.expires_in = expires_in
        self.calls = 0
        self._lock = threading.Lock()

    def __call__(self) -> tuple[str, int]:
        time.sleep(self.delay)
        with self._lock:
            self.calls += 1
            return f"token-{self.calls}", self.expires_in


def redis_client() -> redis.Redis:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5)
    try:
        client.ping()
    except redis.ConnectionError as exc:
        pytest.skip(f"Redis is not reachable at {REDIS_URL} ({exc})")
    return client


def delete_keys(client: redis.Redis, prefix: str) -> None:
    for key in client.scan_iter(match=f"{prefix}*"):
        client.delete(key)


NewCache = Callable[[], TokenCache]


@pytest.fixture(params=["sqlite", "postgresql", "redis"])
def new_cache(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> Iterator[NewCache]:
    """Makes caches that share one store, each as a separate process would hold it (own engine or client)."""
    appid = f"wx-test-{uuid.uuid4().hex[:8]}"
    closers: list[Callable[[], None]] = []
    if request.param == "redis":
        prefix = f"unionbot:access-token:{appid}"
        probe = redis_client()
        delete_keys(probe, prefix)

        def new() -> TokenCache:
            client = redis.Redis.from_url(REDIS_URL)
            closers.append(client.close)
            return RedisTokenCache(client, appid)

        closers.append(lambda: delete_keys(probe, prefix))
    else:
        if request.param == "sqlite":
            shutil.copy(sqlite_template, tmp_path / "tokens.sqlite3")
            url = f"sqlite:///{tmp_path / 'tokens.sqlite3'}"
        else:
            url = request.getfixturevalue("pg_database")
            _empty_tables(url)

        def new() -> TokenCache:
            database = Database(url)
            closers.append(database.dispose)
            return DatabaseTokenCache(database, appid, Clock())

    yield new
    for close in closers:
        close()


# --- the shared contract ---


def test_first_get_fetches_and_second_reuses(new_cache: NewCache) -> None:
    cache, fetch = new_cache(), CountingFetch()

    assert cache.get(fetch) == "token-1"
    assert cache.get(fetch) == "token-1"
    assert fetch.calls == 1


def test_stale_current_token_is_replaced_once(new_cache: NewCache) -> None:
    cache, fetch = new_cache(), CountingFetch()
    first = cache.get(fetch)

    assert cache.get(fetch, stale=first) == "token-2"
    assert cache.get(fetch, stale=first) == "token-2"  # already replaced: no second fetch for the same stale token
    assert cache.get(fetch) == "token-2"
    assert fetch.calls == 2


def test_stale_token_seen_by_many_threads_is_refreshed_once(new_cache: NewCache) -> None:
    """Eight callers all saw the same token rejected; only the first may fetch, the rest take its result."""
    cache, fetch = new_cache(), CountingFetch(delay=0.05)
    old = cache.get(fetch)
    threads_count = 8
    start = threading.Barrier(threads_count)
    results: list[str] = []
    errors: list[BaseException] = []

    def refresh() -> None:
        try:
            start.wait()
            results.append(cache.get(fetch, stale=old))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=refresh) for _ in range(threads_count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    assert errors == []
    assert results == ["token-2"] * threads_count
    assert fetch.calls == 2


def test_processes_share_one_token(new_cache: NewCache) -> None:
    first, second, fetch = new_cache(), new_cache(), CountingFetch()

    token = first.get(fetch)
    assert second.get(fetch) == token
    assert fetch.calls == 1

    refreshed = second.get(fetch, stale=token)
    assert refreshed == "token-2"
    assert first.get(fetch, stale=token) == refreshed  # the other process sees the refresh instead of fetching
    assert fetch.calls == 2


def test_separate_processes_refreshing_at_once_fetch_once(new_cache: NewCache) -> None:
    caches, fetch = [new_cache() for _ in range(4)], CountingFetch(delay=0.05)
    old = caches[0].get(fetch)
    start = threading.Barrier(len(caches))
    results: list[str] = []

    def refresh(cache: TokenCache) -> None:
        start.wait()
        results.append(cache.get(fetch, stale=old))

    threads = [threading.Thread(target=refresh, args=(c,)) for c in caches]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    assert results == ["token-2"] * len(caches)
    assert fetch.calls == 2


def test_failed_fetch_stores_nothing_and_the_next_get_fetches(new_cache: NewCache) -> None:
    cache, fetch = new_cache(), CountingFetch()

    def broken() -> tuple[str, int]:
        raise ConnectionError("token endpoint down")

    with pytest.raises(ConnectionError):
        cache.get(broken)
    assert new_cache().get(fetch) == "token-1"
    assert fetch.calls == 1


# --- store-specific: expiry ---


def test_database_token_is_refetched_before_it_expires(db: Database) -> None:
    clock, fetch = Clock(), CountingFetch()
    cache = DatabaseTokenCache(db, APPID, clock=clock)
    assert cache.get(fetch) == "token-1"

    with db.transaction() as session:
        row = session.get(AccessToken, APPID)
    assert row is not None
    assert (row.token, row.fetched_at, row.expires_at) == (
        "token-1",
        clock.now,
        clock.now + timedelta(seconds=LIFETIME),
    )

    clock.now += timedelta(seconds=LIFETIME) - MARGIN - timedelta(seconds=1)
    assert DatabaseTokenCache(db, APPID, clock=clock).get(fetch) == "token-1"
    clock.now += timedelta(seconds=2)  # inside the safety margin: refreshed before WeChat would answer 42001
    assert cache.get(fetch) == "token-2"
    assert DatabaseTokenCache(db, APPID, clock=clock).get(fetch) == "token-2"
    assert fetch.calls == 2


def test_redis_token_expires_with_a_safety_margin() -> None:
    client = redis_client()
    appid = f"wx-test-{uuid.uuid4().hex[:8]}"
    key = f"unionbot:access-token:{appid}"
    try:
        cache = RedisTokenCache(client, appid)
        assert cache.get(CountingFetch()) == "token-1"
        assert LIFETIME - MARGIN.total_seconds() - 5 <= client.ttl(key) <= LIFETIME - MARGIN.total_seconds()

        client.delete(key)  # what the TTL does when it runs out
        fetch = CountingFetch()
        assert cache.get(fetch) == "token-1"
        assert fetch.calls == 1
    finally:
        delete_keys(client, key)
        client.close()


def test_redis_cache_works_with_a_decoding_client() -> None:
    """A client made with decode_responses=True returns str: that must not read as 'no token' and fetch every time."""
    probe = redis_client()
    appid = f"wx-test-{uuid.uuid4().hex[:8]}"
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        cache, fetch = RedisTokenCache(client, appid), CountingFetch()
        assert cache.get(fetch) == "token-1"
        assert cache.get(fetch) == "token-1"
        assert RedisTokenCache(probe, appid).get(fetch) == "token-1"
        assert fetch.calls == 1
    finally:
        delete_keys(probe, f"unionbot:access-token:{appid}")
        client.close()
        probe.close()

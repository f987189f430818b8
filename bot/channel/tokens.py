"""The access_token has one owner: a shared cache (database, or Redis when configured) behind a lock.

Every fetch at WeChat invalidates the previous token, so N workers refreshing on their own would keep
knocking each other out (40001). Here a refresh happens under a lock, and a caller that saw a token rejected
passes it as `stale`: if another worker already replaced it, the replacement is returned without a fetch.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from config.settings import Settings
from storage.db import Database
from storage.models import AccessToken

if TYPE_CHECKING:
    import redis

Fetch = Callable[[], tuple[str, int]]
MARGIN = timedelta(seconds=120)


class TokenCache(Protocol):
    def get(self, fetch: Fetch, stale: str | None = None) -> str: ...


class DatabaseTokenCache:
    def __init__(self, db: Database, appid: str, clock: Callable[[], datetime]) -> None:
        self._db = db
        self._appid = appid
        self._clock = clock
        self._memo: tuple[str, datetime] | None = None

    def _usable(self, token: str, expires_at: datetime, stale: str | None) -> bool:
        return token != stale and expires_at - MARGIN > self._clock()

    def get(self, fetch: Fetch, stale: str | None = None) -> str:
        if self._memo and self._usable(*self._memo, stale):
            return self._memo[0]
        with self._db.transaction() as session:
            self._db.lock_key(session, f"access-token:{self._appid}")
            row = session.get(AccessToken, self._appid)
            if row is None or not self._usable(row.token, row.expires_at, stale):
                token, expires_in = fetch()
                now = self._clock()
                row = row or AccessToken(appid=self._appid, token=token, expires_at=now, fetched_at=now)
                row.token, row.expires_at, row.fetched_at = token, now + timedelta(seconds=expires_in), now
                session.add(row)
            self._memo = (row.token, row.expires_at)
            return row.token


class RedisTokenCache:
    def __init__(self, client: redis.Redis, appid: str) -> None:
        self._redis = client
        self._key = f"unionbot:access-token:{appid}"

    def _read(self, stale: str | None) -> str | None:
        value = self._redis.get(self._key)
        token = value.decode() if isinstance(value, bytes) else value
        return token if token and token != stale else None

    def get(self, fetch: Fetch, stale: str | None = None) -> str:
        token = self._read(stale)
        if token:
            return token
        with self._redis.lock(self._key + ":lock", timeout=30, blocking_timeout=30):
            token = self._read(stale)
            if token:
                return token
            token, expires_in = fetch()
            self._redis.set(self._key, token, ex=max(expires_in - int(MARGIN.total_seconds()), 1))
            return token


def token_cache(settings: Settings, db: Database, clock: Callable[[], datetime]) -> TokenCache:
    """The owner this deployment uses: Redis when `UNIONBOT_REDIS_URL` is set, else the database."""
    if settings.redis_url:
        import redis  # only here: a deployment without Redis does not carry the client (~6 MB per worker)

        return RedisTokenCache(redis.Redis.from_url(settings.redis_url), settings.wechat_appid)
    return DatabaseTokenCache(db, settings.wechat_appid, clock)

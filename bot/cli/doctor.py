"""`unionbot doctor`: is this installation ready to serve? One line per check, ✔ or ✘ with what to do about it, and
exit code 0 only when every check passes, so a deployment script or a monitor can run it.

The access token is asked of the token owner the service uses (the database or Redis), never fetched beside it:
every fetch at WeChat replaces the token the running service holds. A token the owner still has proves the
AppID and AppSecret worked when it was fetched; with none, the doctor fetches one, which the service then uses.
The WeChat client and Redis are imported when their check runs, not at every `unionbot` command's start.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

import typer

from config.settings import Settings, SettingsError, load_settings
from storage import queries
from storage.db import Database, DatabaseUnreachable, utcnow
from storage.migrate import SchemaBehind, require_current

# What WeChat's token endpoint answers for a wrong setting, and where to fix it.
TOKEN_HINTS = {
    40013: "the AppID is wrong: check UNIONBOT_WECHAT_APPID",
    40125: "the AppSecret is wrong or was reset in the console: check UNIONBOT_WECHAT_SECRET",
    40164: "this machine's address is not on the IP whitelist (WeChat console, 基本配置 → IP白名单)",
    41002: "UNIONBOT_WECHAT_APPID is empty",
    41004: "UNIONBOT_WECHAT_SECRET is empty",
}
MiB = 2**20


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    text: str

    @property
    def line(self) -> str:
        return f"{'✔' if self.ok else '✘'} {self.name}: {self.text}"


@dataclass(frozen=True)
class Limits:
    min_free_bytes: int
    outbox_max_age: timedelta


def doctor(
    min_free_mb: Annotated[int, typer.Option(min=0, help="Free space needed under UNIONBOT_FILES_DIR.")] = 1024,
    outbox_max_age: Annotated[
        int, typer.Option(min=1, help="Minutes a message may wait in the outbox before it counts as stuck.")
    ] = 15,
) -> None:
    """Check settings, database, Redis, WeChat credentials, links, secrets, disk, scheduler and outbox."""
    now = utcnow()
    try:
        settings = load_settings()
    except SettingsError as exc:
        typer.echo(Check("settings", False, f"{exc} (set it in the environment or .env)").line)
        raise typer.Exit(1) from None
    limits = Limits(min_free_mb * MiB, timedelta(minutes=outbox_max_age))
    db = Database(settings.database_url)
    passed = True
    try:
        for check in _checks(settings, db, now, limits):
            typer.echo(check.line)
            passed = passed and check.ok
    finally:
        db.dispose()
    raise typer.Exit(0 if passed else 1)


def _checks(settings: Settings, db: Database, now: datetime, limits: Limits) -> Iterator[Check]:
    yield Check("settings", True, f"valid (UNIONBOT_ENV={settings.env})")
    reachable = _database(db)
    yield reachable
    schema = _schema(db) if reachable.ok else _unchecked("schema", "the database")
    yield schema
    yield _redis(settings)
    token_needs_db = not settings.redis_url and not schema.ok
    yield _unchecked("access_token", "the database") if token_needs_db else _access_token(settings, db)
    yield _public_url(settings)
    yield _secrets(settings)
    yield _disk(settings.files_dir, limits.min_free_bytes)
    if not schema.ok:
        yield _unchecked("scheduler", "the database")
        yield _unchecked("outbox", "the database")
        return
    with db.transaction() as session:
        backlog = queries.backlog(session)
    yield _scheduler(settings, backlog.last_tick, now)
    yield _outbox(backlog, now, limits.outbox_max_age)


def _unchecked(name: str, needs: str) -> Check:
    return Check(name, False, f"not checked: {needs} is not ready (see above)")


def _database(db: Database) -> Check:
    try:
        db.check_reachable()
    except DatabaseUnreachable as exc:
        return Check("database", False, f"{exc}: check the URL, and that the server runs and admits this machine")
    return Check("database", True, f"reachable ({db.engine.dialect.name})")


def _schema(db: Database) -> Check:
    try:
        require_current(db.engine)
    except SchemaBehind as exc:
        return Check("schema", False, str(exc))
    return Check("schema", True, "migrated to this version")


def _redis(settings: Settings) -> Check:
    if not settings.redis_url:
        return Check("redis", True, "not configured: the access_token is shared through the database")
    import redis

    client = redis.Redis.from_url(settings.redis_url, socket_connect_timeout=3, socket_timeout=3)
    try:
        client.ping()
    except redis.RedisError as exc:
        return Check("redis", False, f"UNIONBOT_REDIS_URL: cannot reach it ({exc}): start Redis, or unset the variable")
    finally:
        client.close()
    return Check("redis", True, "reachable")


def _access_token(settings: Settings, db: Database) -> Check:
    import httpx
    import redis

    from bot.channel.tokens import token_cache
    from bot.channel.wechat_api import WechatApi, WechatApiError

    base = settings.wechat_api_base
    tokens = token_cache(settings, db, utcnow)
    api = WechatApi(base, settings.wechat_appid, settings.wechat_secret, tokens)
    try:
        tokens.get(api.fetch_token)
    except WechatApiError as exc:
        hint = TOKEN_HINTS.get(exc.errcode, "check UNIONBOT_WECHAT_APPID and UNIONBOT_WECHAT_SECRET")
        return Check("access_token", False, f"WeChat answered {exc.errcode} {exc.errmsg}: {hint}")
    except (httpx.HTTPError, ValueError) as exc:
        return Check(
            "access_token",
            False,
            f"cannot get one from {base} ({type(exc).__name__}): check UNIONBOT_WECHAT_API_BASE and that this "
            "machine can reach it",
        )
    except redis.RedisError as exc:
        return Check("access_token", False, f"the token owner (Redis) failed: {exc}")
    finally:
        api.close()
    return Check("access_token", True, f"available for {settings.wechat_appid} from {base}")


def _public_url(settings: Settings) -> Check:
    url = settings.public_base_url
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        return Check(
            "public_url", False, f"UNIONBOT_PUBLIC_BASE_URL={url} is not an address like https://union.example.cn"
        )
    if parts.scheme == "https":
        return Check("public_url", True, f"{url}")
    if settings.env == "production":
        return Check("public_url", False, f"{url} must be https:// in production (links carry personal data)")
    return Check("public_url", True, f"{url} (plain http: for development only)")


def _secrets(settings: Settings) -> Check:
    left = settings.development_secrets()
    if left:
        return Check(
            "secrets",
            False,
            f"{', '.join(left)} still the development default anyone can read in the source: set your own",
        )
    return Check("secrets", True, "none is a development default")


def _disk(folder: Path, min_free: int) -> Check:
    existing = next(path for path in (folder, *folder.parents) if path.exists())
    if not os.access(existing, os.W_OK):
        return Check("disk", False, f"{existing} is not writable by this user: UNIONBOT_FILES_DIR must be")
    free = shutil.disk_usage(existing).free
    if free < min_free:
        return Check(
            "disk",
            False,
            f"{_size(free)} free under {folder}, less than {_size(min_free)}: free some, or move UNIONBOT_FILES_DIR",
        )
    return Check("disk", True, f"{_size(free)} free under {folder}")


def _scheduler(settings: Settings, last_tick: datetime | None, now: datetime) -> Check:
    interval = timedelta(seconds=settings.scheduler_interval_seconds)
    where = "" if settings.scheduler_run_in_service else " (UNIONBOT_SCHEDULER_RUN_IN_SERVICE is false here)"
    if last_tick is None:
        return Check("scheduler", False, f"no round recorded yet: is `unionbot serve` running?{where}")
    age = now - last_tick
    if age > 3 * interval + timedelta(minutes=1):
        return Check(
            "scheduler",
            False,
            f"the leader's last round was {_duration(age)} ago (one is due every {_duration(interval)}): is a "
            f"service process running? Read its log{where}",
        )
    return Check("scheduler", True, f"the leader's last round {_duration(age)} ago")


def _outbox(backlog: queries.Backlog, now: datetime, max_age: timedelta) -> Check:
    failed = f"; {backlog.failed} failed (`unionbot outbox status`)" if backlog.failed else ""
    if backlog.oldest_waiting_at is None:
        return Check("outbox", True, f"nothing waiting{failed}")
    age = now - backlog.oldest_waiting_at
    waiting = f"{backlog.waiting} waiting, the oldest for {_duration(age)}"
    if age > max_age:
        return Check(
            "outbox", False, f"{waiting}: nothing is delivering them; read the service log and `unionbot outbox status`"
        )
    return Check("outbox", True, f"{waiting}{failed}")


def _size(count: int) -> str:
    return f"{count / 2**30:.1f} GiB" if count >= 2**30 else f"{count // MiB} MiB"


def _duration(delta: timedelta) -> str:
    seconds = max(int(delta.total_seconds()), 0)
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 2 * 3600:
        return f"{seconds // 60} min"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} days"

"""Settings from UNIONBOT_* environment variables (and an optional .env), validated at start-up."""

from __future__ import annotations

import base64
import binascii
from functools import lru_cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from config.menu import MENU_FILE

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = f"sqlite:///{REPO_ROOT / 'var' / 'unionbot.sqlite3'}"
# Development-only secrets: a production deployment sets its own (see README, Configuration).
DEV_DATA_KEY = "dW5pb25ib3QtZGV2LWRhdGEta2V5LTMyLWJ5dGVzISE="
DEV_LINK_SECRET = "unionbot-dev-link-secret"
DEV_TOKEN = "unionbot-dev-token"
DEV_APPID = "wx0000000000000000"
DEV_SECRET = "unionbot-dev-secret"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="UNIONBOT_", env_file=".env", extra="ignore")

    # production: refuse to start with any development secret or a plain-http public address
    env: Literal["development", "production"] = "development"
    database_url: str = DEFAULT_DATABASE_URL
    redis_url: str | None = None

    wechat_token: str = DEV_TOKEN
    wechat_appid: str = DEV_APPID
    wechat_secret: str = DEV_SECRET
    wechat_aes_key: str | None = Field(default=None, description="43-character EncodingAESKey; safe mode")
    wechat_api_base: str = "https://api.weixin.qq.com"
    wechat_qr_base: str = "https://mp.weixin.qq.com"  # where QR code images are fetched (showqrcode)

    host: str = "127.0.0.1"
    port: int = 8000
    public_base_url: str = "http://127.0.0.1:8000"

    replay_window_seconds: int = Field(default=300, ge=1)
    reply_budget_seconds: float = Field(default=4.0, gt=0, le=4.8)
    # Messages one worker handles at once. More only wait on the database and on each other: at the month-end
    # peak the benchmark saw PostgreSQL's p99 at 80% load fall from ~500 ms with 40 to ~120 ms with 4.
    handler_threads: int = Field(default=4, ge=1, le=64)
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)

    timezone: str = "Asia/Shanghai"
    draft_ttl_days: int = Field(default=7, ge=1)
    reply_max_bytes: int = Field(default=2000, ge=300, le=2048)

    report_open_day: int = Field(default=1, ge=1, le=28)  # the report for month M opens on this day of M+1
    report_due_day: int = Field(default=10, ge=1, le=28)  # ... and is due on this day of M+1

    # Fernet key(s), newest first: the first encrypts, every one decrypts (earlier keys only while `unionbot keys
    # rotate` moves the data to the first; then they are removed).
    data_key: str = Field(default=DEV_DATA_KEY, description="Fernet key ring: personal data encrypted at rest")
    link_secret: str = Field(default=DEV_LINK_SECRET, min_length=16)
    link_ttl_minutes: int = Field(default=60, ge=1)
    files_dir: Path = REPO_ROOT / "var" / "files"
    menu_file: Path = MENU_FILE  # the account's custom menu: checked at start-up, sent by `unionbot menu publish`
    # database: every service machine on the same database sees the same files; filesystem: files_dir, one machine
    file_store: Literal["database", "filesystem"] = "database"

    outbox_poll_seconds: float = Field(default=1.0, gt=0)
    outbox_max_attempts: int = Field(default=8, ge=1)
    # Sends one worker has in flight at once: WeChat takes ~50 ms a call, so 16 allow ~300 messages a second.
    outbox_concurrency: int = Field(default=16, ge=1, le=128)
    outbox_run_in_service: bool = True

    scheduler_run_in_service: bool = True  # reminders and escalations; one leader among the processes
    scheduler_interval_seconds: float = Field(default=60.0, ge=1)

    # Retention (`bot/services/retention.py`), run by the scheduler leader every `retention_every_minutes`.
    retention_every_minutes: int = Field(default=60, ge=1)
    retention_inbound_days: int = Field(default=7, ge=1)  # dedup rows: WeChat retries within seconds
    retention_outbox_days: int = Field(default=30, ge=1)  # delivered messages (keys a job may still plan stay)

    def development_secrets(self) -> list[str]:
        """Secrets still at the defaults printed in this source: fine for `make run`, never for real data."""
        defaults = {
            "UNIONBOT_WECHAT_TOKEN": (self.wechat_token, DEV_TOKEN),
            "UNIONBOT_WECHAT_APPID": (self.wechat_appid, DEV_APPID),
            "UNIONBOT_WECHAT_SECRET": (self.wechat_secret, DEV_SECRET),
            "UNIONBOT_DATA_KEY": (self.data_key.split(",")[0], DEV_DATA_KEY),
            "UNIONBOT_LINK_SECRET": (self.link_secret, DEV_LINK_SECRET),
        }
        return [name for name, (value, default) in defaults.items() if value == default]

    @model_validator(mode="after")
    def _production_ready(self) -> Settings:
        if self.env != "production":
            return self
        problems = [
            f"{name} is the development default, which anyone can read in the source: set your own"
            for name in self.development_secrets()
        ]
        if not self.public_base_url.startswith("https://"):
            problems.append(
                f"UNIONBOT_PUBLIC_BASE_URL must be https:// in production (links carry personal data), "
                f"got {self.public_base_url}"
            )
        if problems:
            raise ValueError("UNIONBOT_ENV=production refuses to start:\n" + "\n".join(problems))
        return self

    @field_validator("report_due_day")
    @classmethod
    def _due_after_opening(cls, value: int, info: ValidationInfo) -> int:
        opens = info.data.get("report_open_day")
        if opens is not None and value < opens:
            raise ValueError(
                f"must not come before UNIONBOT_REPORT_OPEN_DAY ({opens}): a report would be due before it opens"
            )
        return value

    @field_validator("wechat_aes_key")
    @classmethod
    def _aes_key(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        assert value is not None
        if len(value) != 43:
            raise ValueError(f"must be 43 characters, got {len(value)}")
        try:
            key = base64.b64decode(value + "=", validate=True)
        except binascii.Error as exc:
            raise ValueError("is not valid base64") from exc
        if len(key) != 32:
            raise ValueError("must decode to 32 bytes")
        return value

    @field_validator("data_key")
    @classmethod
    def _data_key(cls, value: str) -> str:
        keys = [key.strip() for key in value.split(",")]
        for number, key in enumerate(keys, start=1):
            which = f"key {number} of {len(keys)} " if len(keys) > 1 else ""
            try:
                raw = base64.urlsafe_b64decode(key.encode())
            except (binascii.Error, ValueError):
                raise ValueError(f"{which}is not valid url-safe base64") from None
            if len(raw) != 32:
                raise ValueError(f"{which}must decode to 32 bytes (a Fernet key)")
        return ",".join(keys)

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        if not value.startswith(("sqlite://", "postgresql")):
            raise ValueError("must be a sqlite:/// or postgresql+psycopg:// URL")
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class SettingsError(Exception):
    """A setting is wrong; the message names it as its environment variable."""


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        error = exc.errors()[0]
        message = str(error["msg"]).removeprefix("Value error, ")
        if not error["loc"]:  # a check across settings names its variables itself
            raise SettingsError(message) from None
        raise SettingsError(f"UNIONBOT_{str(error['loc'][0]).upper()}: {message}") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()

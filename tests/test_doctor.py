"""`unionbot doctor` as an operator runs it after installing: every check ✔ on a sound installation, and each
problem named on its own ✘ line with what to do, the exit code telling a script whether all passed."""

from __future__ import annotations

import socket
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from typer.testing import CliRunner, Result

from bot.cli.main import app
from bot.devtools.fake_wechat import FakeWechatServer
from storage import heartbeat, outbox
from storage.db import Database, utcnow
from tests.conftest import APPID, SECRET, TOKEN

runner = CliRunner()
CHECKS = [
    "settings",
    "database",
    "schema",
    "redis",
    "access_token",
    "public_url",
    "secrets",
    "disk",
    "scheduler",
    "outbox",
]


@pytest.fixture
def env(database_url: str, fake: FakeWechatServer, tmp_path: Path) -> dict[str, str]:
    """A production-like installation: its own secrets, https links, the stand-in as WeChat."""
    return {
        "UNIONBOT_ENV": "production",
        "UNIONBOT_DATABASE_URL": database_url,
        "UNIONBOT_WECHAT_TOKEN": TOKEN,
        "UNIONBOT_WECHAT_APPID": APPID,
        "UNIONBOT_WECHAT_SECRET": SECRET,
        "UNIONBOT_WECHAT_API_BASE": fake.url,
        "UNIONBOT_WECHAT_AES_KEY": "",
        "UNIONBOT_REDIS_URL": "",
        "UNIONBOT_DATA_KEY": Fernet.generate_key().decode(),
        "UNIONBOT_LINK_SECRET": "a-link-secret-of-our-own",
        "UNIONBOT_PUBLIC_BASE_URL": "https://union.example.cn",
        "UNIONBOT_FILES_DIR": str(tmp_path / "files"),
    }


@pytest.fixture
def running(database_url: str) -> Database:
    """The service's scheduler leader has just finished a round."""
    db = Database(database_url)
    with db.transaction() as session:
        heartbeat.beat(session, heartbeat.SCHEDULER, utcnow())
    db.dispose()
    return db


def doctor(env: dict[str, str]) -> Result:
    return runner.invoke(app, ["doctor", "--min-free-mb", "1"], env=env)


def lines(result: Result) -> dict[str, str]:
    """Each check's line by its name; the order is the documented one."""
    found = {line.split(":", 1)[0][2:]: line for line in result.stdout.splitlines()}
    assert list(found) == CHECKS, result.stdout
    return found


def failed(result: Result) -> dict[str, str]:
    return {name: line for name, line in lines(result).items() if line.startswith("✘")}


def test_a_sound_installation_passes_every_check(
    env: dict[str, str], running: Database, fake: FakeWechatServer
) -> None:
    result = doctor(env)
    assert result.exit_code == 0, result.stdout
    assert all(line.startswith("✔ ") for line in lines(result).values())
    assert fake.state.token_fetches == 1  # through the token owner, which now holds it for the service
    assert doctor(env).exit_code == 0 and fake.state.token_fetches == 1


def test_an_unmigrated_database_says_to_run_db_upgrade(
    env: dict[str, str], tmp_path: Path, fake: FakeWechatServer
) -> None:
    env["UNIONBOT_DATABASE_URL"] = f"sqlite:///{tmp_path}/new.sqlite3"
    result = doctor(env)
    assert result.exit_code == 1
    problems = failed(result)
    assert problems["schema"].endswith("run `unionbot db upgrade`")
    assert "is at empty" in problems["schema"]
    for needs_it in ("access_token", "scheduler", "outbox"):
        assert "not checked: the database is not ready" in problems[needs_it]
    assert set(problems) == {"schema", "access_token", "scheduler", "outbox"}


def test_an_unreachable_database_is_named(env: dict[str, str]) -> None:
    env["UNIONBOT_DATABASE_URL"] = "postgresql+psycopg://nobody@127.0.0.1:1/unionbot"
    result = doctor(env)
    assert result.exit_code == 1
    assert failed(result)["database"].startswith("✘ database: UNIONBOT_DATABASE_URL: cannot connect")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_wechat_fails_the_access_token(env: dict[str, str], running: Database) -> None:
    env["UNIONBOT_WECHAT_API_BASE"] = f"http://127.0.0.1:{_closed_port()}"
    result = doctor(env)
    assert result.exit_code == 1
    problems = failed(result)
    assert list(problems) == ["access_token"]
    assert f"cannot get one from {env['UNIONBOT_WECHAT_API_BASE']} (ConnectError)" in problems["access_token"]


def test_a_wrong_appsecret_is_explained(env: dict[str, str], running: Database) -> None:
    env["UNIONBOT_WECHAT_SECRET"] = "not-the-secret"
    problems = failed(doctor(env))
    assert list(problems) == ["access_token"]
    assert "WeChat answered 40125" in problems["access_token"]
    assert "check UNIONBOT_WECHAT_SECRET" in problems["access_token"]


def test_a_message_stuck_in_the_outbox_fails_the_check(env: dict[str, str], running: Database) -> None:
    db = Database(env["UNIONBOT_DATABASE_URL"])
    with db.transaction() as session:
        outbox.enqueue_text(session, key="stuck", openid="chair-1", content="提醒", now=utcnow() - timedelta(hours=2))
        outbox.enqueue_text(session, key="fresh", openid="chair-2", content="提醒", now=utcnow())
    db.dispose()
    result = doctor(env)
    assert result.exit_code == 1
    problems = failed(result)
    assert list(problems) == ["outbox"]
    assert problems["outbox"].startswith("✘ outbox: 2 waiting, the oldest for 2 h: nothing is delivering them")


def test_no_scheduler_round_and_development_secrets_fail(env: dict[str, str]) -> None:
    for name in ("UNIONBOT_ENV", "UNIONBOT_DATA_KEY", "UNIONBOT_LINK_SECRET", "UNIONBOT_PUBLIC_BASE_URL"):
        del env[name]
    env["UNIONBOT_ENV"] = "development"
    problems = failed(doctor(env))
    assert list(problems) == ["secrets", "scheduler"]
    assert "UNIONBOT_DATA_KEY, UNIONBOT_LINK_SECRET still the development default" in problems["secrets"]
    assert "no round recorded yet: is `unionbot serve` running?" in problems["scheduler"]


def test_wrong_settings_stop_the_doctor_at_the_first_line(env: dict[str, str]) -> None:
    env["UNIONBOT_PUBLIC_BASE_URL"] = "http://union.example.cn"
    result = doctor(env)
    assert result.exit_code == 1
    assert result.stdout.startswith("✘ settings: UNIONBOT_ENV=production refuses to start:")
    assert "UNIONBOT_PUBLIC_BASE_URL must be https://" in result.stdout

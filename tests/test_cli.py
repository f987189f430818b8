"""Start-up refuses wrong settings and old schemas with one clear line; the terminal chat talks to a live service."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet
from typer.testing import CliRunner

from bot.cli.main import app
from config.settings import SettingsError, load_settings
from storage.db import Database
from storage.migrate import current_revisions, head_revisions
from tests.conftest import AES_KEY

runner = CliRunner()


def test_wrong_aes_key_stops_start_up_naming_the_setting(tmp_path: Path) -> None:
    env = {"UNIONBOT_WECHAT_AES_KEY": AES_KEY[:42], "UNIONBOT_DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3"}
    result = runner.invoke(app, ["serve"], env=env)
    assert result.exit_code == 2
    assert result.stderr.strip() == "unionbot: UNIONBOT_WECHAT_AES_KEY: must be 43 characters, got 42"


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("UNIONBOT_WECHAT_AES_KEY", "!" * 43, "UNIONBOT_WECHAT_AES_KEY: is not valid base64"),
        ("UNIONBOT_DATABASE_URL", "mysql://x", "UNIONBOT_DATABASE_URL: must be a sqlite:/// or postgresql"),
        ("UNIONBOT_REPLY_BUDGET_SECONDS", "6", "UNIONBOT_REPLY_BUDGET_SECONDS"),
        ("UNIONBOT_REPORT_DUE_DAY", "0", "UNIONBOT_REPORT_DUE_DAY"),
    ],
)
def test_settings_errors_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=re.escape(message)):
        load_settings()


def test_a_due_day_before_the_opening_day_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UNIONBOT_REPORT_OPEN_DAY", "12")
    monkeypatch.setenv("UNIONBOT_REPORT_DUE_DAY", "10")
    with pytest.raises(SettingsError, match=re.escape("UNIONBOT_REPORT_DUE_DAY: must not come before")):
        load_settings()
    monkeypatch.setenv("UNIONBOT_REPORT_DUE_DAY", "12")
    assert load_settings().report_due_day == 12


def test_secrets_left_at_their_development_defaults_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().development_secrets() == [
        "UNIONBOT_WECHAT_TOKEN",
        "UNIONBOT_WECHAT_APPID",
        "UNIONBOT_WECHAT_SECRET",
        "UNIONBOT_DATA_KEY",
        "UNIONBOT_LINK_SECRET",
    ]
    for name, value in _OWN_SECRETS.items():
        monkeypatch.setenv(name, value)
    assert load_settings().development_secrets() == []


_OWN_SECRETS = {
    "UNIONBOT_WECHAT_TOKEN": "a-token-of-our-own",
    "UNIONBOT_WECHAT_APPID": "wx1234567890abcdef",
    "UNIONBOT_WECHAT_SECRET": "an-appsecret-of-our-own",
    "UNIONBOT_DATA_KEY": Fernet.generate_key().decode(),
    "UNIONBOT_LINK_SECRET": "a-secret-of-our-own-42",
}


def test_production_mode_refuses_every_development_secret_and_plain_http(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UNIONBOT_ENV", "production")
    monkeypatch.setenv("UNIONBOT_LINK_SECRET", "a-secret-of-our-own-42")
    refused = runner.invoke(app, ["serve"])
    assert refused.exit_code != 0
    for name in ("UNIONBOT_WECHAT_TOKEN", "UNIONBOT_WECHAT_APPID", "UNIONBOT_WECHAT_SECRET", "UNIONBOT_DATA_KEY"):
        assert f"{name} is the development default" in refused.output
    assert "UNIONBOT_LINK_SECRET" not in refused.output
    assert "UNIONBOT_PUBLIC_BASE_URL must be https://" in refused.output

    for name, value in _OWN_SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("UNIONBOT_PUBLIC_BASE_URL", "https://union.example.cn")
    assert load_settings().env == "production"


def test_valid_aes_key_is_accepted_and_empty_means_plaintext(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UNIONBOT_WECHAT_AES_KEY", AES_KEY)
    assert load_settings().wechat_aes_key == AES_KEY
    monkeypatch.setenv("UNIONBOT_WECHAT_AES_KEY", "")
    assert load_settings().wechat_aes_key is None


def test_unreachable_database_stops_start_up() -> None:
    result = runner.invoke(app, ["serve"], env={"UNIONBOT_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/x"})
    assert result.exit_code == 2
    assert result.stderr.startswith("unionbot: UNIONBOT_DATABASE_URL: cannot connect")


def test_several_workers_on_sqlite_are_refused_naming_the_way_out(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/one.sqlite3"
    refused = runner.invoke(app, ["serve", "--workers", "2"], env={"UNIONBOT_DATABASE_URL": url})
    assert refused.exit_code == 2
    assert refused.stderr.strip() == (
        "unionbot: --workers 2: SQLite serves one process; set UNIONBOT_DATABASE_URL to PostgreSQL"
    )


def test_service_refuses_an_old_schema_until_db_upgrade(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/old.sqlite3"
    refused = runner.invoke(app, ["serve"], env={"UNIONBOT_DATABASE_URL": url})
    assert refused.exit_code == 2 and "run `unionbot db upgrade`" in refused.stderr
    upgraded = runner.invoke(app, ["db", "upgrade"], env={"UNIONBOT_DATABASE_URL": url})
    again = runner.invoke(app, ["db", "upgrade"], env={"UNIONBOT_DATABASE_URL": url})
    assert upgraded.exit_code == 0 and again.exit_code == 0
    db = Database(url)
    assert current_revisions(db.engine) == head_revisions()
    db.dispose()


def test_db_upgrade_migrates_an_existing_database(database_url: str) -> None:
    result = runner.invoke(app, ["db", "upgrade"], env={"UNIONBOT_DATABASE_URL": database_url})
    assert result.exit_code == 0, result.output
    db = Database(database_url)
    assert current_revisions(db.engine) == head_revisions()
    db.dispose()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_terminal_chat_of_a_newcomer_is_told_how_to_bind(tmp_path: Path) -> None:
    """The README's newcomer path: `unionbot serve --with-fake-wechat`, then `unionbot chat`."""
    env = {**os.environ, "UNIONBOT_DATABASE_URL": f"sqlite:///{tmp_path}/demo.sqlite3"}
    env.pop("UNIONBOT_WECHAT_AES_KEY", None)
    subprocess.run([sys.executable, "-m", "bot.cli.main", "db", "upgrade"], env=env, check=True, capture_output=True)
    port, fake_port = _free_port(), _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "bot.cli.main", "serve", "--port", str(port), "--with-fake-wechat", str(fake_port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "service did not start"
                time.sleep(0.2)
        chat = subprocess.run(
            [
                sys.executable,
                "-m",
                "bot.cli.main",
                "chat",
                "--as",
                "newcomer",
                "--url",
                f"http://127.0.0.1:{port}/wechat",
                "--fake",
                f"http://127.0.0.1:{fake_port}",
            ],
            input="你好\n/菜单 HELP\n",
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
        )
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert chat.returncode == 0, chat.stderr
    assert chat.stdout.count("发送“绑定 邀请码”") == 2

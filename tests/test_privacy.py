"""The worker's ID number never leaves the application unmasked: not in a reply, a push, a log line, or
anything the database stores (SQLite file bytes, and every row on both databases)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import make_url, text
from sqlmodel import SQLModel

from bot.devtools.fake_wechat import FakeWechatServer
from config.settings import Settings
from storage.db import Database
from tests.conftest import enroll, make_settings
from tests.harness import Chat, Clock, Service, running_service
from tests.test_hardship import BAD_ID, ID_NUMBER, MASKED, file_application

PHONE = "13812345678"


@pytest.fixture
def settings(database_url: str, fake: FakeWechatServer, tmp_path: Path) -> Settings:
    return make_settings(database_url, fake.url, files_dir=tmp_path / "files")


@pytest.fixture
def svc(settings: Settings, db: Database, clock: Clock, caplog: pytest.LogCaptureFixture) -> Iterator[Service]:
    """Logging at DEBUG before the service starts, so even the database engine logs its statements."""
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")  # statements and their parameters
    enroll(db, "chair-1")
    enroll(db, "staff-1", role="staff", enterprise=None)
    with running_service(settings, clock=clock) as running:
        yield running


def everything_stored(db: Database, only: frozenset[str] | None = None) -> str:
    """Every row of every table (or of the tables named), as text."""
    dump: list[str] = []
    with db.transaction() as session:
        for table in SQLModel.metadata.sorted_tables:
            if only is not None and table.name not in only:
                continue
            dump.extend(str(tuple(row)) for row in session.execute(text(f'SELECT * FROM "{table.name}"')))
    return "\n".join(dump)


def sqlite_bytes(database_url: str) -> bytes:
    if not database_url.startswith("sqlite"):
        return b""
    path = Path(str(make_url(database_url).database))
    parts = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-journal")]
    return b"".join(part.read_bytes() for part in parts if part.exists())


def test_no_id_number_appears_unmasked_anywhere(
    svc: Service, db: Database, fake: FakeWechatServer, caplog: pytest.LogCaptureFixture, database_url: str
) -> None:
    chair = Chat(svc.wechat, "chair-1")
    staff = Chat(svc.wechat, "staff-1")
    staff.say("你好")  # inside the 48-hour window: the alert goes out as a full text, not a template
    file_application(chair)
    chair.say("确认")
    receipt = chair.last.split("回执号 ")[1].split("。")[0]
    svc.services.outbox.drain()
    staff.say(f"查看 {receipt}")
    staff.say(f"审核 {receipt} 退回 请补充病历")
    svc.services.outbox.drain()
    chair.say(f"修改申请 {receipt}")
    chair.say("确认")
    staff.say(f"入户 {receipt} 属实")
    staff.say(f"公示 {receipt}")
    chair.say(f"查看 {receipt}")
    svc.services.outbox.drain()

    replies = "\n".join(chair.replies + staff.replies)
    assert MASKED in replies  # the masked form is what people see
    pushed = json.dumps([call.public() for call in fake.state.snapshot()], ensure_ascii=False)
    assert fake.state.texts("staff-1") and fake.state.texts("chair-1")
    assert any(record.name.startswith("sqlalchemy") for record in caplog.records)
    stored = everything_stored(db)
    assert "hardship_application" in str(SQLModel.metadata.tables) and receipt in stored
    raw = sqlite_bytes(database_url)
    for secret in (ID_NUMBER, BAD_ID):
        assert secret not in replies
        assert secret not in pushed
        assert secret not in caplog.text
        assert secret not in stored
        assert secret.encode() not in raw
    # The other sensitive answers are encrypted wherever they are kept: the form, the case, and the replies the
    # inbox stores for WeChat's retries (the summary the chair was shown quotes the household and the phone).
    assert any("尿毒症" in reply for reply in chair.replies)
    kept = everything_stored(db)
    for secret in (PHONE, "尿毒症", "宁波市第一中学"):
        assert secret not in kept
        assert secret.encode() not in raw

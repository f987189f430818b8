"""`unionbot keys rotate`: everything encrypted moves to the new key, after which the service starts with only the new
key and still reads a sealed draft, a hardship ID number, a stored reply and a photo; a second run re-encrypts
nothing."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlmodel import col, select
from typer.testing import CliRunner

from bot.cli.main import app
from bot.devtools.fake_wechat import FakeWechatServer, png_for
from config.settings import Settings, SettingsError, load_settings
from storage import crypto
from storage.db import Database
from storage.models import HardshipApplication
from tests.conftest import enroll, make_settings, stored_bytes
from tests.harness import Chat, Clock, running_service
from tests.test_hardship import ID_NUMBER, MASKED, file_application

runner = CliRunner()
OLD = Fernet.generate_key().decode()
NEW = Fernet.generate_key().decode()
LINK = re.compile(r"https?://\S+(/files/([^?\s]+)\S*)")
KINDS = ("stored replies", "reply pages", "drafts", "submissions", "hardship applications", "files")


def keyed(settings: Settings, key: str) -> Settings:
    return settings.model_copy(update={"data_key": key})


def rotate(settings: Settings, new_key: str = NEW) -> tuple[int, dict[str, int], str]:
    env = {
        "UNIONBOT_DATABASE_URL": settings.database_url,
        "UNIONBOT_FILES_DIR": str(settings.files_dir),
        "UNIONBOT_FILE_STORE": settings.file_store,
        "UNIONBOT_DATA_KEY": settings.data_key,
    }
    result = runner.invoke(app, ["keys", "rotate", "--new-key", new_key], env=env)
    counts = {kind: int(count) for kind, count in re.findall(r"^([a-z ]+): (\d+) re-encrypted$", result.stdout, re.M)}
    return result.exit_code, counts, result.stdout + result.stderr


def applications(db: Database) -> list[HardshipApplication]:
    with db.transaction() as session:
        return list(session.exec(select(HardshipApplication).order_by(col(HardshipApplication.id))).all())


@pytest.fixture(params=["database", "filesystem"])
def settings(request: pytest.FixtureRequest, database_url: str, fake: FakeWechatServer, tmp_path: Path) -> Settings:
    return make_settings(database_url, fake.url, files_dir=tmp_path / "files", file_store=request.param, data_key=OLD)


def test_after_rotation_the_new_key_alone_reads_everything_and_a_second_run_does_nothing(
    settings: Settings, db: Database
) -> None:
    for openid, role, company in (
        ("chair-1", "chair", "宁波示例纺织有限公司"),
        ("chair-2", "chair", "宁波另一家机械有限公司"),
        ("staff-1", "staff", None),
    ):
        enroll(db, openid, role=role, enterprise=company)
    clock = Clock()
    with running_service(settings, clock=clock) as svc:
        first = Chat(svc.wechat, "chair-1")
        file_application(first)
        receipt = re.findall(r"回执号 (H\d+)", first.say("确认"))[0]
        svc.services.outbox.drain()
        staff = Chat(svc.wechat, "staff-1")
        assert "下载链接" in staff.say("导出 帮扶 本月")
        # Another chair stops at the summary: the ID number waits sealed in the draft.
        assert MASKED in file_application(Chat(svc.wechat, "chair-2"), photos=("m-other",))
        asked = svc.wechat.text("staff-1", f"查看 {receipt}", msg_id=424242)
        svc.services.outbox.drain()
    link = LINK.search(asked.content or "")
    assert link is not None
    photo_at_rest = stored_bytes(settings, link[2])

    code, counts, output = rotate(settings)
    assert code == 0, output
    assert list(counts) == list(KINDS)
    assert counts["submissions"] == counts["hardship applications"] == 1
    assert counts["drafts"] == 2  # the filed one is kept a while after 确认; the one at its summary
    assert counts["files"] == 3 and counts["stored replies"] > 10, counts  # 2 photos and an export; every reply
    assert "set UNIONBOT_DATA_KEY to it alone, then the old key can go" in output
    code, again, output = rotate(settings)
    assert code == 0 and again == dict.fromkeys(KINDS, 0), output

    [row] = applications(db)
    assert crypto.decrypt(NEW, row.id_number_enc) == ID_NUMBER and row.id_digest == crypto.digest(NEW, ID_NUMBER)
    with pytest.raises(crypto.Undecryptable):
        crypto.decrypt(OLD, row.id_number_enc)
    assert stored_bytes(settings, link[2]) != photo_at_rest

    with running_service(keyed(settings, NEW), clock=clock) as svc:
        retried = svc.wechat.text("staff-1", f"查看 {receipt}", msg_id=424242)  # WeChat's retry: the stored reply
        assert retried.content == asked.content
        assert "已提交，回执号 H" in Chat(svc.wechat, "chair-2").say("确认")  # the sealed draft opens
        photo = svc.client.get(link[1])
        assert photo.status_code == 200 and photo.content == png_for("m-sign")
    older, newer = applications(db)
    assert crypto.decrypt(NEW, newer.id_number_enc) == ID_NUMBER
    assert newer.duplicate_of == [older.receipt]  # the ID digest was moved to the new key too
    code, last, output = rotate(keyed(settings, NEW))
    assert code == 0 and last == dict.fromkeys(KINDS, 0), output


def test_during_rotation_the_service_reads_old_values_and_writes_new_ones(settings: Settings, db: Database) -> None:
    enroll(db, "chair-1")
    with running_service(settings, clock=Clock()) as svc:
        file_application(Chat(svc.wechat, "chair-1"))  # the draft sealed under the old key
    with running_service(keyed(settings, f"{NEW},{OLD}"), clock=Clock()) as svc:
        assert "已提交，回执号 H" in Chat(svc.wechat, "chair-1").say("确认")
    [row] = applications(db)
    assert crypto.decrypt(NEW, row.id_number_enc) == ID_NUMBER


def test_a_value_no_key_opens_is_named_and_left_alone(settings: Settings, db: Database) -> None:
    enroll(db, "chair-1")
    with running_service(settings, clock=Clock()) as svc:
        file_application(Chat(svc.wechat, "chair-1"), photos=())
    stranger = Fernet.generate_key().decode()
    code, counts, output = rotate(keyed(settings, stranger))
    assert code == 2 and counts["drafts"] == 0
    found = re.search(r"unionbot: (\d+) values no key could open were left as they are \((.*); the first: ", output)
    assert found is not None, output
    assert "drafts 1" in found[2] and f"stored replies {int(found[1]) - 1}" in found[2]


def test_a_wrong_new_key_or_key_ring_is_named(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    code, _, output = rotate(settings, new_key="not-a-key")
    assert code == 2 and "unionbot: --new-key: not a Fernet key" in output
    short = base64.urlsafe_b64encode(b"sixteen bytes!!!").decode()
    monkeypatch.setenv("UNIONBOT_DATA_KEY", f"{NEW},{short}")
    with pytest.raises(SettingsError, match="UNIONBOT_DATA_KEY: key 2 of 2 must decode to 32 bytes"):
        load_settings()
    monkeypatch.setenv("UNIONBOT_DATA_KEY", f"{NEW}, {OLD}")
    assert load_settings().data_key == f"{NEW},{OLD}"

"""Files shared across machines: one file store contract for both backends; two service processes on one database
serve the same photo link; `unionbot files migrate` moves a single machine's files into the database once."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from bot.cli.main import app
from bot.devtools.fake_wechat import FakeWechatServer, png_for
from bot.services import links
from config.settings import Settings
from storage import filestore
from storage.db import Database
from storage.models import FileBlob, StoredFile
from tests.conftest import enroll, make_settings
from tests.harness import NOW, Chat, Clock, running_service
from tests.test_hardship import file_application

runner = CliRunner()
LINK = re.compile(r"https?://\S+/files/(\S+)")


@pytest.fixture(params=["database", "filesystem"])
def store_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def session(db: Database) -> Iterator[Session]:
    with db.transaction() as opened:
        yield opened


class TestFileStore:
    """What every backend promises, on SQLite and PostgreSQL."""

    @pytest.fixture
    def store(self, store_kind: str, session: Session, tmp_path: Path) -> filestore.FileStore:
        if store_kind == "database":
            return filestore.DatabaseFileStore(session)
        return filestore.FilesystemFileStore(tmp_path / "files")

    def test_put_then_get_exists_and_delete(self, store: filestore.FileStore) -> None:
        assert store.get("exports/a.csv") is None and not store.exists("exports/a.csv")
        store.put("exports/a.csv", b"first", NOW)
        store.put("exports/a.csv", b"second", NOW)  # a retry writes the same path again
        assert store.get("exports/a.csv") == b"second" and store.exists("exports/a.csv")
        assert store.delete("exports/a.csv") and not store.delete("exports/a.csv")
        assert store.get("exports/a.csv") is None

    def test_entries_by_prefix_with_size_and_the_time_stored(self, store: filestore.FileStore) -> None:
        store.put("media/hardship-1/x.png.enc", b"12345", NOW)
        store.put("media/warning-2/y.png.enc", b"123", NOW + timedelta(hours=1))
        store.put("documents/summary.md", b"# x", NOW)
        media = list(store.entries("media/"))
        expected = [("media/hardship-1/x.png.enc", 5), ("media/warning-2/y.png.enc", 3)]
        assert [(e.path, e.size) for e in media] == expected
        assert [e.stored_at for e in media] == [NOW, NOW + timedelta(hours=1)]
        assert len(list(store.entries())) == 3 and list(store.entries("media_")) == []

    @pytest.mark.parametrize("path", ["../x", "/etc/passwd", "a//b", "a/./b", "", "a\\b", "media/../../x"])
    def test_a_path_that_could_leave_the_store_names_nothing(self, store: filestore.FileStore, path: str) -> None:
        with pytest.raises(filestore.BadPath):
            store.put(path, b"x", NOW)
        assert store.get(path) is None and not store.exists(path) and not store.delete(path)

    def test_encrypted_paths_are_sealed_at_rest_and_opened_by_load(self, store: filestore.FileStore) -> None:
        key = Settings(_env_file=None).data_key  # type: ignore[call-arg]
        filestore.save(store, key, "media/o/p.png.enc", png_for("m"), NOW)
        filestore.save(store, key, "documents/d.md", b"plain", NOW)
        assert not (store.get("media/o/p.png.enc") or b"").startswith(b"\x89PNG")
        assert filestore.load(store, key, "media/o/p.png.enc") == png_for("m")
        assert store.get("documents/d.md") == b"plain" == filestore.load(store, key, "documents/d.md")


def _machine(database_url: str, fake: FakeWechatServer, folder: Path, store_kind: str) -> Settings:
    return make_settings(database_url, fake.url, files_dir=folder, file_store=store_kind)


def _photo_link(staff: Chat, receipt: str) -> str:
    view = staff.say(f"查看 {receipt}")
    found = LINK.search(view)
    assert found is not None, view
    parts = urlsplit(found[0])
    return f"{parts.path}?{parts.query}"


def _served_by_two_machines(
    database_url: str, fake: FakeWechatServer, tmp_path: Path, db: Database, store_kind: str
) -> tuple[int, int, bytes]:
    """A chair files with photos on machine A, whose worker fetches them; staff open the link on machine B."""
    for openid, role in (("chair-1", "chair"), ("staff-1", "staff")):
        enroll(db, openid, role=role, enterprise=None if role == "staff" else "宁波示例纺织有限公司")
    first = _machine(database_url, fake, tmp_path / "machine-a", store_kind)
    second = _machine(database_url, fake, tmp_path / "machine-b", store_kind)
    with running_service(first, clock=Clock()) as a, running_service(second, clock=Clock()) as b:
        chair = Chat(a.wechat, "chair-1")
        file_application(chair)
        receipt = re.findall(r"回执号 (H\d+)", chair.say("确认"))[0]
        a.services.outbox.drain()
        link = _photo_link(Chat(b.wechat, "staff-1"), receipt)
        on_a, on_b = a.client.get(link), b.client.get(link)
    return on_a.status_code, on_b.status_code, on_b.content


def test_two_service_machines_on_one_database_serve_the_same_photo_link(
    database_url: str, fake: FakeWechatServer, tmp_path: Path, db: Database
) -> None:
    on_a, on_b, photo = _served_by_two_machines(database_url, fake, tmp_path, db, "database")
    assert on_a == on_b == 200 and photo == png_for("m-sign")
    assert not any(path.is_file() for path in tmp_path.rglob("*") if "machine-" in str(path))  # nothing on disk


def test_with_the_filesystem_store_only_the_machine_that_fetched_the_photo_has_it(
    database_url: str, fake: FakeWechatServer, tmp_path: Path, db: Database
) -> None:
    on_a, on_b, _ = _served_by_two_machines(database_url, fake, tmp_path, db, "filesystem")
    assert (on_a, on_b) == (200, 404)


def _cli_env(settings: Settings) -> dict[str, str]:
    return {
        "UNIONBOT_DATABASE_URL": settings.database_url,
        "UNIONBOT_FILES_DIR": str(settings.files_dir),
        "UNIONBOT_DATA_KEY": settings.data_key,
        "UNIONBOT_FILE_STORE": "database",
    }


def test_files_migrate_moves_a_single_machines_files_into_the_database_once(
    database_url: str, fake: FakeWechatServer, tmp_path: Path, db: Database
) -> None:
    alone = _machine(database_url, fake, tmp_path / "files", "filesystem")
    enroll(db, "chair-1")
    enroll(db, "staff-1", role="staff", enterprise=None)
    with running_service(alone, clock=Clock()) as single:
        chair = Chat(single.wechat, "chair-1")
        file_application(chair)
        chair.say("确认")
        single.services.outbox.drain()
        assert "下载链接" in Chat(single.wechat, "staff-1").say("导出 帮扶 本月")
    on_disk = sorted(p.relative_to(alone.files_dir).as_posix() for p in alone.files_dir.rglob("*") if p.is_file())
    assert len(on_disk) == 3 and sum(p.startswith("media/") for p in on_disk) == 2

    first = runner.invoke(app, ["files", "migrate"], env=_cli_env(alone))
    assert first.exit_code == 0, first.output
    assert "copied 3 files into the database (0 were already there)" in first.stdout
    again = runner.invoke(app, ["files", "migrate"], env=_cli_env(alone))
    assert "copied 0 files into the database (3 were already there)" in again.stdout
    with db.transaction() as session:
        blobs = {row.path: row.data for row in session.exec(select(FileBlob).order_by(col(FileBlob.path))).all()}
        photos = session.exec(select(StoredFile.path).order_by(col(StoredFile.id))).all()
    assert sorted(blobs) == on_disk and all(blobs[p] == (alone.files_dir / p).read_bytes() for p in on_disk)

    shared = _machine(database_url, fake, tmp_path / "elsewhere", "database")
    photo = photos[0]
    assert photo is not None
    link = urlsplit(links.signed_url(shared, photo, NOW))
    with running_service(shared, clock=Clock()) as other:
        served = other.client.get(f"{link.path}?{link.query}")
    assert served.status_code == 200 and served.content == png_for("m-sign")


def test_files_migrate_explains_a_missing_folder(database_url: str, fake: FakeWechatServer, tmp_path: Path) -> None:
    settings = _machine(database_url, fake, tmp_path / "nowhere", "database")
    result = runner.invoke(app, ["files", "migrate"], env=_cli_env(settings))
    assert result.exit_code == 2 and f"UNIONBOT_FILES_DIR: no folder {tmp_path / 'nowhere'}" in result.stderr

"""`unionbot backup` and `unionbot restore`: a database with reports, cases and photos comes back whole in a fresh
database (SQLite, and PostgreSQL in a database made for the test), and answers staff's `统计` as before."""

from __future__ import annotations

import re
import tarfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import create_engine, func, make_url, text
from sqlmodel import select
from typer.testing import CliRunner

from bot.cli.main import app
from bot.devtools.fake_wechat import FakeWechatServer, png_for
from config.settings import Settings
from storage.backup import rows_in
from storage.db import Database
from storage.migrate import upgrade
from storage.models import FigureStamp
from tests.conftest import PG_URL, enroll, make_settings
from tests.harness import Chat, Clock, running_service
from tests.test_dispute_warning import file as file_warning
from tests.test_hardship import file_application
from tests.test_monthly_report import walk

runner = CliRunner()
LINK = re.compile(r"https?://\S+(/files/\S+)")


@dataclass(frozen=True)
class Filled:
    """What staff saw in the database before it was backed up."""

    figures: str
    photo_link: str
    rows: dict[str, int]


def env_of(settings: Settings) -> dict[str, str]:
    return {
        "UNIONBOT_DATABASE_URL": settings.database_url,
        "UNIONBOT_FILES_DIR": str(settings.files_dir),
        "UNIONBOT_FILE_STORE": settings.file_store,
        "UNIONBOT_DATA_KEY": settings.data_key,
    }


def fill(settings: Settings, db: Database) -> Filled:
    """A monthly report, a warning and a hardship case with two photos, filed through the chat."""
    enroll(db, "chair-1")
    enroll(db, "warner-1", role="warner")
    enroll(db, "staff-1", role="staff", enterprise=None)
    with running_service(settings, clock=Clock()) as svc:
        chair = Chat(svc.wechat, "chair-1")
        walk(chair, "月报")
        assert "已提交" in chair.say("确认")
        file_warning(Chat(svc.wechat, "warner-1"))
        file_application(chair)
        receipt = re.findall(r"回执号 (H\d+)", chair.say("确认"))[0]
        svc.services.outbox.drain()
        staff = Chat(svc.wechat, "staff-1")
        figures = staff.say("统计")
        link = LINK.search(staff.say(f"查看 {receipt}"))
        assert link is not None
    return Filled(figures, link[1], rows_in(db))


def seen_in(settings: Settings, filled: Filled) -> tuple[str, bytes]:
    """`统计` and the photo, from a service started on `settings`."""
    with running_service(settings, clock=Clock()) as svc:
        figures = Chat(svc.wechat, "staff-1").say("统计")
        photo = svc.client.get(filled.photo_link)
        assert photo.status_code == 200, photo.text
    return figures, photo.content


@pytest.fixture
def fresh_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """A database nobody has used, of the same kind: a new SQLite file, or `test_restore_<random>` on the server."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'restored' / 'unionbot.sqlite3'}"
        return
    assert PG_URL is not None
    name = f"test_restore_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(database_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def settings(database_url: str, fake: FakeWechatServer, tmp_path: Path) -> Settings:
    return make_settings(database_url, fake.url, files_dir=tmp_path / "files")


def test_a_backup_restored_into_a_fresh_database_has_every_row_and_photo_and_the_same_figures(
    settings: Settings, db: Database, fresh_url: str, fake: FakeWechatServer, tmp_path: Path
) -> None:
    filled = fill(settings, db)
    assert filled.rows["monthly_report"] == filled.rows["dispute_warning"] == filled.rows["hardship_application"] == 1
    assert filled.rows["file_blob"] == 2 and "已报 1 份" in filled.figures
    archive = tmp_path / "backups" / "unionbot.tar"
    made = runner.invoke(app, ["backup", "-o", str(archive)], env=env_of(settings))
    assert made.exit_code == 0, made.output
    engine = "postgresql" if db.is_postgres else "sqlite"
    assert f"backed up the {engine} database (files in it) to {archive}" in made.stdout

    elsewhere = make_settings(fresh_url, fake.url, files_dir=tmp_path / "elsewhere")
    restored = runner.invoke(app, ["restore", str(archive)], env=env_of(elsewhere))
    assert restored.exit_code == 0, restored.output
    assert "restored the backup of " in restored.stdout and "db upgrade" not in restored.stdout
    copy = Database(fresh_url)
    try:
        assert rows_in(copy) == filled.rows
    finally:
        copy.dispose()
    figures, photo = seen_in(elsewhere, filled)
    assert figures == filled.figures and photo == png_for("m-sign")
    assert not (tmp_path / "elsewhere").exists()  # the photo came out of the restored database


def test_restore_refuses_a_database_that_holds_data_unless_forced(
    settings: Settings, db: Database, tmp_path: Path
) -> None:
    filled = fill(settings, db)
    archive = tmp_path / "unionbot.tar"
    assert runner.invoke(app, ["backup", "-o", str(archive)], env=env_of(settings)).exit_code == 0
    refused = runner.invoke(app, ["restore", str(archive)], env=env_of(settings))
    assert refused.exit_code == 2
    assert re.fullmatch(
        r"unionbot: the database is not empty \(\d+ rows in \d+ tables, e\.g\. [a-z_, ]+\); "
        r"restoring replaces all of it: add --force to do so\n",
        refused.stderr,
    ), refused.stderr
    db.dispose()
    forced = runner.invoke(app, ["restore", str(archive), "--force"], env=env_of(settings))
    assert forced.exit_code == 0, forced.output
    assert rows_in(db) == filled.rows
    with db.transaction() as session:  # the figure stamps' triggers came back with the tables
        before = session.exec(select(func.sum(FigureStamp.version))).one()
        session.execute(text("UPDATE enterprise SET employees = employees + 1"))
        assert session.exec(select(func.sum(FigureStamp.version))).one() > before


def test_with_the_filesystem_store_the_backup_carries_the_files(
    database_url: str, db: Database, fresh_url: str, fake: FakeWechatServer, tmp_path: Path
) -> None:
    settings = make_settings(database_url, fake.url, files_dir=tmp_path / "files", file_store="filesystem")
    filled = fill(settings, db)
    archive = tmp_path / "unionbot.tar"
    made = runner.invoke(app, ["backup", "-o", str(archive)], env=env_of(settings))
    assert made.exit_code == 0 and f"(2 files from {settings.files_dir})" in made.stdout, made.output
    with tarfile.open(archive) as opened:
        names = opened.getnames()
    assert sum(name.startswith("files/media/") for name in names) == 2 and "manifest.json" in names

    elsewhere = make_settings(fresh_url, fake.url, files_dir=tmp_path / "elsewhere", file_store="filesystem")
    restored = runner.invoke(app, ["restore", str(archive)], env=env_of(elsewhere))
    assert restored.exit_code == 0 and ", 2 files)" in restored.stdout, restored.output
    figures, photo = seen_in(elsewhere, filled)
    assert figures == filled.figures and photo == png_for("m-sign")
    assert urlsplit(filled.photo_link).path.removeprefix("/files/") in {
        p.relative_to(elsewhere.files_dir).as_posix() for p in elsewhere.files_dir.rglob("*.enc")
    }


def test_what_is_not_a_backup_of_this_kind_is_refused_in_one_line(settings: Settings, tmp_path: Path) -> None:
    stray = tmp_path / "notes.txt"
    stray.write_text("hello", encoding="utf-8")
    result = runner.invoke(app, ["restore", str(stray)], env=env_of(settings))
    assert result.exit_code == 2 and result.stderr == f"unionbot: {stray} is not a unionbot backup (not a tar file)\n"
    other = tmp_path / "other.tar"
    with tarfile.open(other, "w") as archive:
        archive.add(stray, arcname="notes.txt")
    result = runner.invoke(app, ["restore", str(other)], env=env_of(settings))
    assert result.stderr == f"unionbot: {other} is not a unionbot backup (it has no manifest.json)\n"


def test_a_sqlite_backup_does_not_go_into_postgresql(
    settings: Settings, db: Database, fake: FakeWechatServer, tmp_path: Path
) -> None:
    if not db.is_postgres:
        pytest.skip("needs PostgreSQL as the target")
    lite = tmp_path / "lite.sqlite3"
    upgrade(f"sqlite:///{lite}")
    archive = tmp_path / "lite.tar"
    source = make_settings(f"sqlite:///{lite}", fake.url, files_dir=tmp_path / "files")
    assert runner.invoke(app, ["backup", "-o", str(archive)], env=env_of(source)).exit_code == 0
    result = runner.invoke(app, ["restore", str(archive)], env=env_of(settings))
    assert result.exit_code == 2
    assert "holds a SQLite database and UNIONBOT_DATABASE_URL is PostgreSQL" in result.stderr

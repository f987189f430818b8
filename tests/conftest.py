"""Fixtures: every storage test runs on SQLite and, when UNIONBOT_TEST_DATABASE_URL is set, on PostgreSQL."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings
from hypothesis.configuration import set_hypothesis_home_dir
from sqlalchemy import create_engine, make_url, text
from sqlmodel import select

from bot.devtools.fake_wechat import FakeWechatServer
from config.settings import Settings
from storage.db import Database
from storage.filestore import StoredEntry, open_store
from storage.migrate import upgrade
from storage.models import Enterprise, Member
from tests.harness import NOW, Clock, Service, running_service

PG_URL = os.environ.get("UNIONBOT_TEST_DATABASE_URL")
TOKEN = "test-token"
APPID = "wx1234567890abcdef"
SECRET = "test-secret"
AES_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
REPOSITORY = Path(__file__).resolve().parents[1]
# What git, Python and the linters keep in the working tree; everything else there is the project's.
NOT_THE_TESTS = frozenset({".git", ".venv", "__pycache__", ".mypy_cache", ".ruff_cache", "unionbot.egg-info"})

# Hypothesis keeps its example database and caches in .hypothesis/ under the working directory. Tests write
# nothing inside the repository: its caches go to a temporary directory removed at exit, and no examples are kept.
_HYPOTHESIS_HOME = tempfile.TemporaryDirectory(prefix="unionbot-hypothesis-")
set_hypothesis_home_dir(_HYPOTHESIS_HOME.name)
hypothesis_settings.register_profile("unionbot", database=None)
hypothesis_settings.load_profile("unionbot")


def _repository_entries() -> set[Path]:
    found: set[Path] = set()
    for folder, subfolders, names in os.walk(REPOSITORY):
        subfolders[:] = [name for name in subfolders if name not in NOT_THE_TESTS]
        found.update(Path(folder, name).relative_to(REPOSITORY) for name in [*subfolders, *names])
    return found


@pytest.fixture(scope="session", autouse=True)
def repository_left_alone() -> Iterator[None]:
    """Tests write under tmp_path only: a file or folder a session leaves in the repository fails it."""
    before = _repository_entries()
    yield
    left = sorted(str(path) for path in _repository_entries() - before)
    assert not left, f"the tests wrote into the repository: {', '.join(left[:10])}"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("schema") / "template.sqlite3"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A database of our own on the test server, migrated once; tables are emptied before each test."""
    if not PG_URL:
        pytest.skip("UNIONBOT_TEST_DATABASE_URL is not set")
    name = f"unionbot_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    yield url
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _empty_tables(url: str) -> None:
    db = Database(url)
    with db.transaction() as session:
        tables = session.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'")
        ).scalars()
        names = ", ".join(f'"{name}"' for name in tables)
        if names:
            session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    db.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "unionbot.sqlite3"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("pg_database")
    _empty_tables(url)
    return url


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    yield database
    database.dispose()


@pytest.fixture(scope="session")
def fake_server() -> Iterator[FakeWechatServer]:
    with FakeWechatServer(APPID, SECRET) as server:
        yield server


@pytest.fixture
def fake(fake_server: FakeWechatServer) -> FakeWechatServer:
    fake_server.state.reset()
    return fake_server


def make_settings(database_url: str, api_base: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "wechat_token": TOKEN,
        "wechat_appid": APPID,
        "wechat_secret": SECRET,
        "wechat_api_base": api_base,
        "wechat_qr_base": api_base,
        "outbox_run_in_service": False,
        "scheduler_run_in_service": False,
        "redis_url": None,
        "wechat_aes_key": None,
        # The most WeChat's five seconds allow: a slow CI machine still answers in the HTTP response.
        "reply_budget_seconds": 4.8,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def stored_bytes(settings: Settings, path: str) -> bytes | None:
    """What the configured file store holds at `path`, as it is at rest (encrypted when the path ends in .enc)."""
    db = Database(settings.database_url)
    try:
        with db.transaction() as session:
            return open_store(settings, session).get(path)
    finally:
        db.dispose()


def stored_entries(settings: Settings, prefix: str = "") -> list[StoredEntry]:
    db = Database(settings.database_url)
    try:
        with db.transaction() as session:
            return list(open_store(settings, session).entries(prefix))
    finally:
        db.dispose()


@pytest.fixture
def settings(database_url: str, fake: FakeWechatServer, tmp_path: Path) -> Settings:
    return make_settings(database_url, fake.url, files_dir=tmp_path / "files")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def service(settings: Settings, clock: Clock) -> Iterator[Service]:
    with running_service(settings, clock=clock) as running:
        yield running


CREDIT_CODES = ("91330201MA2AB1CD04", "91330206MA2GQ0XX1D", "91330203MA2H4LR456")


ON_ROSTER_SINCE = datetime(2024, 1, 1, tzinfo=UTC)


def enroll(db: Database, openid: str, role: str = "chair", enterprise: str | None = "宁波示例纺织有限公司") -> Member:
    """A bound user, made directly in the database (binding itself is tested through the chat)."""
    now = NOW
    with db.transaction() as session:
        company = None
        if enterprise and role in ("chair", "warner"):
            company = session.exec(select(Enterprise).where(Enterprise.name == enterprise)).first()
            if company is None:
                taken = len(session.exec(select(Enterprise)).all())
                company = Enterprise(
                    credit_code=CREDIT_CODES[taken],
                    name=enterprise,
                    employees=120,
                    community="青峙社区",
                    has_union=True,
                    created_at=ON_ROSTER_SINCE,  # long before any month a test files or asks about
                    updated_at=now,
                )
                session.add(company)
                session.flush()
        member = Member(
            openid=openid, role=role, enterprise_id=company.id if company else None, name=openid, bound_at=now
        )
        session.add(member)
    return member

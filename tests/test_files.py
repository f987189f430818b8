"""`GET /files/<path>`: only an unexpired link signed for exactly that path opens a file, and only one the file
store holds (the database by default, or the files folder); encrypted files are decrypted on the way out."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from bot.devtools.fake_wechat import FakeWechatServer, png_for
from bot.services import links
from config.settings import Settings
from storage import filestore
from storage.db import Database
from tests.conftest import make_settings
from tests.harness import NOW, Clock, running_service

PHOTO = "media/hardship-1/abc.png.enc"


@pytest.fixture(params=["database", "filesystem"])
def settings(request: pytest.FixtureRequest, database_url: str, fake: FakeWechatServer, tmp_path: Path) -> Settings:
    return make_settings(database_url, fake.url, files_dir=tmp_path / "files", file_store=request.param)


@pytest.fixture
def client(settings: Settings, db: Database, clock: Clock) -> Iterator[TestClient]:
    """The service's clock stands at NOW, so links below are signed at NOW."""
    with db.transaction() as session:
        store = filestore.open_store(settings, session)
        filestore.save(store, settings.data_key, PHOTO, png_for("m-1"), NOW)
        store.put("exports/report.csv", "企业,人数\n".encode(), NOW)
    settings.files_dir.mkdir(exist_ok=True)
    (settings.files_dir.parent / "secret.txt").write_text("not for download", encoding="utf-8")
    with running_service(settings, clock=clock) as running:
        yield running.client


def relative(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def test_a_signed_link_serves_the_photo_decrypted(client: TestClient, settings: Settings) -> None:
    response = client.get(relative(links.signed_url(settings, PHOTO, NOW)))
    assert response.status_code == 200
    assert response.content == png_for("m-1")
    assert response.headers["content-type"] == "image/png"
    assert 'filename="abc.png"' in response.headers["content-disposition"]


def test_a_plain_file_is_served_as_it_is(client: TestClient, settings: Settings) -> None:
    response = client.get(relative(links.signed_url(settings, "exports/report.csv", NOW)))
    assert response.status_code == 200 and response.content.decode() == "企业,人数\n"


def test_an_expired_link_is_refused(client: TestClient, settings: Settings) -> None:
    issued = NOW - timedelta(minutes=settings.link_ttl_minutes + 1)
    response = client.get(relative(links.signed_url(settings, PHOTO, issued)))
    assert response.status_code == 403 and b"PNG" not in response.content


@pytest.mark.parametrize("tamper", ["signature", "expiry", "path"])
def test_a_tampered_link_is_refused(client: TestClient, settings: Settings, tamper: str) -> None:
    url = relative(links.signed_url(settings, PHOTO, NOW))
    path, query = url.split("?")
    params = dict(item.split("=") for item in query.split("&"))
    if tamper == "signature":
        params["sig"] = params["sig"][:-1] + ("0" if params["sig"][-1] != "0" else "1")
    elif tamper == "expiry":
        params["expires"] = str(int(params["expires"]) + 3600)
    else:
        path = "/files/exports/report.csv"
    response = client.get(path, params=params)
    assert response.status_code == 403


def test_a_link_cannot_leave_the_files_folder(client: TestClient, settings: Settings, db: Database) -> None:
    """Even a correctly signed link for `../secret.txt` finds nothing: paths are resolved inside the folder."""
    for sent, arrives in (
        ("%2e%2e/secret.txt", "../secret.txt"),
        ("media/%2E%2E/%2e%2e/secret.txt", "media/../../secret.txt"),
    ):
        query = urlsplit(links.signed_url(settings, arrives, NOW)).query
        response = client.get(f"/files/{sent}?{query}")
        assert response.status_code == 404, sent
        assert b"not for download" not in response.content
    with db.transaction() as session:
        store = filestore.open_store(settings, session)
        assert store.get("../secret.txt") is None and not store.exists("exports/../../secret.txt")
        assert store.get("exports/report.csv") is not None


def test_a_missing_file_is_not_found(client: TestClient, settings: Settings) -> None:
    response = client.get(relative(links.signed_url(settings, "media/hardship-1/none.png.enc", NOW)))
    assert response.status_code == 404

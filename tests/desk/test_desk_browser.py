"""The desk in a real headless Chromium, as a staff member uses it: 登录 in the chat, the link opened in the browser,
then clicking through the pages. Screenshots go under tmp_path (and to docs/desk/ through `make screenshots`)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By

from bot.devtools.fake_wechat import FakeWechatServer
from config.settings import Settings
from storage.db import Database
from tests import staff_factories as f
from tests.conftest import enroll, make_settings
from tests.desk.browser import PHONE, chromium, free_port, screenshot, serving
from tests.desk.conftest import LINK
from tests.harness import Chat, Clock, Service, running_service


@dataclass
class Desk:
    service: Service
    url: str
    driver: webdriver.Chrome
    shots: Path

    def chat(self, openid: str) -> Chat:
        return Chat(self.service.wechat, openid)

    def sign_in(self, openid: str) -> None:
        """What a staff member does: send 登录, open the link the reply carries."""
        found = LINK.search(self.chat(openid).say("登录"))
        assert found, "no link in the reply to 登录"
        self.driver.get(found[0])

    def click(self, text: str) -> None:
        self.driver.find_element(By.LINK_TEXT, text).click()

    def heading(self) -> str:
        return str(self.driver.find_element(By.TAG_NAME, "h1").text)


@pytest.fixture
def desk(database_url: str, fake: FakeWechatServer, tmp_path: Path, db: Database) -> Iterator[Desk]:
    port = free_port()
    settings: Settings = make_settings(
        database_url, fake.url, files_dir=tmp_path / "files", public_base_url=f"http://127.0.0.1:{port}"
    )
    enroll(db, "staff-li", role="staff")
    with (
        running_service(settings, clock=Clock()) as service,
        serving(service.client.app, port) as url,
        chromium(tmp_path / "chromium") as driver,
    ):
        yield Desk(service, url, driver, tmp_path)


def _seed_october(db: Database) -> None:
    """Three enterprises owe October; two filed (one of them late)."""
    with db.transaction() as session:
        first, second, _third = (f.enterprise(session, name) for name in ("甲纺织", "乙机械", "丙电子"))
        f.report(session, first, "2026-10", submitted_at=datetime(2026, 11, 5, 2, tzinfo=UTC))
        f.report(session, second, "2026-10", submitted_at=datetime(2026, 11, 20, 2, tzinfo=UTC))


def test_staff_sign_in_from_the_chat_and_the_dashboard_agrees_with_统计(desk: Desk, db: Database) -> None:
    _seed_october(db)
    desk.driver.get(f"{desk.url}/desk")
    assert "登录工作台" in desk.heading()
    screenshot(desk.driver, desk.shots, "signin")

    desk.sign_in("staff-li")
    assert desk.heading() == "概览"
    tile = desk.driver.find_element(By.CSS_SELECTOR, "a.tile[href='/desk/reports?month=2026-10']")
    shown = re.search(r"(\d+(?:\.\d)?)%", tile.text)
    stats = desk.chat("staff-li").say("统计 2026年10月")
    said = re.search(r"报送率[^\d]*(\d+(?:\.\d)?)%", stats)
    assert shown and said, (tile.text, stats)
    assert shown[1] == said[1] == "66.6"
    screenshot(desk.driver, desk.shots, "dashboard")

    desk.driver.set_window_size(*PHONE)
    assert desk.driver.find_element(By.CSS_SELECTOR, "nav.menu").is_displayed()
    overflow = desk.driver.execute_script("return document.documentElement.scrollWidth > window.innerWidth + 1")
    assert overflow is False, "the dashboard scrolls sideways at phone width"
    screenshot(desk.driver, desk.shots, "dashboard-phone")


def test_a_used_link_tells_how_to_get_a_new_one(desk: Desk) -> None:
    found = LINK.search(desk.chat("staff-li").say("登录"))
    assert found
    desk.driver.get(found[0])
    assert desk.heading() == "概览"
    desk.driver.delete_all_cookies()
    desk.driver.get(found[0])
    assert "已经用过" in desk.heading()
    assert "重新发送“登录”" in desk.driver.find_element(By.TAG_NAME, "main").text

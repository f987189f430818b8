"""The desk in a real headless Chromium, as a staff member uses it: 登录 in the chat, the link opened in the browser,
then clicking through the pages. Screenshots go under tmp_path (and to docs/desk/ through `make screenshots`)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.expected_conditions import element_to_be_clickable, staleness_of
from selenium.webdriver.support.wait import WebDriverWait
from sqlmodel import select

from bot.devtools.fake_wechat import FakeWechatServer
from config.settings import Settings
from domain.enums import HardshipState, WarningState
from storage.db import Database
from storage.models import DisputeWarning, Enterprise
from tests import staff_factories as f
from tests.conftest import enroll, make_settings
from tests.desk.browser import PHONE, chromium, free_port, screenshot, serving
from tests.desk.conftest import LINK
from tests.harness import Chat, Clock, Service, running_service
from tests.test_dispute_warning import COMPANY, file
from tests.test_hardship import ID_NUMBER, MASKED, file_application, rows


@dataclass
class Desk:
    service: Service
    url: str
    driver: webdriver.Chrome
    shots: Path
    fake: FakeWechatServer
    clock: Clock

    def chat(self, openid: str) -> Chat:
        return Chat(self.service.wechat, openid)

    def sign_in(self, openid: str) -> None:
        """What a staff member does: send 登录, open the link the reply carries."""
        found = LINK.search(self.chat(openid).say("登录"))
        assert found, "no link in the reply to 登录"
        self.driver.get(found[0])

    def click(self, text: str) -> None:
        self._navigate((By.LINK_TEXT, text))

    def heading(self) -> str:
        return str(self.driver.find_element(By.TAG_NAME, "h1").text)

    def press(self, selector: str) -> str:
        """Click a button and return the notice the next page shows (the chat's reply to the same command)."""
        self.submit(selector)
        return str(self.driver.find_element(By.CSS_SELECTOR, "p.notice").text)

    def submit(self, selector: str) -> None:
        self._navigate((By.CSS_SELECTOR, selector))

    def _navigate(self, target: tuple[str, str]) -> None:
        """Click once the page has settled, then wait until the next page has replaced this one and loaded."""
        wait = WebDriverWait(self.driver, 10)
        wait.until(lambda driver: driver.execute_script("return document.readyState") == "complete")
        page = self.driver.find_element(By.TAG_NAME, "html")
        for _ in range(3):
            try:
                wait.until(element_to_be_clickable(target)).click()
                break
            except WebDriverException:  # the element was replaced as it was clicked: again, unless the page moved on
                if staleness_of(page)(self.driver):
                    break
        wait.until(staleness_of(page))
        wait.until(lambda driver: driver.execute_script("return document.readyState") == "complete")

    def shot(self, name: str) -> None:
        screenshot(self.driver, self.shots, name)

    def notices(self, openid: str) -> list[str]:
        """What WeChat delivered to `openid` (customer-service texts and template messages), in order."""
        self.service.services.outbox.drain()
        return [json.dumps(call.body, ensure_ascii=False) for call in self.fake.state.sent(openid)]


@pytest.fixture
def desk(database_url: str, fake: FakeWechatServer, tmp_path: Path, db: Database) -> Iterator[Desk]:
    port = free_port()
    settings: Settings = make_settings(
        database_url, fake.url, files_dir=tmp_path / "files", public_base_url=f"http://127.0.0.1:{port}"
    )
    enroll(db, "staff-li", role="staff")
    clock = Clock()
    with (
        running_service(settings, clock=clock) as service,
        serving(service.client.app, port) as url,
        chromium(tmp_path / "chromium") as driver,
    ):
        yield Desk(service, url, driver, tmp_path, fake, clock)


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


def test_staff_take_a_warning_from_待签收_to_结案_by_clicking(desk: Desk, db: Database) -> None:
    enroll(db, "warner-1", "warner", COMPANY)
    receipt = file(desk.chat("warner-1"), workers="12")
    desk.sign_in("staff-li")
    desk.click("预警")
    assert desk.heading() == "劳动争议预警"
    desk.shot("warnings")
    desk.click(receipt)
    assert receipt in desk.heading()
    desk.shot("warning")
    resolved = "双方达成和解，工资已补发"
    steps = [("acknowledge", ""), ("verify", ""), ("mediate", ""), ("resolve", resolved), ("close", "")]
    for verb, note in steps:
        if note:
            desk.driver.find_element(By.ID, f"note-{verb}").send_keys(note)
        notice = desk.press(f"#act-{verb} button[name=action]")
        assert receipt in notice, notice
    with db.transaction() as session:
        assert session.exec(select(DisputeWarning)).one().state == WarningState.CLOSED
    told = [text for text in desk.notices("warner-1") if receipt in text and "有新进展" in text]
    assert len(told) == len(steps), told
    assert resolved in told[3]


def test_staff_approve_and_pay_a_hardship_application_by_clicking(desk: Desk, db: Database) -> None:
    enroll(db, "chair-1")
    chat = desk.chat("chair-1")
    file_application(chat)
    receipt = re.search(r"回执号 (H\d+)", chat.say("确认"))
    assert receipt
    desk.service.services.outbox.drain()  # the photos are fetched from WeChat
    desk.sign_in("staff-li")
    desk.click("帮扶")
    desk.shot("hardship")
    desk.click(receipt[1])
    assert MASKED in desk.driver.page_source and ID_NUMBER not in desk.driver.page_source
    desk.shot("hardship-case")
    desk.driver.find_element(By.ID, "note-visit").send_keys("已入户，情况属实")
    assert "已入户核实" in desk.press("#act-visit")
    desk.press("#act-notice")
    desk.clock.advance(days=7)  # the public notice runs its course; the desk session (8 hours) with it
    desk.sign_in("staff-li")
    desk.driver.get(f"{desk.url}/desk/hardship/{receipt[1]}")
    assert "当前状态：审批通过" in desk.press("#act-approve")
    assert "发放" in desk.press("#act-pay")
    [row] = rows(db)
    assert row.state == HardshipState.PAID and row.paid_amount == row.approved_amount
    told = "".join(desk.notices("chair-1"))
    assert "审批通过" in told and "已发放" in told


def test_staff_upload_a_roster_preview_it_and_apply_it(desk: Desk, db: Database) -> None:
    roster = desk.shots / "名册.csv"
    roster.write_text(
        "企业名称,统一社会信用代码,职工人数,所属社区,是否建会\n星河科技有限公司,91110108MA01ABCD2H,120,幸福社区,是\n"
        ",91330206MA2GQ0XX1D,45,光明社区,否\n",
        encoding="utf-8",
    )
    desk.sign_in("staff-li")
    desk.click("企业")
    desk.shot("enterprises")
    desk.driver.find_element(By.ID, "roster-file").send_keys(str(roster))
    desk.submit("button[value=预览]")
    page = desk.driver.find_element(By.TAG_NAME, "main").text
    assert "星河科技有限公司" in page and "企业名称未填写" in page
    with db.transaction() as session:
        assert session.exec(select(Enterprise)).all() == []  # nothing until it is applied
    desk.shot("roster-preview")
    desk.press("#apply")
    with db.transaction() as session:
        assert [e.name for e in session.exec(select(Enterprise)).all()] == ["星河科技有限公司"]


def test_every_page_opens_from_the_menu_at_laptop_and_phone_width(desk: Desk, db: Database) -> None:
    _seed_october(db)
    desk.sign_in("staff-li")
    for label, name in (("月报", "reports"), ("数据与总结", "data"), ("人员", "people")):
        desk.click(label)
        assert label in desk.heading(), desk.heading()
        desk.shot(name)
    desk.driver.set_window_size(*PHONE)
    for label in ("概览", "月报", "预警", "帮扶", "企业", "数据与总结", "人员"):
        desk.click(label)
        sideways = desk.driver.execute_script("return document.body.scrollWidth > window.innerWidth + 1")
        assert sideways is False, f"{label} scrolls sideways at phone width"
    desk.shot("people-phone")

"""概览 on the desk: the report rates say what `统计` says for the same month, by 社区 too, over twelve months in a
chart drawn without script, and each number opens the list behind it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import quote

import pytest

from config.settings import Settings
from storage.db import Database
from tests import staff_factories as make
from tests.conftest import enroll
from tests.desk.conftest import sign_in
from tests.harness import Chat, Clock, Service, running_service

QINGZHI, XIAPU = "青峙社区", "霞浦社区"


@pytest.fixture
def svc(settings: Settings, db: Database, clock: Clock) -> Iterator[Service]:
    """The clock is 2026-11-25: October is being collected (due 10 November, passed), September is the one before.

    青峙 has 甲 and 乙, 霞浦 has 丙; 丁 has no union and owes nothing. October: 甲 and 丙 filed; September: all
    three; August: 甲 only.
    """
    enroll(db, "staff-li", role="staff")
    filed = datetime(2026, 11, 5, 2, tzinfo=UTC)
    with db.transaction() as session:
        jia, yi = make.enterprise(session, "甲公司"), make.enterprise(session, "乙公司")
        bing = make.enterprise(session, "丙公司")
        bing.community = XIAPU
        ding = make.enterprise(session, "丁公司", has_union=False)
        ding.community = XIAPU
        for company, months in (
            (jia, ("2026-08", "2026-09", "2026-10")),
            (yi, ("2026-09",)),
            (bing, ("2026-09", "2026-10")),
        ):
            for month in months:
                make.report(session, company, month, submitted_at=filed)
        for state in ("submitted", "submitted", "paid"):
            make.application(session, jia, filed, data_key=settings.data_key, state=state)
    with running_service(settings, clock=clock) as running:
        yield running


def _rate_said(chat: Chat, month: str) -> tuple[str, str, str]:
    """已报, 应报 and 报送率 as `统计 <month>` states them."""
    found = re.search(r"已报 (\d+) 份 / 应报 (\d+) 份，报送率 (\S+?%|—)", chat.say(f"统计 {month}"))
    assert found
    return found[1], found[2], found[3]


def test_the_months_report_rates_are_what_tongji_says(svc: Service) -> None:
    sign_in(svc, "staff-li")
    page = svc.client.get("/desk").text
    chat = Chat(svc.wechat, "staff-li")
    for key, label in (("2026-10", "2026年10月"), ("2026-09", "2026年9月")):
        submitted, due, rate = _rate_said(chat, label)
        tile = re.search(rf'<a class="tile" id="rate-{key}" href="/desk/reports\?month={key}">(.*?)</a>', page, re.S)
        assert tile, key
        assert f'<span class="value">{rate}</span>' in tile[1]
        assert f"已报 {submitted} / 应报 {due}" in tile[1]
    assert _rate_said(chat, "2026年10月") == ("2", "3", "66.6%")


def test_rates_by_community_add_up_and_link_to_their_reports(svc: Service) -> None:
    sign_in(svc, "staff-li")
    table = svc.client.get("/desk").text.split('id="report-by-community"')[1].split("</section>")[0]
    rows = {
        name: re.findall(r'<a href="([^"]+)">([^<]+)</a>\s*<br><span class="muted">(\d+) / (\d+)</span>', body)
        for name, body in re.findall(r'<th scope="row">([^<]+)</th>(.*?)</tr>', table, re.S)
    }
    assert set(rows) == {QINGZHI, XIAPU}
    qingzhi, xiapu = rows[QINGZHI], rows[XIAPU]
    assert qingzhi[0] == (f"/desk/reports?month=2026-10&amp;community={quote(QINGZHI)}", "50.0%", "1", "2")
    assert qingzhi[1] == (f"/desk/reports?month=2026-09&amp;community={quote(QINGZHI)}", "100.0%", "2", "2")
    assert xiapu[0][1:] == ("100.0%", "1", "1")
    # The communities of October add up to what 统计 says for the whole of it.
    submitted, due, _rate = _rate_said(Chat(svc.wechat, "staff-li"), "2026年10月")
    assert sum(int(cells[0][2]) for cells in rows.values()) == int(submitted)
    assert sum(int(cells[0][3]) for cells in rows.values()) == int(due)


def test_the_twelve_month_chart_is_inline_svg_with_the_same_rates(svc: Service) -> None:
    sign_in(svc, "staff-li")
    page = svc.client.get("/desk").text
    chart = page.split('id="report-rate-chart"')[1].split("</section>")[0]
    assert '<svg class="rate-chart"' in chart and 'role="img"' in chart
    assert '<title id="rate-chart-title">近12个月月报报送率</title>' in chart
    assert "<script" not in page and "style=" not in chart
    assert len(re.findall(r'<rect class="bar"', chart)) == 12
    months = re.findall(r'<a href="/desk/reports\?month=(\d{4}-\d{2})">', chart)
    assert months[0] == "2025-11" and months[-1] == "2026-10" and len(months) == 12
    described = dict(re.findall(r"(\d{4}年\d{1,2}月)：([^；<]+)", chart.split("<desc")[1].split("</desc>")[0]))
    chat = Chat(svc.wechat, "staff-li")
    for label in ("2026年10月", "2026年8月", "2025年12月"):
        assert described[label] == _rate_said(chat, label)[2], label
    assert (described["2026年8月"], described["2025年12月"]) == ("33.3%", "0.0%")
    assert described["2025年11月"] == "无应报" and _rate_said(chat, "2025年11月") == (
        "0",
        "0",
        "—",
    )  # not on the roster


def test_applications_by_state_and_overdue_reports_open_their_lists(svc: Service) -> None:
    sign_in(svc, "staff-li")
    page = svc.client.get("/desk").text
    states = page.split('id="applications-by-state"')[1].split("</section>")[0]
    assert re.search(r'href="/desk/hardship\?state=submitted">已提交 <strong>2</strong> 件', states)
    assert re.search(r'href="/desk/hardship\?state=paid">已发放 <strong>1</strong> 件', states)
    assert "state=notice" not in states

    overdue = page.split('id="overdue-reports"')[1].split("</section>")[0]
    assert 'href="/desk/reports?month=2026-10&amp;status=missing"' in overdue
    assert '<span class="value">1</span>' in overdue  # 乙公司 has not filed October
    assert "共 1 家企业未报2026年10月月报" in Chat(svc.wechat, "staff-li").say("未报 2026年10月")

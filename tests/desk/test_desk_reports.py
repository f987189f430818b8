"""月报 on the desk: a month's filed, late and missing reports as `统计` and `未报` count them, a report with its
revisions, and 催报 queued once a day through the outbox."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlmodel import col, select

from bot.devtools.fake_wechat import FakeWechatServer
from config.settings import Settings
from storage.db import Database
from storage.models import Enterprise, MonthlyReport, OutboxMessage
from tests import staff_factories
from tests.conftest import ON_ROSTER_SINCE, enroll
from tests.desk.conftest import sign_in
from tests.harness import Chat, Clock, Service, running_service
from tests.test_monthly_report import file_core

ON_TIME = datetime(2026, 11, 5, 2, 0, tzinfo=UTC)  # October's reports are due by the end of 10 November
MONTH = "2026-10"


@pytest.fixture
def clock() -> Clock:
    return Clock(ON_TIME)


@pytest.fixture
def svc(settings: Settings, db: Database, clock: Clock) -> Iterator[Service]:
    """甲 files on time and corrects it later, 乙 files late, 丙's chair has not filed, 丁 has no chair at all."""
    enroll(db, "staff-li", role="staff")
    for openid, name in (("chair-a", "甲纺织有限公司"), ("chair-b", "乙机械有限公司"), ("chair-c", "丙物流有限公司")):
        enroll(db, openid, enterprise=name)
    with db.transaction() as session:
        company = staff_factories.enterprise(session, "丁餐饮有限公司")
        company.created_at = ON_ROSTER_SINCE
    with running_service(settings, clock=clock) as running:
        first = Chat(running.wechat, "chair-a")
        file_core(first)
        first.say("确认")
        clock.now = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
        late = Chat(running.wechat, "chair-b")
        file_core(late)
        late.say("确认")
        file_core(first)
        first.dialogue([("修改 1", "当前填写：120"), ("125", "请核对")])
        assert "第 2 版" in first.say("确认")
        yield running


def names(page: str) -> list[str]:
    """The enterprises listed in the page's table, in order."""
    table = page.split('id="report-table"', 1)[1].split("</table>", 1)[0]
    return re.findall(r'<a href="/desk/enterprises/\d+">([^<]+)</a>', table)


def test_the_month_page_counts_what_tongji_counts_and_lists_what_weibao_lists(svc: Service) -> None:
    sign_in(svc, "staff-li")
    stats_reply = Chat(svc.wechat, "staff-li").say("统计 2026年10月")
    submitted, due, rate = re.search(r"已报 (\d+) 份 / 应报 (\d+) 份，报送率 (\S+)", stats_reply).groups()  # type: ignore[union-attr]
    on_time = re.search(r"按时报送 (\d+) 份", stats_reply)[1]  # type: ignore[index]
    assert (submitted, due, on_time, rate) == ("2", "4", "1", "50.0%")

    page = svc.client.get("/desk/reports").text  # the month being collected: October
    assert "月报 · 2026年10月" in page
    assert f'id="figure-due">{due}<' in page and f'id="figure-submitted">{submitted}<' in page
    assert f'id="figure-on-time">{on_time}<' in page and f'id="figure-rate">{rate}<' in page
    assert names(page) == ["丁餐饮有限公司", "丙物流有限公司", "乙机械有限公司", "甲纺织有限公司"]

    missing = svc.client.get(f"/desk/reports?month={MONTH}&status=missing").text
    weibao = Chat(svc.wechat, "staff-li").say("未报 2026年10月")
    listed = re.findall(r"^\d+\. (\S+?)（主席", weibao, re.MULTILINE)
    assert names(missing) == listed == ["丁餐饮有限公司", "丙物流有限公司"]
    assert "未绑定" in missing and "chair-c" in missing

    late = svc.client.get(f"/desk/reports?month={MONTH}&status=late").text
    assert names(late) == ["乙机械有限公司"] and "逾期" in late
    filed = svc.client.get(f"/desk/reports?month={MONTH}&status=filed&q=甲").text
    assert names(filed) == ["甲纺织有限公司"] and "按时" in filed and "已修订1次" in filed
    assert "2026-11-05 10:00" in filed  # the first filing, on the federation's clock


def test_a_month_not_yet_collected_owes_nothing(svc: Service) -> None:
    sign_in(svc, "staff-li")
    page = svc.client.get("/desk/reports?month=2026-11").text
    assert "还没有开始收集" in page and names(page) == []
    assert "月报 · 2026年10月" in svc.client.get("/desk/reports?month=2026-13").text


def test_cuibao_queues_one_reminder_to_the_chair_however_often_it_is_clicked(
    svc: Service, db: Database, fake: FakeWechatServer
) -> None:
    csrf = sign_in(svc, "staff-li")
    with db.transaction() as session:
        ids = {e.name: e.id for e in session.exec(select(Enterprise)).all()}
    form = {"csrf": csrf, "enterprise_id": str(ids["丙物流有限公司"]), "month": MONTH}
    first = svc.client.post("/desk/reports/remind", data=form)
    assert "已向“丙物流有限公司”的工会主席 chair-c 发送2026年10月月报催报提醒" in first.text
    second = svc.client.post("/desk/reports/remind", data=form)
    assert "今天已经提醒过 chair-c，不再重复发送" in second.text
    with db.transaction() as session:
        queued = session.exec(select(OutboxMessage).where(OutboxMessage.openid == "chair-c")).all()
        assert [row.idempotency_key for row in queued] == ["remind:2026-10:desk-2026-11-25:chair-c"]
    svc.services.outbox.drain()
    [sent] = fake.state.sent("chair-c")
    assert sent.body and sent.body["data"]["thing1"]["value"] == "月报逾期提醒"  # the scheduled reminder's template
    assert sent.body["data"]["thing4"]["value"] == "已逾期15天"

    nobody = svc.client.post("/desk/reports/remind", data={**form, "enterprise_id": str(ids["丁餐饮有限公司"])})
    assert "还没有绑定工会主席，无法催报" in nobody.text
    filed = svc.client.post("/desk/reports/remind", data={**form, "enterprise_id": str(ids["乙机械有限公司"])})
    assert "已报送2026年10月月报，无需催报" in filed.text
    with db.transaction() as session:
        assert len(session.exec(select(OutboxMessage).where(col(OutboxMessage.openid).like("chair-%"))).all()) == 1
    assert svc.client.post("/desk/reports/remind", data={**form, "enterprise_id": "999"}).status_code == 404
    refused = svc.client.post("/desk/reports/remind", data={**form, "csrf": ""})
    assert refused.status_code == 403


def test_a_report_shows_every_answer_under_the_forms_labels_and_its_revisions(svc: Service, db: Database) -> None:
    sign_in(svc, "staff-li")
    with db.transaction() as session:
        latest = session.exec(
            select(MonthlyReport).where(MonthlyReport.submitted_by == "chair-a", col(MonthlyReport.is_latest))
        ).one()
    page = svc.client.get(f"/desk/reports/{latest.id}").text
    assert "甲纺织有限公司 · 2026年10月月报" in page and "共 2 版" in page
    for label in ("月末职工人数", "月末会员人数", "工资总额（元）", "存在劳动关系隐患", "修订版次", "提交时间"):
        assert f'<th scope="row">{label}</th>' in page, label
    employees = re.search(r'<th scope="row">月末职工人数</th>\s*(.*?)</tr>', page, re.DOTALL)
    assert employees and re.findall(r"<td[^>]*>([^<]*)</td>", employees[1]) == ["125", "120"]
    assert '<td class="mark">125</td>' in page
    assert "2026-11-25 10:00" in page and "2026-11-05 10:00" in page and "600,000.00" in page
    for missing in ("999999", "abc"):
        answer = svc.client.get(f"/desk/reports/{missing}")
        assert answer.status_code == 404 and "没有找到月报" in answer.text

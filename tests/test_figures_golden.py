"""The golden figures: three months of reports, warnings and hardship applications go in through the signed
endpoint as chairs, a warner and staff would send them; the expected figures are worked out here from what was
said (plain arithmetic, not the figures module), and `统计`, the work summary and the 汇总 sheet must all state them."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot.services import summary as work_summary
from config.settings import Settings
from domain.normalize import parse_period
from storage.db import Database
from tests.conftest import enroll, make_settings
from tests.harness import Chat, Clock, Service, running_service
from tests.test_dispute_warning import file as file_warning
from tests.test_hardship import file_application
from tests.test_monthly_report import walk
from tests.test_staff_queries import _download

ZONE_OFFSET = timedelta(hours=8)  # Ningbo
COMPANIES = ("宁波示例纺织有限公司", "宁波另一家机械有限公司", "宁波第三家电子有限公司")
CHAIRS = ("chair-a", "chair-b", "chair-c")
MONTHS = ("2026-07", "2026-08", "2026-09")
# What each chair answers for each month: employees, members, new members, lost members, payroll, remitted.
ANSWERS: dict[tuple[str, str], tuple[int, int, int, int, int, int]] = {
    ("chair-a", "2026-07"): (100, 80, 3, 1, 500000, 4000),
    ("chair-a", "2026-08"): (104, 83, 4, 1, 520000, 4160),
    ("chair-a", "2026-09"): (110, 90, 8, 1, 550000, 4400),
    ("chair-b", "2026-07"): (40, 30, 1, 0, 200000, 1600),
    ("chair-b", "2026-08"): (42, 31, 2, 1, 210000, 1680),
    ("chair-b", "2026-09"): (45, 33, 2, 0, 225000, 1800),
    ("chair-c", "2026-07"): (60, 50, 0, 2, 300000, 2400),
    ("chair-c", "2026-08"): (61, 52, 2, 0, 305000, 2440),
}
LATE = ("chair-b", "2026-09")  # filed on 15 October, after the due day (the 10th)
# chair-c never files September.
PERIOD = "2026年第三季度"


def local(year: int, month: int, day: int, hour: int = 10) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC) - ZONE_OFFSET


@pytest.fixture
def settings(database_url: str, fake: object, tmp_path: Path) -> Settings:
    return make_settings(database_url, fake.url, files_dir=tmp_path / "files")


@pytest.fixture
def svc(settings: Settings, db: Database, clock: Clock) -> Iterator[Service]:
    for chair, company in zip(CHAIRS, COMPANIES, strict=True):
        enroll(db, chair, "chair", company)
    enroll(db, "warner-1", "warner", COMPANIES[0])
    enroll(db, "staff-1", "staff", None)
    with running_service(settings, clock=clock) as running:
        yield running


def file_report(svc: Service, chair: str, month: str) -> None:
    employees, members, new, lost, payroll, remitted = ANSWERS[(chair, month)]
    answers = [
        ("月末职工人数", str(employees)),
        ("月末工会会员人数", str(members)),
        ("本月新入会", str(new)),
        ("本月减少会员", str(lost)),
        ("回复“默认”采用", "默认"),
        ("工资总额是多少", str(payroll)),
        ("上缴（上解）", str(remitted)),
        ("活动几次", "0"),
        ("培训几期", "0"),
        ("劳动争议（纠纷）几件", "0"),
    ]
    chat = Chat(svc.wechat, chair)
    walk(chat, f"月报 {int(month[:4])}年{int(month[5:])}月", answers)
    assert "已提交" in chat.say("确认")


def move(staff: Chat, number: str, *commands: str) -> None:
    for command in commands:
        reply = staff.say(command.format(n=number))
        assert "改为" in reply, reply


def id_number(serial: int) -> str:
    """A resident ID with a valid check digit (GB 11643)."""
    body = f"33021119850312{serial:03d}"
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]


def rate(part: int, whole: int) -> str:
    return str((Decimal(part) * 100 / whole).quantize(Decimal("0.1"), rounding=ROUND_DOWN))


def seed(svc: Service, clock: Clock) -> dict[str, str]:
    """Everything goes in through the chat; returns the receipts of what staff move later."""
    for month in MONTHS:
        year, number = int(month[:4]), int(month[5:])
        clock.now = local(year, number + 1, 5)
        for chair in CHAIRS:
            if (chair, month) in ANSWERS and (chair, month) != LATE:
                file_report(svc, chair, month)
    clock.now = local(2026, 10, 15)
    file_report(svc, *LATE)

    warner, staff = Chat(svc.wechat, "warner-1"), Chat(svc.wechat, "staff-1")
    clock.now = local(2026, 7, 20)
    resolved = file_warning(warner, workers="5", amount="20000")  # 一般, resolved and closed in July
    move(staff, resolved, "签收 {n}", "核实 {n}", "调处 {n}", "化解 {n} 双方达成协议", "回访 {n} 已付清", "结案 {n}")
    clock.now = local(2026, 8, 12)
    failed = file_warning(warner, workers="12")  # 较大, referred to arbitration
    move(staff, failed, "签收 {n}", "核实 {n}", "调处 {n}", "未化解 {n} 转仲裁")
    clock.now = local(2026, 9, 3)
    file_warning(warner, workers="35", amount="150000")  # 重大, still open
    clock.now = local(2026, 9, 25)
    late = file_warning(warner, workers="8")  # 一般, in mediation at the end of September
    move(staff, late, "签收 {n}", "核实 {n}", "调处 {n}")
    clock.now = local(2026, 10, 8)
    move(staff, late, "化解 {n} 十月才达成协议")  # after the period: September does not count it resolved

    chair = Chat(svc.wechat, "chair-a")
    receipts = []
    for serial, day in ((101, 3), (102, 4)):
        clock.now = local(2026, 8, day)
        file_application(chair, id_number(serial))
        reply = chair.say("确认")
        found = re.search(r"回执号 (H\w+)", reply)
        assert found is not None, reply
        receipts.append(found[1])
    paid, approved = receipts
    for receipt in receipts:
        assert "已入户核实" in staff.say(f"入户 {receipt} 情况属实")
        assert "公示期" in staff.say(f"公示 {receipt}")
    clock.now = local(2026, 8, 14)  # both public notices (five working days) have ended
    for receipt in receipts:
        assert "审批通过" in staff.say(f"审核 {receipt} 通过 2000 相对困难")
    clock.now = local(2026, 8, 20)
    assert "发放金额 1,800.00 元" in staff.say(f"发放 {paid} 1800")
    clock.now = local(2026, 11, 25)
    return {"approved": approved}


def test_chat_summary_and_sheet_state_the_figures_of_what_was_said(
    svc: Service, db: Database, clock: Clock, settings: Settings
) -> None:
    seed(svc, clock)
    filed = ANSWERS
    due, submitted = len(CHAIRS) * len(MONTHS), len(filed)
    on_time = submitted - 1
    last = {chair: max(m for c, m in filed if c == chair) for chair in CHAIRS}
    employees = sum(filed[(chair, last[chair])][0] for chair in CHAIRS)
    members = sum(filed[(chair, last[chair])][1] for chair in CHAIRS)
    new_members = sum(answer[2] for answer in filed.values())
    payroll = sum(answer[4] for answer in filed.values())
    accrued = Decimal(payroll) * Decimal("0.02")
    remitted = sum(answer[5] for answer in filed.values())
    received, handled, resolved = 4, 2, 1
    relief_count, relief = 1, Decimal(1800)

    staff = Chat(svc.wechat, "staff-1")
    stats = staff.say(f"统计 {PERIOD}")
    for line in [
        f"已报 {submitted} 份 / 应报 {due} 份，报送率 {rate(submitted, due)}%",
        f"按时报送 {on_time} 份，按时率 {rate(on_time, due)}%",
        f"期末职工人数：{employees} 人",
        f"期末会员人数：{members} 人",
        f"新增会员：{new_members} 人",
        f"工资总额：{payroll:,.2f} 元",
        f"计提经费：{accrued:,.2f} 元",
        f"上缴经费：{remitted:,.2f} 元",
        f"受理 {received} 件，已调处 {handled} 件，已化解 {resolved} 件",
        f"调处率：{rate(handled, received)}%",
        f"成功率：{rate(resolved, handled)}%",
        "期间内申请 2 件",
        f"期间内发放救助 {relief_count} 笔，共 {relief:,.2f} 元",
    ]:
        assert line in stats, line

    with db.transaction() as session:
        period = parse_period(PERIOD, today=clock.now.date())
        text = work_summary.build(session, period, settings, clock.now).markdown
    for words in [
        f"本期应报{due}份",
        f"实报{submitted}份，上报率为{rate(submitted, due)}%",
        f"共接待职工信访{received}件",
        f"成功调处劳资纠纷{resolved}件",
        f"调处率为{rate(handled, received)}%，成功率为{rate(resolved, handled)}%",
        f"新增困难职工2人，发放临时困难救助金{(relief / 10000).quantize(Decimal('0.01'), ROUND_HALF_UP)}万元",
    ]:
        assert words in text, words

    reply = staff.say(f"导出 月报 {PERIOD}")
    sheet = load_workbook(io.BytesIO(_download(svc, reply)))["汇总"]
    row = dict(zip(*sheet.iter_rows(values_only=True), strict=True))
    assert (row["应报（份）"], row["已报（份）"]) == (due, submitted)
    assert f"{row['报送率'] * 100:.1f}" == rate(submitted, due)
    assert f"{row['按时率'] * 100:.1f}" == rate(on_time, due)
    assert Decimal(str(row["工资总额（元）"])) == payroll
    assert Decimal(str(row["上缴经费（元）"])) == remitted
    assert f"{row['成功率'] * 100:.1f}" == rate(resolved, handled)
    assert (row["期末职工人数"], row["期末会员人数"], row["新增会员"]) == (employees, members, new_members)
    assert Decimal(str(row["计提经费（元）"])) == accrued
    assert (row["受理预警（件）"], row["已调处（件）"], row["已化解（件）"]) == (received, handled, resolved)
    assert f"{row['调处率'] * 100:.1f}" == rate(handled, received)
    assert (row["发放救助（笔）"], Decimal(str(row["发放救助金额（元）"]))) == (relief_count, relief)

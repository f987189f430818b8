"""Staff ask by message: 统计, 未报, 预警, 待审, 企业, 导出 — through the real endpoint, checked against the rows."""

from __future__ import annotations

import io
import itertools
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook
from sqlmodel import select

from bot.devtools.fake_wechat import FakeWechatServer
from bot.services.figures import report_totals
from config.settings import Settings
from domain.periods import Month, Period
from storage import stats
from storage.db import Database
from storage.models import AuditLog, Enterprise
from tests import staff_factories as f
from tests.conftest import enroll, make_settings, stored_bytes, stored_entries
from tests.harness import NOW, Chat, Clock, Service, running_service

OCT = datetime(2026, 10, 15, 2, 0, tzinfo=UTC)


@pytest.fixture
def settings(database_url: str, fake: FakeWechatServer, tmp_path: Path) -> Settings:
    return make_settings(database_url, fake.url, files_dir=tmp_path / "files")


@pytest.fixture
def svc(settings: Settings, db: Database) -> Iterator[Service]:
    enroll(db, "staff-1", role="staff", enterprise=None)
    enroll(db, "chair-1")
    enroll(db, "warner-1", role="warner")
    with running_service(settings, clock=Clock()) as running:
        yield running


@pytest.fixture
def staff(svc: Service) -> Chat:
    return Chat(svc.wechat, "staff-1")


def seed_figures(db: Database, settings: Settings) -> None:
    """Three union enterprises (plus enroll's one), reports over Sep/Oct, warnings and hardship in October."""
    with db.transaction() as s:
        a = f.enterprise(s, "甲公司")
        b = f.enterprise(s, "乙公司")
        c = f.enterprise(s, "丙公司")
        f.enterprise(s, "丁公司", has_union=False)
        f.chair(s, c, "陈主席")
        f.report(s, a, "2026-09", employees=90, members=80, new_members=2, payroll=Decimal("100000.50"))
        f.report(s, a, "2026-10", revision=1, latest=False, employees=1, members=1, new_members=99)
        f.report(
            s, a, "2026-10", revision=2, employees=100, members=90, new_members=3, lost_members=1,
            payroll=Decimal("120000.25"), dues_accrued=Decimal("2400.00"), dues_remitted=Decimal("2000.00"),
            activities=2, trainings=1, disputes=1,
        )  # fmt: skip
        f.report(
            s, b, "2026-10", employees=50, members=40, new_members=1, payroll=Decimal("60000"),
            dues_accrued=Decimal("1200"), dues_remitted=Decimal("1200"), activities=1, disputes=2,
        )  # fmt: skip
        f.warning(s, a, OCT, state="resolved", category="工资", level="较大", workers=12, amount="50000")
        f.warning(s, b, OCT, state="closed", category="工资", workers=3, resolved_before=True)
        f.warning(s, b, OCT, state="failed", category="劳动合同", workers=4)
        f.warning(s, c, OCT, state="mediating", category="工伤", workers=1, mediation_started_at=OCT)
        f.warning(s, c, datetime(2026, 9, 30, 2, tzinfo=UTC), state="submitted")  # September: not counted
        f.application(
            s, a, OCT, data_key=settings.data_key, state="paid", paid_amount="2000", paid_on=date(2026, 10, 20)
        )
        f.application(s, b, OCT, data_key=settings.data_key, worker_name="赵六")


def test_non_staff_are_refused(svc: Service, db: Database) -> None:
    for openid in ("chair-1", "warner-1"):
        chat = Chat(svc.wechat, openid)
        for command in ("统计", "未报 上月", "待审", "企业 甲", "导出 月报"):
            assert "只对街道总工会工作人员开放" in chat.say(command), (openid, command)
    stranger = Chat(svc.wechat, "nobody")
    reply = stranger.say("统计")
    assert "还没有绑定" in reply
    assert "月报报送" not in reply
    with db.transaction() as s:
        assert s.exec(select(AuditLog)).all() == []


def test_figures_for_the_current_period(staff: Chat, db: Database, settings: Settings) -> None:
    seed_figures(db, settings)
    reply = staff.say("统计")
    assert "统计期间：2026年10月（未指定期间，按当前报送月份统计" in reply
    # Four union enterprises (enroll's, 甲, 乙, 丙) are due; 甲 and 乙 reported October.
    assert "已报 2 份 / 应报 4 份，报送率 50.0%" in reply
    assert "按时报送 2 份，按时率 50.0%" in reply
    assert "期末职工人数：150 人" in reply  # revision 2 of 甲 (100) + 乙 (50), never revision 1
    assert "期末会员人数：130 人" in reply
    assert "新增会员：4 人" in reply
    assert "减少会员：1 人" in reply
    assert "工资总额：180,000.25 元" in reply
    assert "计提经费：3,600.00 元" in reply
    assert "上缴经费：3,200.00 元" in reply
    assert "应缴" not in reply and "实缴" not in reply  # the form asks 计提 and 上缴
    assert "开展活动：3 次" in reply
    assert "举办培训：1 期" in reply
    assert "劳动争议：3 件" in reply
    assert "受理 4 件，已调处 3 件，已化解 2 件" in reply
    assert "涉及职工 20 人，涉及金额 50,000.00 元" in reply
    assert "工资 2件" in reply and "劳动合同 1件" in reply and "工伤 1件" in reply
    assert "调处中 1件" in reply
    assert "调处率：75.0%（已调处 ÷ 受理）" in reply
    assert "成功率：66.6%（已化解 ÷ 已调处）" in reply  # 2/3 floored, never rounded up
    assert "期间内申请 2 件" in reply
    assert "期间内发放救助 1 笔，共 2,000.00 元" in reply
    assert len(reply.encode()) <= 2000 or "更多" in reply


def test_only_enterprises_on_the_roster_when_a_report_fell_due_owe_it(staff: Chat, db: Database) -> None:
    """应报 for a month counts an enterprise with a union that was on the roster, and not removed, when that
    month's report fell due (the 10th of the next month, end of day Beijing time); 按时 is before that instant."""
    october_due = datetime(2026, 11, 10, 16, tzinfo=UTC)  # 11月11日 00:00 in Beijing
    with db.transaction() as s:
        early = f.enterprise(s, "早报公司")
        late = f.enterprise(s, "迟报公司")
        joined = f.enterprise(s, "新入册公司")
        joined.created_at = october_due  # imported at the deadline: owes November on, not October
        left = f.enterprise(s, "已注销公司")
        left.removed_at = datetime(2026, 10, 20, tzinfo=UTC)  # owed September (due 10 October), not October
        f.report(s, early, "2026-10", submitted_at=october_due - timedelta(seconds=1))
        f.report(
            s, late, "2026-10", latest=False, submitted_at=october_due
        )  # the first revision came at the deadline: late
        f.report(s, late, "2026-10", revision=2, latest=True, submitted_at=october_due)
        f.report(s, joined, "2026-10")  # filed though it did not owe it: not counted
    # enroll's enterprise, 早报 and 迟报 owed October; 已注销 no longer did.
    reply = staff.say("统计 2026年10月")
    assert "已报 2 份 / 应报 3 份，报送率 66.6%" in reply
    assert "按时报送 1 份，按时率 33.3%" in reply
    assert "已报 0 份 / 应报 4 份" in staff.say("统计 2026年9月")  # 已注销 still owed September; 新入册 did not
    assert "新入册公司" not in staff.say("未报 2026年10月")
    assert "应报 0 份" in staff.say("统计 2023年上半年")  # nobody was on the roster then


def test_figures_over_a_quarter_take_stocks_from_the_last_report(staff: Chat, db: Database, settings: Settings) -> None:
    seed_figures(db, settings)
    reply = staff.say("统计 四季度")
    assert "统计期间：2026年第四季度（2026-10-01 至 2026-12-31）" in reply
    assert "已报 2 份 / 应报 4 份" in reply  # November and December are not being collected yet
    reply = staff.say("统计 2026年下半年")
    assert "已报 3 份 / 应报 16 份，报送率 18.7%" in reply  # 4 unions × Jul–Oct
    assert "期末职工人数：150 人" in reply  # 甲's October report, not September's
    assert "新增会员：6 人" in reply  # 2 + 3 + 1


def test_period_end_stocks_mix_the_last_month_and_earlier_last_reports(db: Database, settings: Settings) -> None:
    """甲 and 乙 reported October, 丙 only September: its September figures stand for the period's end."""
    seed_figures(db, settings)
    with db.transaction() as s:
        (c,) = [e for e in s.exec(select(Enterprise)).all() if e.name == "丙公司"]
        f.report(s, c, "2026-09", employees=30, members=20)
    with db.transaction() as s:
        totals = report_totals(s, Period(date(2026, 9, 1), date(2026, 10, 31), "九至十月"), settings, NOW.date())
    assert totals.enterprises == 3
    assert totals.stocks == {"employees": 180, "members": 150}


@pytest.mark.parametrize(
    ("said", "label"),
    [
        ("统计 本月", "2026年11月"),
        ("统计 上月", "2026年10月"),
        ("统计 2024年6月", "2024年6月（2024-06-01 至 2024-06-30）"),
        ("统计 2024-06", "2024年6月"),
        ("统计 6月", "2026年6月"),
        ("统计 一季度", "2026年第一季度"),
        ("统计 上半年", "2026年上半年"),
        ("统计 2024年上半年", "2024年上半年"),
        ("统计 今年", "2026年（2026-01-01 至 2026-12-31）"),
        ("统计 去年", "2025年"),
    ],
)
def test_every_period_form_is_read_and_echoed(staff: Chat, said: str, label: str) -> None:
    assert f"统计期间：{label}" in staff.say(said)


def test_this_month_has_nothing_due_yet(staff: Chat) -> None:
    assert "该期间的月报还没开始报送" in staff.say("统计 本月")
    assert "该期间的月报还没开始报送" in staff.say("未报 本月")


def test_an_unreadable_period_gets_examples(staff: Chat) -> None:
    reply = staff.say("统计 明年春天")
    assert "没看懂统计期间“明年春天”" in reply
    assert "统计 2024年上半年" in reply
    assert "还没开始" in staff.say("未报 2027年")


def test_missing_reports_name_the_chair(staff: Chat, db: Database, settings: Settings) -> None:
    seed_figures(db, settings)
    reply = staff.say("未报")
    assert "共 2 家企业未报2026年10月月报" in reply
    assert "丙公司（主席：陈主席）" in reply
    assert "宁波示例纺织有限公司（主席：chair-1）" in reply
    assert "甲公司" not in reply and "丁公司" not in reply  # reported / no union


def test_missing_months_over_a_longer_period(staff: Chat, db: Database, settings: Settings) -> None:
    seed_figures(db, settings)
    reply = staff.say("未报 2026年下半年")
    assert "共 4 家企业有月份未报（2026年7月至2026年10月，共4个月）" in reply
    assert "甲公司（主席：未绑定）缺 2 个月：2026年7月、2026年8月" in reply
    assert "乙公司（主席：未绑定）缺 3 个月：2026年7月、2026年8月、2026年9月" in reply


def test_a_long_missing_list_is_paged(staff: Chat, db: Database) -> None:
    with db.transaction() as s:
        for i in range(80):
            company = f.enterprise(s, f"第{i:02d}号某某区某某街道长名称示范制造有限责任公司")
            f.chair(s, company, f"主席{i:02d}")
    first = staff.say("未报")
    assert len(first.encode()) <= 2000
    assert "共 81 家企业未报2026年10月月报" in first
    assert "回复“更多”查看下一页" in first
    pages = [first]
    while "回复“更多”" in pages[-1]:
        pages.append(staff.say("更多"))
        assert len(pages[-1].encode()) <= 2000
    text = "\n".join(pages)
    assert all(f"主席{i:02d}" in text for i in range(80))
    assert staff.say("更多") == "没有更多内容了。"


def test_open_warnings_and_a_named_state(staff: Chat, db: Database, settings: Settings) -> None:
    seed_figures(db, settings)
    reply = staff.say("预警")
    assert "【未办结的预警】（已上报、已签收、核实中、调处中）共 2 件" in reply
    assert "丙公司" in reply
    # Mediation started 15 October: 25 November is day 42, past the 15 days.
    assert "调处第42天/共15天" in reply
    assert "已 56 天" in reply  # reported 30 September
    assert "已结案" not in reply
    reply = staff.say("预警 已化解")
    assert "【状态为“已化解”的预警】共 1 件" in reply
    assert "较大 · 工资 · 12人 · 已化解" in reply
    assert "没看懂预警状态“好的”" in staff.say("预警 好的")


def test_chairs_saying_warning_are_not_refused(svc: Service) -> None:
    assert "只对街道总工会工作人员开放" not in Chat(svc.wechat, "chair-1").say("预警")


def test_pending_hardship_shows_masked_ids_never_descriptions(staff: Chat, db: Database, settings: Settings) -> None:
    seed_figures(db, settings)
    reply = staff.say("待审")
    assert "【待审的帮扶申请】共 1 件" in reply
    assert "赵六 330211********4514" in reply
    assert "深度困难 · 申请 3,000.00 元 · 乙公司 · 已提交" in reply
    assert "330211199003074514" not in reply
    assert "尿毒症" not in reply
    assert "王五" not in reply  # already paid
    with db.transaction() as s:
        audit = s.exec(select(AuditLog)).one()
    assert (audit.actor, audit.action, audit.subject) == ("staff-1", "view", "hardship:pending")


def test_one_enterprise(staff: Chat, db: Database, settings: Settings) -> None:
    seed_figures(db, settings)
    with db.transaction() as s:
        code = s.exec(select(f.Enterprise.credit_code).where(f.Enterprise.name == "乙公司")).one()
    reply = staff.say(f"企业 {code.lower()}")
    assert "【乙公司】" in reply
    assert "2026年10月：第1版，2026-10-05 提交，职工 50 人，会员 40 人" in reply
    assert "劳动合同" not in reply  # the failed warning is not open
    assert "赵六 330211********4514 · 深度困难 · 已提交" in reply
    assert "工会主席：未绑定" in reply
    reply = staff.say("企业 丙")
    assert "工会主席：陈主席" in reply
    assert "调处中" in reply
    assert "还没有报过月报" in reply
    assert "名称含“公司”的企业有多家" in staff.say("企业 公司")
    assert "没有找到" in staff.say("企业 不存在的厂")
    assert "请在“企业”后面加上企业名称" in staff.say("企业")


def _download(svc: Service, reply: str) -> bytes:
    """Fetch the signed link; the file route checks it against the service's clock, as the handler signed it."""
    url = re.search(r"http\S+", reply)
    assert url is not None, reply
    parts = urlsplit(url[0])
    response = svc.client.get(f"{parts.path}?{parts.query}")
    assert response.status_code == 200
    return response.content


def test_export_agrees_with_the_figures(svc: Service, staff: Chat, db: Database, settings: Settings) -> None:
    seed_figures(db, settings)
    figures = staff.say("统计 2026年下半年")
    reply = staff.say("导出 月报 2026年下半年")
    assert "月报数据已导出（2026年下半年，共 3 条）" in reply
    workbook = load_workbook(io.BytesIO(_download(svc, reply)))
    assert workbook.sheetnames == ["月报", "汇总"]
    summary = dict(zip(*workbook["汇总"].iter_rows(values_only=True), strict=True))
    # The 汇总 sheet states exactly what 统计 says for the same period (both come from bot.services.figures).
    assert (
        f"已报 {summary['已报（份）']} 份 / 应报 {summary['应报（份）']} 份，报送率 {summary['报送率'] * 100:.1f}%"
        in figures
    )
    assert f"工资总额：{summary['工资总额（元）']:,.2f} 元" in figures
    assert f"成功率：{summary['成功率'] * 100:.1f}%" in figures
    assert workbook["汇总"]["D2"].number_format == "0.0%"
    sheet = workbook.active
    assert sheet is not None
    assert (sheet.title, sheet.freeze_panes) == ("月报", "A2")
    rows = list(sheet.iter_rows(values_only=True))
    headers = list(rows[0])
    assert headers[:3] == ["月份", "企业名称", "统一社会信用代码"]

    def total(header: str) -> Decimal:
        return sum((Decimal(str(row[headers.index(header)] or 0)) for row in rows[1:]), Decimal(0))

    assert f"新增会员：{total('新增会员')} 人" in figures
    assert f"工资总额：{total('工资总额（元）'):,.2f} 元" in figures
    assert f"上缴经费：{total('上缴经费（元）'):,.2f} 元" in figures
    assert f"开展活动：{total('活动次数')} 次" in figures
    assert f"劳动争议：{total('劳动争议（件）')} 件" in figures
    assert "99" not in [str(row[headers.index("新增会员")]) for row in rows[1:]]  # superseded revision left out

    warnings = staff.say("导出 warnings 2026年下半年")
    sheet = load_workbook(io.BytesIO(_download(svc, warnings))).active
    assert sheet is not None
    assert sheet.max_row - 1 == 5
    with db.transaction() as s:
        audits = s.exec(select(AuditLog).where(AuditLog.action == "export")).all()
    assert [(a.actor, a.subject) for a in audits] == [("staff-1", "reports"), ("staff-1", "warnings")]
    exported = stored_entries(settings, "exports/")
    assert len(exported) == 2 and all(entry.path.endswith(".xlsx.enc") for entry in exported)  # encrypted
    assert not any((stored_bytes(settings, entry.path) or b"").startswith(b"PK") for entry in exported)


def test_export_applications_are_masked_and_bad_kinds_explained(
    svc: Service, staff: Chat, db: Database, settings: Settings
) -> None:
    seed_figures(db, settings)
    reply = staff.say("导出 帮扶 上月")
    sheet = load_workbook(io.BytesIO(_download(svc, reply))).active
    assert sheet is not None
    cells = [str(cell) for row in sheet.iter_rows(values_only=True) for cell in row]
    assert "330211********4514" in cells
    assert "330211199003074514" not in cells
    assert "13812345678" not in cells
    assert not any("尿毒症" in cell for cell in cells)
    assert "请这样发：导出 月报" in staff.say("导出 工资")
    assert "没看懂统计期间" in staff.say("导出 月报 很久以前")


@given(st.dates(date(2000, 1, 1), date(2040, 12, 31)), st.integers(0, 400))
def test_months_between_are_consecutive_and_inclusive(start: date, days: int) -> None:
    end = start + timedelta(days=days)
    months = stats.months_between(start, end)
    assert months[0] == f"{start.year:04d}-{start.month:02d}"
    assert months[-1] == f"{end.year:04d}-{end.month:02d}"
    assert len(months) == (end.year - start.year) * 12 + end.month - start.month + 1
    assert all(Month.parse_key(a).shift(1).key == b for a, b in itertools.pairwise(months))


@given(st.integers(1, 10**7), st.data())
def test_rates_are_floored_never_rounded_up(whole: int, data: st.DataObject) -> None:
    part = data.draw(st.integers(0, whole))
    shown = stats.rate(part, whole)
    assert shown is not None
    exact = Fraction(part * 100, whole)
    assert shown <= exact < shown + Decimal("0.1")
    assert stats.rate(part, 0) is None


def test_an_export_too_large_for_a_chat_is_refused(
    staff: Chat, db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_figures(db, settings)
    monkeypatch.setattr("handlers.staff_queries.CHAT_EXPORT_ROWS", 2)
    reply = staff.say("导出 月报 2026年下半年")
    assert "月报数据（2026年下半年）共 3 条，太多了" in reply
    assert "unionbot export reports" in reply
    assert "http" not in reply
    with db.transaction() as s:
        assert s.exec(select(AuditLog)).all() == []


def test_a_chair_filling_a_form_is_answered_by_the_form(svc: Service) -> None:
    chair = Chat(svc.wechat, "chair-1")
    assert "月末职工人数" in chair.say("演示")
    reply = chair.say("统计 上月")
    assert "只对街道总工会工作人员开放" not in reply
    assert "没看懂" in reply
    assert "只对街道总工会工作人员开放" in Chat(svc.wechat, "warner-1").say("统计 上月")

"""The 2024H1 work summary written from a seeded data set: every figure checked against the rows, unknown figures
marked, the docx readable, and `总结` by chat answering staff with working signed links."""

from __future__ import annotations

import io
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import docx
import pytest
from docx.enum.text import WD_COLOR_INDEX
from docx.oxml.ns import qn
from pypdf import PdfReader
from typer.testing import CliRunner

from bot.cli.main import app
from bot.services import document, summary_appendix
from bot.services import summary as work_summary
from bot.services.figures import summary_figures_of
from config.settings import Settings
from docs import render_summary
from domain import timefmt
from domain.enums import Role
from domain.normalize import parse_period
from storage import figures
from storage.db import Database
from storage.models import (
    CaseEvent,
    DisputeWarning,
    DuesExemption,
    Enterprise,
    HardshipApplication,
    Member,
    MonthlyReport,
)
from tests.conftest import enroll, make_settings, stored_entries
from tests.harness import NOW, Chat, Clock, Service, running_service
from tests.staff_factories import submission

ZONE = ZoneInfo("Asia/Shanghai")
H1 = parse_period("2024H1", today=date(2024, 8, 1))
T0 = datetime(2024, 1, 1, tzinfo=UTC)


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=ZONE).astimezone(UTC)


# -- The seeded data set (plain data, so the expected figures can be computed from it independently) --------------

# name, roster employees, has a union
ENTERPRISES = [
    ("甲纺织", 150, True),
    ("乙化工", 80, True),
    ("丙电子", 20, True),
    ("丁机械", 30, True),
    ("戊商贸", 10, False),
    ("己物流", 200, False),
]


@dataclass
class Report:
    enterprise: str
    period: str
    revision: int = 1
    latest: bool = True
    figures: dict[str, Any] | None = None


STOCK_JIA = {
    "employees": 150,
    "has_hardship_fund": True,
    "hardship_fund_balance": Decimal("50000"),
    "has_service_point": True,
    "has_mediation_committee": True,
}
STOCK_YI = {
    "employees": 80,
    "has_hardship_fund": True,
    "hardship_fund_balance": Decimal("12345.67"),
    "has_service_point": False,
    "has_mediation_committee": True,
}
STOCK_BING = {"employees": 30, "has_hardship_fund": False, "has_mediation_committee": False}
# Mutual-aid enrolment is asked in April's report only (config/reporting.yaml): the summary reads it there.
AID = {
    "甲纺织": {"employees": 150, "mutual_aid_in_service": 150, "mutual_aid_ankang": 40, "mutual_aid_special": 20},
    "乙化工": {"employees": 80, "mutual_aid_in_service": 50},
    "丙电子": {"employees": 30, "mutual_aid_in_service": 0},
}


def _reports() -> list[Report]:
    rows: list[Report] = []
    for month in range(1, 7):
        extra: dict[str, Any] = {"festival_visited": 5, "festival_amount": Decimal("2000")} if month == 1 else {}
        stock = {**STOCK_JIA, "card_collected": 60, "card_issued": 30} if month == 6 else {}
        stock = AID["甲纺织"] if month == 4 else stock
        jia = {"dues_accrued": Decimal("3000"), "dues_remitted": Decimal("1200")}
        rows.append(Report("甲纺织", f"2024-{month:02d}", 2 if month == 6 else 1, figures={**jia, **extra, **stock}))
    # An older revision of June: never counted.
    rows.append(Report("甲纺织", "2024-06", 1, latest=False, figures={**STOCK_JIA, "hardship_fund_balance": 99999}))
    for month in range(1, 6):
        yi: dict[str, Any] = {"dues_accrued": Decimal("1000"), "dues_remitted": Decimal("400")}
        if month == 3:
            yi["reelected_this_month"] = True
        stock = {5: STOCK_YI, 4: AID["乙化工"]}.get(month, {})
        rows.append(Report("乙化工", f"2024-{month:02d}", figures={**yi, **stock}))
    rows.append(Report("乙化工", "2024-07", figures={**STOCK_YI, "hardship_fund_balance": Decimal(1)}))
    rows.append(Report("丙电子", "2024-02", figures={"dues_remitted": Decimal("200"), "card_collected": 3}))
    rows.append(Report("丙电子", "2024-04", figures=AID["丙电子"]))
    rows.append(Report("丙电子", "2024-06", figures={"dues_remitted": Decimal("200"), **STOCK_BING}))
    rows.append(Report("丙电子", "2023-12", figures={"card_collected": 100, "card_issued": 50}))
    return rows


REPORTS = _reports()


@dataclass
class Warning:
    created: datetime
    category: str
    workers: int
    amount: str | None
    state: str
    events: tuple[str, ...] = ()


WARNINGS = [
    Warning(local(2024, 2, 10), "工资", 12, "80000", "resolved", ("resolved",)),
    Warning(local(2024, 3, 5), "劳动合同", 5, "20000", "closed", ("resolved", "closed")),
    Warning(local(2024, 4, 1), "工伤", 1, "50000", "failed", ("failed",)),
    Warning(local(2024, 5, 20), "社会保险", 30, None, "follow_up", ("resolved", "follow_up")),
    Warning(local(2024, 6, 25), "工资", 8, "10000", "mediating"),
    Warning(local(2024, 1, 15), "工资", 6, "6000", "closed", ("failed", "closed")),
    Warning(local(2024, 6, 30, 23, 30), "工伤", 2, None, "submitted"),  # 15:30 UTC: still June in Ningbo
    Warning(local(2023, 12, 20), "工资", 3, "3000", "resolved", ("resolved",)),
    Warning(local(2024, 7, 1, 0, 30), "工资", 4, "4000", "submitted"),  # 30 June in UTC, July in Ningbo
]


@dataclass
class Application:
    approved_at: datetime | None
    paid: str | None
    paid_on: date | None


APPLICATIONS = [
    Application(local(2024, 3, 10), "3000", date(2024, 3, 20)),
    Application(local(2024, 6, 1), "2000", date(2024, 7, 5)),
    Application(local(2023, 12, 1), "1500", date(2024, 1, 10)),
    Application(None, None, None),
]

# enterprise, kind, first month, last month, state
EXEMPTIONS = [
    ("丙电子", "免交", "2024-01", "2024-03", "approved"),
    ("乙化工", "缓交", "2024-02", "2024-02", "approved"),
    ("丁机械", "免交", "2024-04", "2024-06", "pending"),
    ("甲纺织", "免交", "2023-01", "2023-12", "approved"),
]

# bound on, deactivated on
WARNERS = [
    (local(2024, 1, 1), None),
    (local(2024, 3, 1), local(2024, 5, 1)),
    (local(2024, 8, 1), None),
    (local(2023, 6, 1), local(2024, 8, 1)),
]


def seed(db: Database, data_key: str) -> None:
    from storage import crypto

    with db.transaction() as session:
        ids: dict[str, int] = {}
        for number, (name, employees, union) in enumerate(ENTERPRISES):
            company = Enterprise(
                credit_code=f"91330206MA2SUM{number:04d}",
                name=name,
                employees=employees,
                has_union=union,
                created_at=T0,
                updated_at=T0,
            )
            session.add(company)
            session.flush()
            assert company.id is not None
            ids[name] = company.id
        for report in REPORTS:
            session.add(
                MonthlyReport(
                    submission_id=submission(session, "seed", ids[report.enterprise]),
                    enterprise_id=ids[report.enterprise],
                    period=report.period,
                    revision=report.revision,
                    is_latest=report.latest,
                    submitted_by="seed",
                    submitted_at=T0,
                    **(report.figures or {}),
                )
            )
        for n, warning in enumerate(WARNINGS):
            row = DisputeWarning(
                submission_id=submission(session, "seed", ids["甲纺织"]),
                receipt=f"W{n}",
                enterprise_id=ids["甲纺织"],
                reporter="seed",
                found_at=warning.created,
                place="厂区",
                category=warning.category,
                workers=warning.workers,
                amount=Decimal(warning.amount) if warning.amount else None,
                description="—",
                demands="—",
                phone="13812345678",
                level="一般",
                computed_level="一般",
                state=warning.state,
                created_at=warning.created,
            )
            session.add(row)
            session.flush()
            assert row.id is not None
            for step, state in enumerate(warning.events):
                at = warning.created + timedelta(days=step + 1)
                session.add(CaseEvent(case_kind="warning", case_id=row.id, to_state=state, actor="staff", at=at))
        for n, application in enumerate(APPLICATIONS):
            hardship = HardshipApplication(
                submission_id=submission(session, "seed", ids["乙化工"]),
                receipt=f"H{n}",
                enterprise_id=ids["乙化工"],
                chair="seed",
                worker_name="王五",
                id_number_enc=crypto.encrypt(data_key, "330211199003074514"),
                id_digest=f"d{n}",
                id_masked="330211********4514",
                phone_enc=crypto.encrypt(data_key, "13812345678"),
                category="深度困难",
                household_enc=crypto.encrypt(data_key, "[]"),
                household_size=3,
                annual_income=Decimal(20000),
                rigid_expenses=Decimal(5000),
                per_capita_monthly=Decimal("416.67"),
                help_kind="临时救助",
                amount_requested=Decimal(3000),
                description_enc=crypto.encrypt(data_key, "—"),
                consent_version="v1",
                consent_at=T0,
                state="paid" if application.paid else "submitted",
                paid_amount=Decimal(application.paid) if application.paid else None,
                paid_on=application.paid_on,
                created_at=T0,
                updated_at=T0,
            )
            session.add(hardship)
            session.flush()
            assert hardship.id is not None
            if application.approved_at:
                session.add(
                    CaseEvent(
                        case_kind="hardship",
                        case_id=hardship.id,
                        to_state="approved",
                        actor="staff",
                        at=application.approved_at,
                    )
                )
        for n, (name, kind, first, last, state) in enumerate(EXEMPTIONS):
            session.add(
                DuesExemption(
                    submission_id=submission(session, "seed", ids[name]),
                    receipt=f"X{n}",
                    enterprise_id=ids[name],
                    kind=kind,
                    first_month=first,
                    last_month=last,
                    reason="亏损",
                    state=state,
                    requested_by="seed",
                    requested_at=T0,
                )
            )
        for n, (bound, gone) in enumerate(WARNERS):
            session.add(
                Member(
                    openid=f"warner-{n}",
                    role=Role.WARNER,
                    enterprise_id=ids["甲纺织"],
                    bound_at=bound,
                    active=gone is None,
                    deactivated_at=gone,
                )
            )


# -- Expected figures, computed from the data set above in plain Python ------------------------------------------


def _in_h1(month: str) -> bool:
    return "2024-01" <= month <= "2024-06"


def _stock_reports() -> list[Report]:
    latest = [r for r in REPORTS if r.latest and _in_h1(r.period)]
    last = {r.enterprise: max(x.period for x in latest if x.enterprise == r.enterprise) for r in latest}
    return [r for r in latest if r.period == last[r.enterprise]]


def _wan(value: Decimal) -> str:
    return str((value / 10000).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _pct(part: int, whole: int) -> str:
    """Rates are floored to one decimal: never claim more than was reached."""
    return str((Decimal(part) * 100 / whole).quantize(Decimal("0.1"), rounding=ROUND_DOWN))


def _card_ytd(year: str, last: str) -> int:
    """5.1服务卡 collected this year up to `last`: the form asks it year to date, so each enterprise's last answer."""
    answered = [r for r in REPORTS if r.latest and r.period[:4] == year and r.period <= last]
    answered = [r for r in answered if (r.figures or {}).get("card_collected") is not None]
    last_of = {r.enterprise: max(x.period for x in answered if x.enterprise == r.enterprise) for r in answered}
    return sum((r.figures or {})["card_collected"] for r in answered if r.period == last_of[r.enterprise])


def expected() -> dict[str, str]:
    start, end = local(2024, 1, 1), local(2024, 7, 1)
    stock = [r.figures or {} for r in _stock_reports()]
    aid = [r.figures or {} for r in REPORTS if r.latest and r.period == "2024-04"]
    flows = [r.figures or {} for r in REPORTS if r.latest and _in_h1(r.period)]
    unionised = sum(1 for _, _, union in ENTERPRISES if union)
    funds = sum(1 for s in stock if s.get("has_hardship_fund"))
    received = [w for w in WARNINGS if start <= w.created < end]
    handled = [w for w in received if w.state in ("resolved", "failed", "referred", "follow_up", "closed")]
    resolved = [w for w in handled if "resolved" in w.events]
    employees = {name: count for name, count, _ in ENTERPRISES}
    large = [r for r in REPORTS if r.latest and _in_h1(r.period) and employees[r.enterprise] >= 25]
    small = [r for r in REPORTS if r.latest and _in_h1(r.period) and employees[r.enterprise] < 25]
    return {
        "组建率": _pct(unionised, len(ENTERPRISES)),
        "已建会": str(unionised),
        "基金企业": str(funds),
        "基金组建率": _pct(funds, unionised),
        "基金总额": _wan(sum((s.get("hardship_fund_balance", Decimal(0)) for s in stock), Decimal(0))),
        "新增困难职工": str(sum(1 for a in APPLICATIONS if a.approved_at and start <= a.approved_at < end)),
        "救助金": _wan(
            sum(
                (
                    Decimal(a.paid)
                    for a in APPLICATIONS
                    if a.paid and a.paid_on and date(2024, 1, 1) <= a.paid_on <= date(2024, 6, 30)
                ),
                Decimal(0),
            )
        ),
        "服务点": str(sum(1 for s in stock if s.get("has_service_point"))),
        "调解委员会": str(sum(1 for s in stock if s.get("has_mediation_committee"))),
        "在职参保": str(sum(s.get("mutual_aid_in_service", 0) for s in aid)),
        "参保单位": str(sum(1 for s in aid if s.get("mutual_aid_in_service", 0) + s.get("mutual_aid_ankang", 0) > 0)),
        "全员参保": str(
            sum(1 for s in aid if s.get("employees") and s.get("mutual_aid_in_service", 0) >= s["employees"])
        ),
        "慰问人数": str(sum(f.get("festival_visited", 0) for f in flows)),
        "换届": str(
            len(
                {
                    r.enterprise
                    for r in REPORTS
                    if r.latest and _in_h1(r.period) and (r.figures or {}).get("reelected_this_month")
                }
            )
        ),
        "今年采集": str(_card_ytd("2024", "2024-06")),
        "累计采集": str(_card_ytd("2023", "2023-12") + _card_ytd("2024", "2024-06")),
        "预警员": str(sum(1 for bound, gone in WARNERS if bound < end and (gone is None or gone >= end))),
        "信访": str(len(received)),
        "成功调处": str(len(resolved)),
        "劳动合同": str(sum(1 for w in resolved if w.category == "劳动合同")),
        "工资纠纷": str(sum(1 for w in resolved if w.category == "工资")),
        "工伤纠纷": str(sum(1 for w in resolved if w.category == "工伤")),
        "其它": str(sum(1 for w in resolved if w.category not in ("劳动合同", "工资", "工伤"))),
        "人次": str(sum(w.workers for w in received)),
        "涉案金额": _wan(sum((Decimal(w.amount) for w in received if w.amount), Decimal(0))),
        "调处率": _pct(len(handled), len(received)),
        "成功率": _pct(len(resolved), len(handled)),
        "计提企业": str(len({r.enterprise for r in large if (r.figures or {}).get("dues_accrued") is not None})),
        "计提": f"{sum(((r.figures or {}).get('dues_accrued', Decimal(0)) for r in large), Decimal(0)):.2f}",
        "上缴区总": f"{sum(((r.figures or {}).get('dues_remitted', Decimal(0)) for r in large), Decimal(0)):.2f}",
        "上解街道": f"{sum(((r.figures or {}).get('dues_remitted', Decimal(0)) for r in small), Decimal(0)):.2f}",
        "免交": str(
            len(
                {
                    e
                    for e, kind, first, last, state in EXEMPTIONS
                    if kind == "免交" and state == "approved" and first <= "2024-06" and last >= "2024-01"
                }
            )
        ),
        "上报率": _pct(len(flows), unionised * 6),
    }


# -- Fixtures ---------------------------------------------------------------------------------------------------


@pytest.fixture
def files_settings(database_url: str, fake: Any, tmp_path: Path) -> Settings:
    return make_settings(database_url, fake.url, files_dir=tmp_path / "files")


@pytest.fixture
def seeded(db: Database, files_settings: Settings) -> Database:
    seed(db, files_settings.data_key)
    return db


def build(db: Database, settings: Settings) -> work_summary.Summary:
    with db.transaction() as session:
        return work_summary.build(session, H1, settings, NOW)


# -- The document ------------------------------------------------------------------------------------------------


def test_every_data_figure_matches_the_seeded_rows(seeded: Database, files_settings: Settings) -> None:
    text = build(seeded, files_settings).markdown
    e = expected()
    assert f"应建会企业{len(ENTERPRISES)}家，已建会{e['已建会']}家，组建率为{e['组建率']}%。" in text
    assert (
        f"已有{e['基金企业']}家企业建立了内部帮困基金，基金组建率为{e['基金组建率']}%，基金总额为{e['基金总额']}万元"
        in text
    )
    assert "报送月报的1家百人以上企业均已建立帮困基金" in text
    assert f"新增困难职工{e['新增困难职工']}人，发放临时困难救助金{e['救助金']}万元" in text
    assert f"已有{e['服务点']}家企业设立职工服务点" in text
    assert f"共慰问困难职工{e['慰问人数']}名，发放慰问金和慰问品2000.00元" in text
    assert f"街道职工医疗互助在职参保{e['在职参保']}人，退休参保【待填：退休参保人数】人" in text
    assert f"共有{e['参保单位']}家单位参保，其中{e['全员参保']}家企业全员参保" in text
    assert f"；完成换届{e['换届']}家" in text
    assert f"今年以来采集信息{e['今年采集']}人" in text and f"累计采集信息{e['累计采集']}人" in text
    assert f"已有{e['调解委员会']}家企业建立劳动争议调解委员会" in text
    assert f"劳动争议预警员{e['预警员']}名" in text
    assert (
        f"共接待职工信访{e['信访']}件，涉及职工{e['人次']}人次，涉案金额{e['涉案金额']}万元；"
        f"成功调处劳资纠纷{e['成功调处']}件，其中劳动合同{e['劳动合同']}件，工资纠纷{e['工资纠纷']}件，"
        f"工伤纠纷{e['工伤纠纷']}件，其它{e['其它']}件；调处率为{e['调处率']}%，成功率为{e['成功率']}%。" in text
    )
    assert (
        f"有{e['计提企业']}家（25人以上）企业工会计提{e['计提']}元，上缴区总40%为{e['上缴区总']}元，"
        f"25人以下上解街道总工会40%为{e['上解街道']}元。另有{e['免交']}家企业因亏损申请免交工会经费" in text
    )
    assert f"上报率为{e['上报率']}%" in text
    # The values themselves, so a wrong data set cannot make this test pass vacuously.
    assert (e["组建率"], e["基金总额"], e["救助金"], e["调处率"], e["成功率"]) == (
        "66.6",
        "6.23",
        "0.45",
        "71.4",
        "60.0",
    )


# Staff entries that open every optional paragraph of 2024H1 (period facts such as names and events included).
STAFF_H1 = {
    "work_basis": "根据区总工会年度工作要点，以年度考核指标为标准",
    "upgraded_communities": "甲社区、乙社区",
    "awarded_model_unions": "3",
    "awarded_advanced_unions": "5",
    "awarded_compliant_unions": "8",
    "skill_competitions": "组织职工开展岗位练兵劳动竞赛",
    "free_training_sessions": "12",
    "onsite_training_enterprises": "9",
    "free_training_participants": "860",
    "bargaining_pilot_areas": "甲社区、乙社区",
    "model_enterprises": "甲纺织有限公司、乙化工有限公司",
    "may_day_event": "企业职工趣味运动会",
    "may_day_teams": "11",
    "fitness_contest_participants": "230",
    "culture_clubs": "14",
    "next_half_plan": "一是继续推进工资集体协商；二是做好困难职工帮扶。",
}


def enter(db: Database, period: str, entries: dict[str, str]) -> None:
    with db.transaction() as session:
        for key, value in entries.items():
            figures.set_figure(session, key, period, value, "", "staff-1", NOW)


def test_reads_like_the_seed_with_words_restored(seeded: Database, files_settings: Settings) -> None:
    enter(seeded, "2024H1", STAFF_H1)
    text = build(seeded, files_settings).markdown
    assert text.startswith("# 2024年小港街道总工会上半年工作总结及下半年计划")
    assert "2024年上半年，小港街道总工会根据区总工会年度工作要点，以年度考核指标为标准，从夯实基层基础建设" in text
    headings = re.findall(r"^## (.+)$", text, flags=re.MULTILINE)
    assert headings == [
        "一、探索新机制，夯实基层基础建设",
        "二、拓展新领域，引领职工建功立业",
        "三、突出新亮点，关怀关爱企业职工",
        "四、搭建新平台，促进企业和谐稳定",
        "五、挖掘新内涵，繁荣企业文化发展",
        "六、加强总工会自身工作",
        "七、下半年工作计划",
        "数据说明",
    ]
    for restored in ("团结带领广大职工", "工会组织作用", "工资集体协商", "职工维权维稳", "劳动争议调解委员会"):
        assert restored in text
    for spun in ("广阔", "法律规范", "进展", "___", "__", "下载后可任意编辑"):
        assert spun not in text
    assert "街道甲社区、乙社区升格为社区总工会" in text
    assert "表彰示范企业工会3家、先进企业工会5家、达标企业工会8家" in text
    assert "以甲社区、乙社区的集体合同暨工资集体协商协议签订为突破口" in text
    assert "《宁波市企业工资集体协商条例》" in text
    assert "街道总工会举办企业职工趣味运动会，11支代表队230名职工参加" in text
    assert "共举办各类职工免费培训12期，到9家企业送学上门，参加培训职工860人次" in text
    # An optional sentence opened by one figure marks the others it needs.
    assert "辖区有企业文化俱乐部14家；上半年新推举【待填：申报星级企业文化俱乐部数】家企业申报" in text
    assert "## 七、下半年工作计划\n\n一是继续推进工资集体协商；二是做好困难职工帮扶。" in text
    assert "调处率 = 本期接待的预警案件中已调处完毕" in text and "成功率 = 其中成功化解的件数 ÷ 调处完毕的件数" in text
    assert "组建率 = 已建会企业数 ÷ 应建会企业数" in text
    assert "统计期间：2024年上半年（2024-01-01至2024-06-30）" in text


def test_figures_nobody_can_know_are_marked_never_zero(db: Database, files_settings: Settings) -> None:
    made = build(db, files_settings)
    body = made.markdown.split("## 数据说明")[0]
    assert "组建率为【待名册：工会组建率】%" in body and "应建会企业" not in body
    assert "基金总额为【待月报：帮困基金总额】万元" in body and "基金组建率" not in body
    assert "上半年新建企业工会【待填：新建企业工会数】家" in body
    assert "共接待职工信访0件。" in body and "调处率" not in body and "成功率" not in body
    assert "联系特约服务商户【待填：特约服务商户数】家" in body
    assert "百人以上" not in body
    assert "新建企业工会数" in made.missing and "退休参保人数" in made.missing
    assert "工会组建率" in made.awaiting and "帮困基金总额" in made.awaiting and "工会组建率" not in made.missing
    assert made.missing.index("新建企业工会数") < made.missing.index("工作计划")
    assert "标有“【待月报】”" in made.markdown and "标有“【待名册】”" in made.markdown


def test_staff_figures_fill_their_blanks_and_the_totals_that_need_them(
    seeded: Database, files_settings: Settings
) -> None:
    enter(
        seeded,
        "2024H1",
        {
            "mutual_aid_retired": "1200",
            "new_unions": "7",
            "strong_protection_enterprises": "12",
            "strong_protection_annual_target": "16",
            "finance_training_enterprises": "36",
            "dues_collection_month": "7",
            "next_half_plan": "一是继续推进工资集体协商；二是做好困难职工帮扶。",
        },
    )
    made = build(seeded, files_settings)
    e = expected()
    total = int(e["在职参保"]) + 1200 + 40 + 20
    assert "上半年新建企业工会7家" in made.markdown
    assert (
        f"街道职工医疗互助参保{total}人，其中在职参保{e['在职参保']}人，退休参保1200人，安康参保40人" in made.markdown
    )
    assert "共有12家企业参加创建活动，年度任务为16家，完成年度任务的75.0%。" in made.markdown
    assert "来自36家企业工会的财务人员" in made.markdown
    assert "7月份收缴2024年1-6月工会经费" in made.markdown
    assert "一是继续推进工资集体协商" in made.markdown
    assert "新建企业工会数" not in made.missing and "工作计划" not in made.missing


# -- What the text may say: only the period's data and staff entries ---------------------------------------------

# Every proper noun, number-word and named campaign the seed states as a fact of its own year.
SEED_FACTS = (
    "三星重工业",
    "高原",
    "技能大师",
    "新安东橡塑",
    "13支",
    "第六名",
    "团体总分",
    "无锡",
    "近千名",
    "十余次",
    "群众路线",
    "青峙",
    "蔚斗",
    "逸盛",
    "新桥",
    "侨泰兴",
    "腾龙",
    "五好示范工会",
    "考核细化指标体系",
    "考核管理办法",
    "三为",
    "节能降耗",
    "自主创新提升",
    "产业结构优化",
    "危化企业",
    "消防技能演练",
    "五型班组",
    "成校",
    "健身操",
    "首届",
    "花样田径",
    "运动会",
    "茶艺",
    "集体婚礼",
    "乒乓球",
    "送图书",
    "文化站",
    "妇联",
    "团工委",
    "沟通会",
    "区总老师",
    "庆祝大会",
    "市级先进服务站",
    "调解分中心",
    "又好又快",
    "五一",
    "学习型示范企业",
    "星级",
    "强保障",
    # and the claims it makes without a figure behind them
    "重大突破",
    "职工代表大会",
    "补助奖励",
    "品牌效应",
    "一站式",
    "实现全覆盖",
    "超额完成",
    "欢迎",
    "年初",
    "去年",
)
# A figure stated as more or less than it is: "66.6%以上", "【待填：…】多家", "近230名", "约12期".
APPROXIMATE = re.compile(r"[\d】]%?(以上|多|余|左右)|(近|约)[\d【]")
YEAR = parse_period("2024年", today=date(2025, 1, 1))


def summary_of(db: Database, settings: Settings, period: str) -> str:
    with db.transaction() as session:
        return work_summary.build(session, parse_period(period, today=date(2025, 1, 1)), settings, NOW).markdown


def unknown_data(db: Database, settings: Settings) -> dict[str, Any]:
    """Every computed figure the summary gets, each unknown (None), as if the data could give none of them."""
    with db.transaction() as session:
        found = summary_figures_of(session, YEAR, settings, date(2025, 1, 1))
    return dict.fromkeys(found.by_key)


def sample(spec: work_summary.StaffFigureSpec, number: int) -> str:
    """A value `数据` accepts for the figure: a month, a number, or a text no template sentence contains."""
    return {"month": str(number % 12 + 1), "number": str(9000 + number)}.get(spec.kind, f"文字{number}号")


def test_a_period_without_data_states_no_fact_of_the_seed(db: Database, files_settings: Settings) -> None:
    text = build(db, files_settings).markdown
    for fact in SEED_FACTS:
        assert fact not in text, fact
    assert not APPROXIMATE.search(text), APPROXIMATE.search(text)
    assert "小港街道总工会" in text  # the federation's name is the deployment's, not a fact of the period


def test_no_figure_is_approximated_whatever_is_known(seeded: Database, files_settings: Settings, db: Database) -> None:
    enter(seeded, "2024H1", STAFF_H1)
    texts = [build(seeded, files_settings).markdown]
    specs = work_summary.summary_config().staff_figures
    everything = {key: sample(spec, n) for n, (key, spec) in enumerate(specs.items())}
    texts.append(work_summary.compose(YEAR, unknown_data(db, files_settings), everything, "-").markdown)
    for text in texts:
        assert not APPROXIMATE.search(text), APPROXIMATE.search(text)
        assert "%以上" not in text
        assert not re.search(r"[^\n]\n(\d+、|## )", text), "paragraphs and headings stand apart"
    assert "组建率为66.6%。" in texts[0]
    assert all(APPROXIMATE.search(bad) for bad in ("保持在66.6%以上", "【待填：数】多家", "近230名", "12余次"))


def test_every_staff_figure_entered_appears_in_the_summary(db: Database, files_settings: Settings) -> None:
    """No staff figure is asked for and then never printed: alone, each opens its sentence in a year's summary."""
    unknown = unknown_data(db, files_settings)
    for n, (key, spec) in enumerate(work_summary.summary_config().staff_figures.items()):
        value = sample(spec, n)
        text = work_summary.compose(YEAR, unknown, {key: value}, "-").markdown
        assert (f"{value}月份" if spec.kind == "month" else value) in text, key
        assert f"【待填：{spec.label}】" not in text


def test_may_day_only_in_a_period_with_may_and_only_when_entered(db: Database, files_settings: Settings) -> None:
    may_day = {"may_day_event": "企业职工趣味运动会", "may_day_teams": "11", "fitness_contest_participants": "230"}
    assert "五一" not in summary_of(db, files_settings, "2024年上半年")
    for period in ("2024H1", "2024-05", "2024Q1", "2024H2"):
        enter(db, period, may_day)
    for period in ("2024年上半年", "2024年5月"):
        text = summary_of(db, files_settings, period)
        assert "组织开展“五一”文体活动。围绕“五一”国际劳动节，街道总工会举办企业职工趣味运动会" in text
        assert "趣味运动会，11支代表队230名职工参加。" in text
        assert "## 四、挖掘新内涵，繁荣企业文化发展" in text  # the section opened, numbered in its turn
    for period in ("2024年一季度", "2024年下半年"):
        text = summary_of(db, files_settings, period)
        assert "五一" not in text and "趣味运动会" not in text and "繁荣企业文化" not in text


def test_festival_visits_only_in_a_period_with_the_festival_months(db: Database, files_settings: Settings) -> None:
    periods = {"2024年上半年": True, "2024年下半年": True, "2024年二季度": False, "2024年8月": False}
    for period, stated in periods.items():
        assert ("元旦春节" in summary_of(db, files_settings, period)) is stated, period


def test_other_periods_are_named_once_in_the_title(db: Database, files_settings: Settings) -> None:
    quarter = summary_of(db, files_settings, "2024年二季度")
    assert quarter.startswith("# 2024年小港街道总工会第二季度工作总结及下一阶段计划")
    assert summary_of(db, files_settings, "2024年").startswith("# 2024年小港街道总工会全年工作总结及明年计划")
    assert "## 五、明年工作计划" in summary_of(db, files_settings, "2024年下半年")


def test_docx_reopens_with_the_same_text(seeded: Database, files_settings: Settings, tmp_path: Path) -> None:
    made = build(seeded, files_settings)
    path = tmp_path / "summary.docx"
    document.write_docx(made.markdown, path)
    lines = [line.lstrip("# ").strip() for line in made.markdown.splitlines() if line.strip()]
    assert document.docx_text(path).splitlines() == lines


def with_attachment(db: Database, settings: Settings, path: Path) -> work_summary.Summary:
    """The summary's Word file as `总结` writes it: the text, then the attachment with the figures and charts."""
    with db.transaction() as session:
        made = work_summary.build(session, H1, settings, NOW)
        appendix = summary_appendix.appendix(session, made, settings, NOW)
    document.write_docx(made.markdown, path, appendix)
    return made


def test_the_attachment_lists_every_figure_with_its_formula_and_source(
    seeded: Database, files_settings: Settings
) -> None:
    made = build(seeded, files_settings)
    config = work_summary.summary_config()
    rows = {row.key: row for row in summary_appendix.rows(made)}
    assert list(rows) == [*config.labels, *config.staff_figures]
    assert set(config.labels) <= set(summary_appendix.notes(config)), "a computed figure without its own note"
    assert all(row.label and row.formula and row.source for row in rows.values())
    e = expected()
    rate = rows["handling_rate"]
    assert (rate.label, rate.value, rate.source) == ("调处率", f"{e['调处率']}%", "劳动争议预警")
    assert rate.formula == "调处完毕的件数 ÷ 本期接待的预警件数 × 100%"
    assert rows["hardship_fund_total"].value == f"{e['基金总额']}万元"
    assert rows["dues_large_enterprises"].formula.startswith("在册职工25人以上")
    assert rows["new_unions"].value == "【待填：新建企业工会数】"  # the summary's mark: staff enter it
    assert rows["new_unions"].source == "工作人员补录（“数据”命令）"
    blank = work_summary.compose(YEAR, unknown_data(seeded, files_settings), {}, "-")
    marked = {row.key: row.value for row in summary_appendix.rows(blank)}
    assert marked["handling_rate"] == "【待月报：调处率】"  # the reports have not given it
    assert marked["union_formation_rate"] == "【待名册：工会组建率】"  # the roster holds no enterprise


def test_the_word_file_ends_with_the_attachment_table_and_two_charts(
    seeded: Database, files_settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "summary.docx"
    made = with_attachment(seeded, files_settings, path)
    word = docx.Document(str(path))
    texts = [paragraph.text for paragraph in word.paragraphs]
    note = texts.index("附件：数据来源及计算方法")
    assert texts[note + 1 : note + 3] == ["附件", "数据来源及计算方法"]
    assert word.paragraphs[note + 1].paragraph_format.page_break_before
    assert texts[-4:] == ["", "图1　各月月报上报率", "", "图2　各月劳动争议预警（按预警等级）"]
    assert len(word.inline_shapes) == 2
    [table] = word.tables
    cells = [[cell.text for cell in row.cells] for row in table.rows]
    assert cells[0] == ["序号", "指标", "数值", "计算方法", "数据来源"]
    assert len(cells) == 1 + len(summary_appendix.rows(made))
    rate = next(row for row in cells if row[1] == "调处率")
    assert rate[2:] == [f"{expected()['调处率']}%", "调处完毕的件数 ÷ 本期接待的预警件数 × 100%", "劳动争议预警"]
    blank = next(row for row in table.rows if row.cells[1].text == "新建企业工会数")
    [run] = blank.cells[2].paragraphs[0].runs
    assert (run.text, run.font.highlight_color) == ("【待填：新建企业工会数】", WD_COLOR_INDEX.YELLOW)
    faces = {
        run._r.rPr.rFonts.get(qn("w:eastAsia")) for row in table.rows for c in row.cells for run in c.paragraphs[0].runs
    }
    assert faces == {"黑体", "仿宋_GB2312"}


@pytest.mark.skipif(
    shutil.which("soffice") is None, reason="LibreOffice (soffice, Debian libreoffice-writer-nogui) is not installed"
)
def test_libreoffice_prints_every_page_on_a4(seeded: Database, files_settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "summary.docx"
    with_attachment(seeded, files_settings, path)
    reader = PdfReader(render_summary.to_pdf(path, tmp_path / "pdf"))
    assert len(reader.pages) > 2
    for page in reader.pages:
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        assert abs(width - 595) <= 1 and abs(height - 842) <= 1, (width, height)
    text = re.sub(r"\s+", "", "".join(page.extract_text() for page in reader.pages))
    assert "2024年小港街道总工会上半年工作总结及下半年计划" in text
    assert f"调处率为{expected()['调处率']}%" in text
    assert "数据来源及计算方法" in text


# -- The CLI -----------------------------------------------------------------------------------------------------

runner = CliRunner()


def test_cli_figures_set_then_summary_shows_it(seeded: Database, database_url: str, tmp_path: Path) -> None:
    env = {"UNIONBOT_DATABASE_URL": database_url}
    result = runner.invoke(app, ["figures", "set", "退休参保人数", "1,200", "--period", "2024H1"], env=env)
    assert result.exit_code == 0, result.output
    assert "mutual_aid_retired 2024H1 = 1200人" in result.output
    listed = runner.invoke(app, ["figures", "list", "--period", "2024H1", "--missing"], env=env)
    with seeded.transaction() as session:
        [row] = figures.list_figures(session, "2024H1")
    assert f"mutual_aid_retired\t1200人\tcli\t{timefmt.minute(row.set_at, ZONE)}" in listed.output
    assert "(missing: 新建企业工会数)" in listed.output
    names = "甲纺织有限公司、乙化工有限公司"
    result = runner.invoke(
        app, ["figures", "set", "【待填：和谐企业重点示范单位】", names, "--period", "2024H1"], env=env
    )
    assert result.exit_code == 0 and f"model_enterprises 2024H1 = {names}" in result.output, result.output
    out = tmp_path / "s.md"
    result = runner.invoke(app, ["summary", "--period", "2024H1", "--format", "md", "-o", str(out)], env=env)
    assert result.exit_code == 0, result.output
    assert "退休参保1200人" in out.read_text(encoding="utf-8")
    assert f"和谐企业创建重点示范单位有{names}。" in out.read_text(encoding="utf-8")
    assert "missing: 新建企业工会数 (unionbot figures set 新建企业工会数 VALUE --period 2024H1)" in result.output
    docx_out = tmp_path / "s.docx"
    result = runner.invoke(app, ["summary", "--period", "2024H1", "--format", "docx", "-o", str(docx_out)], env=env)
    assert result.exit_code == 0, result.output
    assert "退休参保1200人" in document.docx_text(docx_out)
    assert "附件：数据来源及计算方法" in document.docx_text(docx_out)  # the CLI attaches the figures too


def test_cli_refuses_unknown_keys_bad_values_and_periods(db: Database, database_url: str) -> None:
    env = {"UNIONBOT_DATABASE_URL": database_url}
    unknown = runner.invoke(app, ["figures", "set", "nonsense", "1", "--period", "2024H1"], env=env)
    assert unknown.exit_code == 2 and "unknown figure 'nonsense'" in unknown.stderr
    negative = runner.invoke(app, ["figures", "set", "--period", "2024H1", "--", "new_unions", "-3"], env=env)
    assert negative.exit_code == 2 and "negative" in negative.stderr
    month = runner.invoke(app, ["figures", "set", "dues_collection_month", "13", "--period", "2024H1"], env=env)
    assert month.exit_code == 2
    period = runner.invoke(app, ["figures", "set", "new_unions", "3", "--period", "someday"], env=env)
    assert period.exit_code == 2 and "--period" in period.stderr
    with db.transaction() as session:
        assert figures.list_figures(session) == []


# -- 总结 and 数据 by chat -----------------------------------------------------------------------------------------


@pytest.fixture
def svc(seeded: Database, files_settings: Settings) -> Iterator[Service]:
    enroll(seeded, "staff-1", role="staff", enterprise=None)
    enroll(seeded, "chair-1", role="chair", enterprise="甲纺织")
    with running_service(files_settings, clock=Clock()) as running:
        yield running


def _links(reply: str) -> list[str]:
    return re.findall(r"https?://\S+", reply)


def test_staff_get_working_links_to_the_summary(svc: Service) -> None:
    chat = Chat(svc.wechat, "staff-1")
    reply = chat.say("总结 2024年上半年")
    assert "2024年上半年工作总结已生成" in reply
    assert "新建企业工会数" in reply  # what is still to be filled is named
    assert len(reply.encode()) <= 2000
    docx_link, md_link = _links(reply)
    for link in (docx_link, md_link):
        parts = urlsplit(link)
        response = svc.client.get(f"{parts.path}?{parts.query}")
        assert response.status_code == 200
    md = svc.client.get(f"{urlsplit(md_link).path}?{urlsplit(md_link).query}").content.decode()
    assert f"调处率为{expected()['调处率']}%" in md
    docx_bytes = svc.client.get(f"{urlsplit(docx_link).path}?{urlsplit(docx_link).query}").content
    word = docx.Document(io.BytesIO(docx_bytes))
    assert "附件：数据来源及计算方法" in [paragraph.text for paragraph in word.paragraphs]
    assert len(word.tables) == 1 and len(word.inline_shapes) == 2  # the figures and both charts


def test_tampered_or_expired_links_are_refused(svc: Service, files_settings: Settings) -> None:
    link = _links(Chat(svc.wechat, "staff-1").say("总结 2024年上半年"))[0]
    parts = urlsplit(link)
    tampered = parts.query.replace("sig=", "sig=0")
    assert svc.client.get(f"{parts.path}?{tampered}").status_code == 403
    other = parts.path.replace(".docx", ".md")
    assert svc.client.get(f"{other}?{parts.query}").status_code == 403
    from bot.services import links

    old = links.signed_url(
        files_settings, parts.path.removeprefix("/files/"), svc.services.clock() - timedelta(hours=3)
    )
    old_parts = urlsplit(old)
    assert svc.client.get(f"{old_parts.path}?{old_parts.query}").status_code == 403


def test_chairs_and_strangers_are_refused(svc: Service, files_settings: Settings) -> None:
    reply = Chat(svc.wechat, "chair-1").say("总结 上半年")
    assert "只对街道总工会工作人员开放" in reply
    assert "只对街道总工会工作人员开放" in Chat(svc.wechat, "chair-1").say("数据 新建企业工会数 3")
    assert stored_entries(files_settings, "documents/") == []


def test_staff_enter_figures_by_message(svc: Service, seeded: Database) -> None:
    chat = Chat(svc.wechat, "staff-1")
    chat.dialogue(
        [
            ("数据 退休参保人数 一千二百 2024年上半年", "已记录：2024年上半年 退休参保人数 = 1200人"),
            ("数据 new_unions 7 2024H1", "新建企业工会数 = 7家"),
            ("数据 工作计划 一是推进集体协商。二是做好帮扶。", "工作计划（"),
            ("数据 新建企业工会数 很多 2024H1", "没看懂“很多”"),
            ("数据 新建企业工会数 -2 2024H1", "负数"),
            ("数据 收缴月份 7", "没有“收缴月份”这一项"),
            ("数据 新建企业工会数", "请在“新建企业工会数”后面写上数值"),
            ("数据 新建企业工会数 3 明年", "还没开始"),
        ]
    )
    listing = chat.say("数据")
    assert "需人工填写的数据" in listing and "✗ 表彰示范企业工会数：未填" in listing
    earlier = chat.say("数据 2024年上半年")
    assert "2024年上半年需人工填写的数据" in earlier and "✓ 退休参保人数：1200人" in earlier
    with seeded.transaction() as session:
        stored = figures.figures_for(session, "2024H1")
    assert stored["mutual_aid_retired"] == "1200" and stored["new_unions"] == "7"
    reply = chat.say("总结 2024年上半年")
    assert "退休参保人数" not in reply.split("“【待填】”：")[-1]
    md_link = _links(reply)[1]
    md = svc.client.get(f"{urlsplit(md_link).path}?{urlsplit(md_link).query}").content.decode()
    assert "退休参保1200人" in md and "上半年新建企业工会7家" in md


def staff_marks(db: Database, settings: Settings) -> set[str]:
    """Every 【待填：X】 the summary can print: with nothing known, and with each figure alone opening its sentence,
    over a year (every season in)."""
    unknown = unknown_data(db, settings)
    specs = work_summary.summary_config().staff_figures
    variants: list[tuple[dict[str, Any], dict[str, str]]] = [(unknown, {})]
    variants += [(unknown, {key: sample(spec, n)}) for n, (key, spec) in enumerate(specs.items())]
    variants += [({**unknown, key: 1}, {}) for key in unknown]
    marks: set[str] = set()
    for data, staff in variants:
        marks |= set(re.findall(r"【待填：([^】]+)】", work_summary.compose(YEAR, data, staff, "-").markdown))
    return marks


def test_every_mark_the_summary_can_show_is_accepted_by_data(
    svc: Service, seeded: Database, files_settings: Settings
) -> None:
    marks = staff_marks(seeded, files_settings)
    by_label = {spec.label: (key, spec) for key, spec in work_summary.summary_config().staff_figures.items()}
    assert {"新建企业工会数", "退休参保人数", "工作计划", "申报星级企业文化俱乐部数", "五一活动参赛队数"} <= marks
    assert marks <= by_label.keys(), marks - by_label.keys()
    chat = Chat(svc.wechat, "staff-1")
    sent: dict[str, str] = {}
    for n, label in enumerate(sorted(marks)):
        key, spec = by_label[label]
        value = sample(spec, n)
        assert work_summary.staff_spec(label) == (key, spec)  # how `unionbot figures set` finds it too
        assert "已记录" in chat.say(f"数据 {label} {value}"), label
        sent[key] = value
    assert "已记录" in chat.say("数据 【待填：新建企业工会数】 7")  # the mark itself, copied from the document
    sent["new_unions"] = "7"
    half = figures.period_code(date(2026, 7, 1), date(2026, 12, 31))  # the harness clock: November 2026
    with seeded.transaction() as session:
        assert figures.figures_for(session, half) == sent


def test_a_text_entered_by_chat_appears_verbatim(svc: Service) -> None:
    chat = Chat(svc.wechat, "staff-1")
    names = "宁波甲纺织有限公司、宁波乙化工有限公司和宁波丙电子有限公司"
    assert "已记录" in chat.say(f"数据 和谐企业重点示范单位 {names}")
    assert "已记录" in chat.say("数据 升格社区总工会的社区 甲社区、乙社区")
    md_link = _links(chat.say("总结"))[1]
    md = svc.client.get(f"{urlsplit(md_link).path}?{urlsplit(md_link).query}").content.decode()
    assert f"和谐企业创建重点示范单位有{names}。" in md
    assert "下半年，街道甲社区、乙社区升格为社区总工会。" in md


def test_data_lists_every_figure_with_its_value_or_not_entered(svc: Service) -> None:
    chat = Chat(svc.wechat, "staff-1")
    entered = {"mutual_aid_retired": "1200", "model_enterprises": "甲纺织有限公司", "dues_collection_month": "7"}
    specs = work_summary.summary_config().staff_figures
    for key, value in entered.items():
        assert "已记录" in chat.say(f"数据 {specs[key].label} {value}")
    pages = [chat.say("数据")]
    while "回复“更多”" in pages[-1]:
        pages.append(chat.say("更多"))
    listing = "\n".join(pages)
    assert len(pages) > 1 and all(len(page.encode()) <= 2000 for page in pages)
    for key, spec in specs.items():
        if key in entered:
            unit = "" if spec.kind == "text" else spec.unit
            assert f"✓ {spec.label}：{entered[key]}{unit}" in listing, key
        else:
            assert f"✗ {spec.label}：未填" in listing, key
    assert "请在“和谐企业重点示范单位”后面写上内容（企业全称" in chat.say("数据 和谐企业重点示范单位")


def test_bad_period_gets_examples(svc: Service) -> None:
    reply = Chat(svc.wechat, "staff-1").say("总结 某个时候")
    assert "没看懂统计期间“某个时候”" in reply and "总结 2024年上半年" in reply


def test_a_half_year_still_running_counts_due_reports_as_the_stats_query_does(
    seeded: Database, files_settings: Settings
) -> None:
    """On 15 April only January to March have been asked for: the summary and `统计` divide by the same."""
    clock = Clock(local(2024, 4, 15, 10))
    enroll(seeded, "staff-1", role="staff", enterprise=None)
    with running_service(files_settings, clock=clock) as running:
        reply = Chat(running.wechat, "staff-1").say("统计 2024年上半年")
    found = re.search(r"已报 (\d+) 份 / 应报 (\d+) 份，报送率 ([\d.]+)%", reply)
    assert found, reply
    submitted, due, rate = found.groups()
    unionised = sum(1 for _, _, union in ENTERPRISES if union)
    assert int(due) == unionised * 3
    with seeded.transaction() as session:
        text = work_summary.build(session, H1, files_settings, clock()).markdown
    assert f"本期应报{due}份" in text and f"实报{submitted}份，上报率为{rate}%" in text

"""`unionbot export …`: one row per record with Chinese headers, masked IDs unless an admin unmasks, always audited."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from sqlmodel import col, select
from typer.testing import CliRunner

from bot.cli.main import app
from bot.dialog.forms import load_forms
from bot.services import export
from bot.services.export import Column, ColumnKind, ExportKind, Table
from config.settings import Settings
from domain.enums import Role
from storage import stats
from storage.db import Database, utcnow
from storage.identity import add_staff
from storage.models import AuditLog, Member
from tests import staff_factories as f
from tests.conftest import make_settings
from tests.harness import NOW

runner = CliRunner()
JUNE = datetime(2024, 6, 10, 2, tzinfo=UTC)
ID_NUMBER = "330211199003074514"


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url, "http://127.0.0.1:1")


@pytest.fixture
def env(database_url: str) -> dict[str, str]:
    return {"UNIONBOT_DATABASE_URL": database_url}


@pytest.fixture
def seeded(db: Database, settings: Settings) -> None:
    with db.transaction() as s:
        a = f.enterprise(s, "甲公司", code="91330200MA00000001")
        b = f.enterprise(s, "乙公司", code="91330200MA00000002")
        f.report(s, a, "2024-06", revision=1, latest=False, employees=1, payroll=1)
        f.report(s, a, "2024-06", revision=2, employees=100, members=90, payroll=120000, disputes=1)
        f.report(s, b, "2024-06", employees=50, members=40, payroll=60000)
        f.report(s, b, "2024-07", employees=51, members=41)
        f.warning(s, a, JUNE, state="mediating", category="工资", workers=8, amount="12000.50")
        f.application(s, b, JUNE, data_key=settings.data_key, id_number=ID_NUMBER, worker_name="赵六")
        add_staff(s, "admin-1", name="管理员", admin=True, now=NOW)
        add_staff(s, "staff-1", name="干事", admin=False, now=NOW)


def _audits(db: Database) -> list[AuditLog]:
    with db.transaction() as s:
        return list(s.exec(select(AuditLog).order_by(col(AuditLog.id))).all())


@pytest.mark.usefixtures("seeded")
def test_reports_xlsx_has_latest_revisions_with_names_and_codes(
    tmp_path: Path, env: dict[str, str], db: Database
) -> None:
    out = tmp_path / "reports.xlsx"
    result = runner.invoke(app, ["export", "reports", "--period", "2024年6月", "-o", str(out)], env=env)
    assert result.exit_code == 0, result.output
    assert "2 rows (2024年6月)" in result.output
    sheet = load_workbook(out).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    headers = list(rows[0])
    assert headers[:5] == ["月份", "企业名称", "统一社会信用代码", "修订版次", "提交时间"]
    body = [dict(zip(headers, row, strict=True)) for row in rows[1:]]
    assert [(r["企业名称"], r["统一社会信用代码"], r["修订版次"]) for r in body] == [
        ("甲公司", "91330200MA00000001", 2),
        ("乙公司", "91330200MA00000002", 1),
    ]
    assert sum(r["月末职工人数"] for r in body) == 150
    audit = _audits(db)[-1]
    assert (audit.actor, audit.action, audit.subject) == ("cli", "export", "reports")
    assert "2024年6月 xlsx rows=2 unmasked=False" in audit.detail


@pytest.mark.usefixtures("seeded")
def test_warnings_csv_opens_in_excel(tmp_path: Path, env: dict[str, str]) -> None:
    out = tmp_path / "warnings.csv"
    result = runner.invoke(
        app, ["export", "warnings", "--period", "2024-06", "--format", "csv", "-o", str(out)], env=env
    )
    assert result.exit_code == 0, result.output
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert len(rows) == 1
    assert rows[0]["企业名称"] == "甲公司"
    assert rows[0]["状态"] == "调处中"
    assert rows[0]["涉及金额（元）"] == "12000.50"
    assert rows[0]["上报时间"] == "2024-06-10 10:00:00"  # local time


@pytest.mark.usefixtures("seeded")
def test_applications_are_masked_unless_an_admin_unmasks(tmp_path: Path, env: dict[str, str], db: Database) -> None:
    masked = tmp_path / "masked.csv"
    args = ["export", "applications", "--period", "2024年上半年", "--format", "csv"]
    assert runner.invoke(app, [*args, "-o", str(masked)], env=env).exit_code == 0
    text = masked.read_text(encoding="utf-8-sig")
    assert "330211********4514" in text and ID_NUMBER not in text
    assert "尿毒症" not in text

    refused = runner.invoke(app, [*args, "-o", str(tmp_path / "x.csv"), "--unmask"], env=env)
    assert refused.exit_code == 2
    assert "--unmask needs --admin" in refused.stderr
    refused = runner.invoke(app, [*args, "-o", str(tmp_path / "x.csv"), "--unmask", "--admin", "staff-1"], env=env)
    assert refused.exit_code == 2
    assert "not an active administrator" in refused.stderr
    assert not (tmp_path / "x.csv").exists()

    full = tmp_path / "full.csv"
    result = runner.invoke(app, [*args, "-o", str(full), "--unmask", "--admin", "admin-1"], env=env)
    assert result.exit_code == 0, result.output
    assert ID_NUMBER in full.read_text(encoding="utf-8-sig")
    audits = [(a.actor, a.subject, "unmasked=True" in a.detail) for a in _audits(db)]
    assert audits == [("cli", "applications", False), ("admin-1", "applications", True)]


@pytest.mark.usefixtures("seeded")
def test_an_unreadable_period_is_refused(tmp_path: Path, env: dict[str, str], db: Database) -> None:
    result = runner.invoke(app, ["export", "reports", "--period", "很久以前", "-o", str(tmp_path / "r.xlsx")], env=env)
    assert result.exit_code == 2
    assert "--period: cannot read '很久以前'" in result.stderr
    assert _audits(db) == []


def test_default_period_is_the_reporting_month(tmp_path: Path, env: dict[str, str]) -> None:
    result = runner.invoke(app, ["export", "reports", "-o", str(tmp_path / "r.xlsx")], env=env)
    assert result.exit_code == 0, result.output
    # The CLI reads the wall clock at its start (it has no clock to hand in), and so does this expectation.
    today = utcnow().astimezone(make_settings("sqlite://", "http://x").zone).date()
    previous = date(today.year - (today.month == 1), (today.month - 2) % 12 + 1, 1)
    assert f"0 rows ({previous.year}年{previous.month}月)" in result.output


# -- Typed, fitted workbooks that name people, never their openids --------------------------------------------

CHAIR = "oABC1chairZhangSan0000000000"
WARNER = "oABC2warnerNoName00000000000"
PHONE = "13812345678"
# Every monthly report field, the seasonal and care sections included.
FULL_REPORT: dict[str, Any] = {
    "employees": 300,
    "members": 200,
    "new_members": 5,
    "lost_members": 1,
    "payroll": Decimal("1234567.80"),
    "dues_accrued": Decimal("24691.36"),
    "dues_remitted": Decimal("24000"),
    "activities": 2,
    "activity_participants": 150,
    "trainings": 1,
    "training_participants": 40,
    "disputes": 4,
    "disputes_contract": 1,
    "disputes_wage": 2,
    "disputes_injury": 1,
    "disputes_other": 0,
    "dispute_workers": 9,
    "dispute_amount": Decimal("56000"),
    "disputes_settled": 3,
    "has_risk": True,
    "hardship_workers": 3,
    "care_visits": 6,
    "care_amount": Decimal("3000"),
    "has_hardship_fund": True,
    "hardship_fund_balance": Decimal("20000"),
    "hardship_fund_paid": Decimal("1500"),
    "hardship_fund_aided": 2,
    "has_service_point": False,
    "has_mediation_committee": True,
    "mutual_aid_in_service": 280,
    "mutual_aid_ankang": 120,
    "mutual_aid_special": 90,
    "festival_visited": 4,
    "festival_amount": Decimal("2000"),
    "card_collected": 30,
    "card_issued": 25,
    "collective_contract_signed": True,
    "collective_contract_expires": date(2027, 6, 30),
    "union_term_expires": date(2028, 3, 31),
    "reelected_this_month": False,
    "remarks": "开展夏送清凉活动",
}


@pytest.fixture
def full(db: Database, settings: Settings) -> None:
    """One record of each kind, every field filled, filed by members whose openids look like WeChat's."""
    with db.transaction() as s:
        company = f.enterprise(s, "丙公司", code="91330200MA00000003")
        s.add(Member(openid=CHAIR, role=Role.CHAIR, enterprise_id=company.id, name="张三", bound_at=NOW))
        s.add(Member(openid=WARNER, role=Role.WARNER, enterprise_id=company.id, name="", bound_at=NOW))
        f.report(s, company, "2024-06", submitted_by=CHAIR, **FULL_REPORT)
        warning = f.warning(s, company, JUNE, state="mediating", amount="12000.50", reporter=WARNER)
        warning.signs, warning.photos = ["聚集", "网络舆情"], ["media-1", "media-2"]
        application = f.application(s, company, JUNE, data_key=settings.data_key, chair=CHAIR)
        application.causes, application.photos = ["本人患重病", "收入低"], ["media-3"]


def _export(tmp_path: Path, env: dict[str, str], kind: str, fmt: str = "xlsx") -> Path:
    out = tmp_path / f"{kind}.{fmt}"
    args = ["export", kind, "--period", "2024年6月", "--format", fmt, "-o", str(out)]
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == 0, result.output
    return out


def _by_header(sheet: Worksheet) -> dict[str, Any]:
    """The first data row's cells by their header."""
    return {header.value: cell for header, cell in zip(sheet[1], sheet[2], strict=True)}


@pytest.mark.usefixtures("full")
@pytest.mark.parametrize(("kind", "name"), [("reports", "月报"), ("warnings", "预警"), ("applications", "帮扶")])
def test_sheets_are_named_frozen_bold_fitted_and_free_of_openids(
    tmp_path: Path, env: dict[str, str], kind: str, name: str
) -> None:
    workbook = load_workbook(_export(tmp_path, env, kind))
    assert workbook.sheetnames == [name, "汇总"]  # the data, then the period's figures as 统计 states them
    sheet = workbook[name]
    assert sheet.freeze_panes == "A2"
    assert sheet.max_row == 2
    assert all(cell.font.b for cell in sheet[1])
    assert not any(cell.font.b for cell in sheet[2])
    for index, header in enumerate(sheet[1], 1):
        width = sheet.column_dimensions[get_column_letter(index)].width
        assert export.display_width(str(header.value)) < width <= export.MAX_WIDTH, header.value
    cells = [str(cell) for row in sheet.iter_rows(values_only=True) for cell in row if cell is not None]
    assert not [cell for cell in cells if "oABC" in cell]
    assert PHONE not in cells and ID_NUMBER not in cells


@pytest.mark.usefixtures("full")
def test_report_cells_hold_numbers_rates_and_local_dates(tmp_path: Path, env: dict[str, str]) -> None:
    cells = _by_header(load_workbook(_export(tmp_path, env, "reports"))["月报"])
    for header in ("工资总额（元）", "计提经费（元）", "上缴经费（元）", "慰问金额（元）", "帮困基金余额（元）"):
        assert cells[header].number_format == "#,##0.00", header
    assert cells["工资总额（元）"].value == pytest.approx(1234567.80)
    for header in ("月末职工人数", "其中工资争议（件）", "医疗互助在职参保（人）", "修订版次"):
        assert cells[header].number_format == "0", header
        assert isinstance(cells[header].value, int), header
    assert cells["其中工资争议（件）"].value == 2
    # 200 / 300 is 66.66…%: floored to 66.6% as 统计 and the digest show rates, stored as the fraction.
    assert stats.rate(200, 300) == Decimal("66.6")
    assert cells["入会率"].number_format == "0.0%"
    assert cells["入会率"].value == pytest.approx(0.666)
    assert cells["提交时间"].value == datetime(2026, 10, 5, 10, 0)  # 02:00 UTC on the federation's clock
    assert cells["提交时间"].number_format == "yyyy-mm-dd hh:mm"
    assert cells["集体合同到期日"].value == datetime(2027, 6, 30)  # a real date, read back as a datetime
    assert cells["集体合同到期日"].number_format == "yyyy-mm-dd"
    assert cells["提交人"].value == "张三（企业工会主席）"
    assert (cells["存在劳动关系隐患"].value, cells["设立职工服务点"].value) == ("是", "否")
    assert cells["月份"].value == "2024-06"


@pytest.mark.usefixtures("full")
def test_warning_and_application_cells(tmp_path: Path, env: dict[str, str]) -> None:
    cells = _by_header(load_workbook(_export(tmp_path, env, "warnings"))["预警"])
    assert cells["上报人"].value == "劳动争议预警员"  # no name given: the role alone
    assert cells["联系电话"].value == "138****5678"
    assert cells["已出现的行为"].value == "聚集、网络舆情"
    assert cells["现场照片、材料（张）"].value == 2
    assert cells["状态"].value == "调处中"
    assert cells["涉及金额（元）"].value == pytest.approx(12000.50)
    assert cells["涉及金额（元）"].number_format == "#,##0.00"
    assert cells["发现时间"].value == datetime(2024, 6, 10, 10, 0)

    cells = _by_header(load_workbook(_export(tmp_path, env, "applications"))["帮扶"])
    assert cells["申请人"].value == "张三（企业工会主席）"
    assert cells["身份证号"].value == "330211********4514"
    assert cells["致困原因"].value == "本人患重病、收入低"
    assert cells["证明材料照片（张）"].value == 1
    assert cells["家庭年收入（元）"].number_format == "#,##0.00"
    assert cells["申请时间"].value == datetime(2024, 6, 10, 10, 0)


@pytest.mark.usefixtures("full")
def test_csv_writes_rates_as_shown_and_people_by_name(tmp_path: Path, env: dict[str, str]) -> None:
    raw = _export(tmp_path, env, "reports", "csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    [row] = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert row["入会率"] == "66.6%"
    assert row["提交人"] == "张三（企业工会主席）"
    assert row["工资总额（元）"] == "1234567.80"
    assert row["集体合同到期日"] == "2027-06-30"
    assert CHAIR not in raw.decode("utf-8-sig")


def _keys(kind: ExportKind) -> list[str]:
    return [key for key, _header in export.columns(kind)]


def test_the_report_export_has_every_field_of_the_monthly_report_form() -> None:
    form = load_forms()["monthly_report"]
    asked = [field.id for field in form.fields if field.id != "care"]  # 本月有关爱工作 only opens the section
    expected = [*asked, *(computed.id for computed in form.computed)]
    assert [key for key in expected if key not in _keys(ExportKind.REPORTS)] == []


# Form fields kept under another name, and sensitive ones the application export leaves to the case view.
APPLICATION_KEYS = {
    "consent": "consent_at",
    "household": "household_size",
    "income": "annual_income",
    "rigid": "rigid_expenses",
    "amount": "amount_requested",
    "photos": "photo_count",
    "per_capita": "per_capita_monthly",
    "suggested": "suggested_category",
}
LEFT_OUT = {"phone", "description"}


def test_warning_and_application_exports_have_every_field_but_sensitive_text() -> None:
    forms = load_forms()
    warning = forms["dispute_warning"]
    expected = ["photo_count" if field.id == "photos" else field.id for field in warning.fields]
    assert [key for key in expected if key not in _keys(ExportKind.WARNINGS)] == []

    hardship = forms["hardship"]
    assert all(hardship.field(key).sensitive for key in LEFT_OUT)
    fields = [*(field.id for field in hardship.fields), *(computed.id for computed in hardship.computed)]
    expected = [APPLICATION_KEYS.get(key, key) for key in fields if key not in LEFT_OUT]
    assert [key for key in expected if key not in _keys(ExportKind.APPLICATIONS)] == []
    assert not LEFT_OUT & set(_keys(ExportKind.APPLICATIONS))


def test_widths_count_chinese_double_and_stop_at_the_cap() -> None:
    assert export.display_width("ab") == 2
    assert export.display_width("张三（主席）") == 12
    assert export.display_width("第一行\n长一点的第二行") == 14
    table = Table("x", [Column("名称", ColumnKind.TEXT), Column("说明", ColumnKind.TEXT)], [["张三", "很" * 100]])
    assert export.column_widths(table) == [6, export.MAX_WIDTH]
    money = Table("x", [Column("金额", ColumnKind.MONEY)], [[Decimal("1234567.8")]])
    assert export.column_widths(money) == [len("1,234,567.80") + 2]


def test_a_workbook_takes_several_named_sheets() -> None:
    first = Table("月报", [Column("月末职工人数", ColumnKind.COUNT)], [[3]])
    second = Table("汇总", [Column("入会率", ColumnKind.RATE)], [[None], [Decimal("0.5")]])
    workbook = load_workbook(io.BytesIO(export.to_xlsx(first, second)))
    assert workbook.sheetnames == ["月报", "汇总"]
    summary = workbook["汇总"]
    assert summary.freeze_panes == "A2"
    assert [cell.value for cell in summary["A"]] == ["入会率", None, 0.5]
    assert summary["A3"].number_format == "0.0%"

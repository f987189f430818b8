"""`unionbot export …`: one row per record with Chinese headers, masked IDs unless an admin unmasks, always audited."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlmodel import col, select
from typer.testing import CliRunner

from bot.cli.main import app
from config.settings import Settings
from storage.db import Database, utcnow
from storage.identity import add_staff
from storage.models import AuditLog
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

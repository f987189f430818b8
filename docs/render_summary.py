"""The README's picture of a work summary (docs/summary-first-page.png): a demo database seeded through the project's
own storage code with half a year of monthly reports, dispute warnings and staff figures, the 2024H1 summary written
as `总结` writes it, converted to PDF by LibreOffice and its first page drawn by pdftoppm.

    python -m docs.render_summary        # or `make docs`; --out to write the picture elsewhere

Needs Debian's libreoffice-writer-nogui, poppler-utils and fonts-noto-cjk. LibreOffice does not read the font
table's stand-ins (`w:altName`) and asks fontconfig for the official faces, so the conversion runs with aliases made
from `document.FACES` (仿宋_GB2312 → FangSong, SimSun, Noto Serif CJK SC, …): how a server that turns these files
into PDF should be set up. Everything but the picture stays in a temporary folder; the clock is fixed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from sqlmodel import Session
from stdnum.cn import uscc

from bot.services import document, render, summary_appendix
from bot.services import summary as work_summary
from config.settings import Settings
from config.warning_levels import assess, level_rules
from domain.normalize import parse_period
from domain.periods import Month
from domain.workflows.warning import WARNING, Action
from storage import drafts, figures, reports, roster, warnings
from storage.db import Database
from storage.migrate import upgrade

OUT = Path(__file__).resolve().parent / "summary-first-page.png"
ZONE = ZoneInfo("Asia/Shanghai")
NOW = datetime(2024, 7, 15, 10, 0, tzinfo=ZONE).astimezone(UTC)  # the June reports are in: H1 is complete
PERIOD = "2024H1"
MONTHS = [Month(2024, month) for month in range(1, 7)]
SOFFICE_TIMEOUT = 180

# name, employees, has a union, months (1-6) it did not report
ENTERPRISES = [
    ("宁波逸盛石化有限公司", 820, True, ()),
    ("宁波新桥化工有限公司", 260, True, ()),
    ("宁波侨泰兴纺织有限公司", 150, True, (2,)),
    ("宁波腾龙精线有限公司", 120, True, ()),
    ("宁波新安东橡塑制品有限公司", 90, True, (2, 3)),
    ("三星重工业（宁波）有限公司", 600, True, ()),
    ("小港港湾物流有限公司", 45, True, (2, 6)),
    ("青峙餐饮服务有限公司", 18, True, (1, 2, 5)),
    ("蔚斗五金加工厂", 12, False, ()),
    ("红联超市有限公司", 30, False, ()),
]
# month, day, enterprise index, category, workers, amount (yuan), signs, outcome (None: still open)
WARNINGS: list[tuple[int, int, int, str, int, str | None, list[str], Action | None]] = [
    (1, 8, 6, "工资(含欠薪)", 6, "42000", [], Action.RESOLVE),
    (1, 22, 4, "工资(含欠薪)", 14, "126000", [], Action.RESOLVE),
    (2, 19, 2, "劳动合同", 3, None, [], Action.RESOLVE),
    (3, 5, 0, "工伤", 1, "80000", [], Action.FAIL),
    (3, 18, 7, "工资(含欠薪)", 9, "31000", ["聚集"], Action.RESOLVE),
    (4, 2, 5, "劳动合同", 12, None, [], Action.RESOLVE),
    (4, 26, 1, "社会保险", 4, None, [], Action.RESOLVE),
    (5, 10, 3, "工资(含欠薪)", 35, "260000", [], Action.RESOLVE),
    (5, 28, 6, "工资(含欠薪)", 7, "18500", [], None),
    (6, 14, 4, "工伤", 2, "65000", [], None),
    (6, 25, 0, "其它", 11, None, [], None),
]
STAFF_FIGURES = {
    "work_basis": "根据区总工会年度工作要点，以《2024年度全区工会工作考核细化指标体系》为标准",
    "upgraded_communities": "青峙社区、蔚斗社区",
    "awarded_model_unions": "5",
    "awarded_advanced_unions": "8",
    "new_unions": "3",
    "new_unions_covered_enterprises": "5",
    "unions_deregistered": "0",
    "unions_renamed": "1",
    "unions_transferred_out": "0",
    "skill_competitions": "联合街道安监所开展危化企业员工应急技能处置大赛，组织纺织企业开展消防技能演练。",
    "free_training_sessions": "6",
    "onsite_training_enterprises": "9",
    "learning_enterprise_applicants": "2",
    "learning_enterprise_names": "宁波新安东橡塑制品有限公司、宁波腾龙精线有限公司",
    "mutual_aid_retired": "1260",
    "strong_protection_enterprises": "24",
    "strong_protection_annual_target": "30",
    "chairs_health_checked": "18",
    "frontline_recuperation_workers": "40",
    "bargaining_pilot_areas": "青峙、蔚斗",
    "may_day_event": "首届企业职工健身操表演赛",
    "may_day_teams": "13",
    "fitness_contest_participants": "200",
    "culture_clubs": "7",
    "star_club_applicants": "2",
    "finance_training_enterprises": "36",
    "dues_collection_month": "7",
}


def _credit_code(number: int) -> str:
    base = f"91330206MA2H{number:05d}"
    return base + uscc.calc_check_digit(base)


def _at(month: int, day: int, hour: int = 9) -> datetime:
    return datetime(2024, month, day, hour, tzinfo=ZONE).astimezone(UTC)


def _report(employees: int, month: int, number: int) -> dict[str, Any]:
    """What a chair of a company this size answers for `month`, as the form stores it."""
    members = employees * 9 // 10
    payroll = employees * 6800
    large = employees >= 100
    answers: dict[str, Any] = {
        "employees": employees,
        "members": members,
        "new_members": 1 + (number + month) % 4,
        "lost_members": (number * month) % 3,
        "payroll": str(payroll),
        "dues_accrued": str(payroll * 2 // 100),
        "dues_remitted": str(payroll * 2 * 40 // 10000),
        "activities": 1 + month % 3,
        "trainings": month % 2,
        "disputes": 0,
        "has_risk": False,
        "has_hardship_fund": large,
        "hardship_fund_balance": str(employees * 150) if large else None,
        "has_service_point": employees >= 50,
        "has_mediation_committee": employees >= 40,
        "mutual_aid_in_service": employees if large else members,
        "mutual_aid_ankang": employees // 5,
        "mutual_aid_special": employees // 20,
        "card_collected": employees // 15,
        "card_issued": employees // 20,
        "reelected_this_month": month == 3 and number % 3 == 0,
    }
    if month in (1, 2):
        answers.update(festival_visited=1 + employees // 100, festival_amount=str(500 * (1 + employees // 100)))
    return answers


def seed(db: Database) -> None:
    """Roster, reports, warnings and their outcomes, and the staff figures, written by the functions the chat's
    handlers call."""
    with db.transaction() as session:
        ids = []
        for number, (name, employees, union, _) in enumerate(ENTERPRISES):
            code = _credit_code(number)
            row = roster.EnterpriseRow(code, name, employees, "青峙社区" if number % 2 else "蔚斗社区", union)
            roster.upsert_enterprise(session, row, NOW - timedelta(days=365))
            company = roster.enterprise_by_credit_code(session, code)
            assert company is not None and company.id is not None
            ids.append(company.id)
        for number, (_, employees, union, missed) in enumerate(ENTERPRISES):
            for month in MONTHS:
                if not union or month.month in missed:
                    continue
                filed_at = datetime.combine(month.shift(1).first_day, datetime.min.time(), ZONE) + timedelta(days=4)
                answers = {"period": month.key, **_report(employees, month.month, number)}
                record = drafts.submit(
                    session,
                    form_id="monthly_report",
                    receipt_prefix="Y",
                    draft_key=f"demo:report:{number}:{month.key}",
                    openid=f"chair-{number}",
                    enterprise_id=ids[number],
                    answers=answers,
                    now=filed_at,
                )
                reports.write_report(
                    session,
                    submission_id=record.id or 0,
                    enterprise_id=ids[number],
                    period=month.key,
                    answers=answers,
                    submitted_by=record.openid,
                    now=filed_at,
                )
        for n, (month_number, day, index, category, workers, amount, signs, outcome) in enumerate(WARNINGS):
            _warning(session, n, _at(month_number, day), ids[index], category, workers, amount, signs, outcome)
        for key, value in STAFF_FIGURES.items():
            spec = work_summary.summary_config().staff_figures[key]
            figures.set_figure(session, key, PERIOD, value, spec.unit, "staff-demo", NOW)


def _warning(
    session: Session,
    n: int,
    created: datetime,
    enterprise_id: int,
    category: str,
    workers: int,
    amount: str | None,
    signs: list[str],
    outcome: Action | None,
) -> None:
    answers: dict[str, Any] = {
        "found_at": (created - timedelta(hours=2)).astimezone(ZONE).replace(tzinfo=None).isoformat(),
        "place": "厂区",
        "category": category,
        "workers": workers,
        "amount": amount,
        "description": "职工反映相关诉求",
        "demands": "依法处理",
        "signs": signs,
        "measures": "已与企业负责人沟通",
        "photos": [],
        "phone": "13812345678",
    }
    assessment = assess(level_rules(), warnings.facts(answers))
    reasons = [render.render("dispute_warning/reason.j2", reason=reason) for reason in assessment.reasons]
    record = drafts.submit(
        session,
        form_id="dispute_warning",
        receipt_prefix="W",
        draft_key=f"demo:warning:{n}",
        openid="warner-demo",
        enterprise_id=enterprise_id,
        answers=answers,
        now=created,
    )
    warning, _ = warnings.record_warning(session, record, assessment, reasons, ZONE)
    if outcome is None:
        return
    for step, action in enumerate((Action.ACKNOWLEDGE, Action.MEDIATE, outcome), start=1):
        at = created + timedelta(days=step)
        warnings.apply_move(session, warning, WARNING.move(action), actor="staff-demo", note="协调处理", now=at)


def write_summary(db: Database, settings: Settings, path: Path) -> work_summary.Summary:
    """The summary of 2024H1 with its attachment, as `总结` writes it."""
    period = parse_period(PERIOD, today=NOW.astimezone(ZONE).date())
    with db.transaction() as session:
        made = work_summary.build(session, period, settings, NOW)
        appendix = summary_appendix.appendix(session, made, settings, NOW)
    document.write_docx(made.markdown, path, appendix)
    return made


def fontconfig(faces: Sequence[document.Face] = document.FACES) -> str:
    """fontconfig aliases for the official faces: the system's configuration, then each face's stand-ins."""
    aliases = "".join(
        f'  <alias binding="same"><family>{escape(face.name)}</family><prefer>'
        + "".join(f"<family>{escape(name)}</family>" for name in (face.windows, *face.fallbacks))
        + "</prefer></alias>\n"
        for face in faces
    )
    return (
        '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n'
        '  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>\n'
        f"{aliases}</fontconfig>\n"
    )


def to_pdf(docx_path: Path, folder: Path) -> Path:
    """LibreOffice's PDF of `docx_path` in `folder`, with a profile of its own there (runs side by side do not
    share one) and the official faces aliased to installed ones."""
    folder.mkdir(parents=True, exist_ok=True)
    fonts = folder / "fonts.conf"
    fonts.write_text(fontconfig(), encoding="utf-8")
    subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation={(folder / 'lo-profile').as_uri()}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(folder),
            str(docx_path),
        ],
        check=True,
        capture_output=True,
        timeout=SOFFICE_TIMEOUT,
        env={**os.environ, "FONTCONFIG_FILE": str(fonts)},
    )
    return folder / f"{docx_path.stem}.pdf"


def first_page_png(pdf: Path, out: Path, dpi: int = 110) -> Path:
    """Page 1 of `pdf` as a PNG at `out`."""
    out.parent.mkdir(parents=True, exist_ok=True)
    prefix = out.with_suffix("")
    subprocess.run(
        ["pdftoppm", "-png", "-r", str(dpi), "-f", "1", "-l", "1", "-singlefile", str(pdf), str(prefix)],
        check=True,
        capture_output=True,
        timeout=SOFFICE_TIMEOUT,
    )
    return out


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=OUT, help="where the PNG of page 1 goes")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="unionbot-docs-") as scratch:
        folder = Path(scratch)
        url = f"sqlite:///{folder / 'demo.sqlite3'}"
        upgrade(url)
        db = Database(url)
        try:
            seed(db)
            settings = Settings(database_url=url, files_dir=folder / "files")
            docx_path = folder / "work-summary-2024H1.docx"
            made = write_summary(db, settings, docx_path)
        finally:
            db.dispose()
        first_page_png(to_pdf(docx_path, folder / "pdf"), args.out)
    print(f"{args.out}: page 1 of {made.period.label}, {len(made.missing)} figures still to fill")


if __name__ == "__main__":
    main()

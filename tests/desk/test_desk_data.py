"""数据与总结 on the desk: staff enter the figures no form collects, read the summary they feed with every blank
marked and linked to its input, and download the Word summary and the Excel exports (each download audited)."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime

import docx
import pytest
from markupsafe import escape
from openpyxl import load_workbook
from sqlmodel import col, select

from config.settings import Settings
from storage import figures
from storage.db import Database
from storage.models import AuditLog, StaffFigure
from tests import staff_factories as make
from tests.conftest import enroll
from tests.desk.conftest import sign_in
from tests.harness import Chat, Clock, Service, running_service

RETIRED_ROW = 'id="figure-mutual_aid_retired"'
RETIRED_MARK = '<a href="#figure-mutual_aid_retired"><mark class="mark">【待填：退休参保人数】</mark></a>'
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@pytest.fixture
def svc(settings: Settings, db: Database, clock: Clock) -> Iterator[Service]:
    enroll(db, "staff-li", role="staff")
    with running_service(settings, clock=clock) as running:
        yield running


def _row(page: str, key: str) -> str:
    """The table row of one figure."""
    found = re.search(rf'<tr id="figure-{key}">(.*?)</tr>', page, re.S)
    assert found, f"no row for {key}"
    return found[1]


def _audits(db: Database) -> list[AuditLog]:
    with db.transaction() as session:
        return list(session.exec(select(AuditLog).order_by(col(AuditLog.id))).all())


def test_a_figure_entered_on_the_page_is_what_the_chat_lists(svc: Service, db: Database) -> None:
    csrf = sign_in(svc, "staff-li")
    page = svc.client.get("/desk/data").text
    assert "2026年下半年需人工填写的数据" in page  # the clock's half when no period is named
    assert "未填" in _row(page, "mutual_aid_retired")

    saved = svc.client.post(
        "/desk/data/set",
        data={"csrf": csrf, "key": "mutual_aid_retired", "period": "2026H2", "value": "1200"},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    assert saved.headers["location"] == "/desk/data?period=2026H2#figure-mutual_aid_retired"
    page = svc.client.get(saved.headers["location"]).text
    assert "已记录：2026年下半年 退休参保人数 = 1200人" in page
    assert "1200人" in _row(page, "mutual_aid_retired") and "未填" not in _row(page, "mutual_aid_retired")

    assert "✓ 退休参保人数：1200人" in Chat(svc.wechat, "staff-li").say("数据")
    with db.transaction() as session:
        row = session.exec(select(StaffFigure).where(StaffFigure.key == "mutual_aid_retired")).one()
        assert (row.period, row.value, row.unit, row.set_by) == ("2026H2", "1200", "人", "staff-li")


def test_an_invalid_value_is_refused_with_the_chats_words(svc: Service, db: Database) -> None:
    csrf = sign_in(svc, "staff-li")
    chat_says = Chat(svc.wechat, "staff-li").say("数据 新建企业工会数 很多")
    assert "没看懂“很多”" in chat_says

    refused = svc.client.post(
        "/desk/data/set", data={"csrf": csrf, "key": "new_unions", "period": "2026H2", "value": "很多"}
    )
    assert refused.status_code == 200
    assert f'<p class="notice" role="status">{escape(chat_says)}</p>' in refused.text
    assert "未填" in _row(refused.text, "new_unions")
    unknown = svc.client.post("/desk/data/set", data={"csrf": csrf, "key": "收缴月份", "value": "7"})
    assert unknown.status_code == 200 and "没有“收缴月份”这一项" in unknown.text
    with db.transaction() as session:
        assert figures.figures_for(session, "2026H2") == {}


def test_a_text_figure_of_an_earlier_half_is_kept_for_that_half(svc: Service, db: Database) -> None:
    csrf = sign_in(svc, "staff-li")
    plan = "一是推进集体协商。二是做好帮扶。"
    svc.client.post("/desk/data/set", data={"csrf": csrf, "key": "next_half_plan", "period": "2026H1", "value": plan})
    with db.transaction() as session:
        assert figures.figures_for(session, "2026H1") == {"next_half_plan": plan}
        assert figures.figures_for(session, "2026H2") == {}
    assert "✓ 工作计划：一是推进集体协商。二是做好帮扶。" in Chat(svc.wechat, "staff-li").say("数据 2026年上半年")


def test_a_period_the_page_cannot_read_is_explained_not_an_error(svc: Service) -> None:
    csrf = sign_in(svc, "staff-li")
    page = svc.client.get("/desk/data", params={"period": "明年春天"})
    assert page.status_code == 400 and "没看懂统计期间“明年春天”" in page.text
    future = svc.client.get("/desk/data", params={"period": "2027年上半年"})
    assert future.status_code == 400 and "还没开始" in future.text
    posted = svc.client.post(
        "/desk/data/set", data={"csrf": csrf, "key": "new_unions", "period": "明年春天", "value": "3"}
    )
    assert posted.status_code == 400 and "没看懂统计期间" in posted.text


def test_the_preview_marks_each_blank_and_links_it_to_its_input(svc: Service) -> None:
    csrf = sign_in(svc, "staff-li")
    page = svc.client.get("/desk/data", params={"period": "2026年下半年"}).text
    preview = page.split('id="summary-preview"')[1]
    assert RETIRED_MARK in preview and RETIRED_ROW in page
    assert re.search(
        r"<h2>2026年[^<]*街道总工会下半年工作总结及明年计划</h2>", preview
    )  # the title, a level below the page's
    assert "<h3>一、" in preview and "<p>" in preview
    marks = re.findall(r'<a href="#figure-([a-z_]+)"><mark class="mark">【待填：([^】]+)】</mark></a>', preview)
    assert marks and all(f'id="figure-{key}"' in page for key, _label in marks)
    assert '<mark class="mark awaiting">【待月报：' in preview  # highlighted, but nothing on the page fills it
    assert not re.search(r"<a [^>]*><mark[^>]*>【待(月报|名册)", preview)

    svc.client.post(
        "/desk/data/set", data={"csrf": csrf, "key": "mutual_aid_retired", "period": "2026H2", "value": "1200"}
    )
    svc.client.post(
        "/desk/data/set",
        data={"csrf": csrf, "key": "work_basis", "period": "2026H2", "value": "根据<b>区总工会</b>要点"},
    )
    preview = svc.client.get("/desk/data?period=2026H2").text.split('id="summary-preview"')[1]
    assert RETIRED_MARK not in preview and "退休参保1200人" in preview
    assert "&lt;b&gt;区总工会&lt;/b&gt;" in preview and "<b>" not in preview


def test_the_word_summary_downloads_opens_and_is_audited(svc: Service, db: Database) -> None:
    sign_in(svc, "staff-li")
    answer = svc.client.get("/desk/data/summary.docx", params={"period": "2026H2"})
    assert answer.status_code == 200
    assert answer.headers["content-type"] == DOCX
    assert answer.headers["content-disposition"] == 'attachment; filename="work-summary-2026H2.docx"'
    text = "\n".join(paragraph.text for paragraph in docx.Document(io.BytesIO(answer.content)).paragraphs)
    assert "2026年下半年" in text and "【待填：退休参保人数】" in text
    [audit] = _audits(db)
    assert (audit.actor, audit.action, audit.subject) == ("staff-li", "export", "summary")
    assert "2026年下半年" in audit.detail


def test_each_export_downloads_as_the_chat_builds_it_and_is_audited(svc: Service, db: Database) -> None:
    with db.transaction() as session:
        company = make.enterprise(session, "甲公司")
        make.report(session, company, "2026-10", submitted_at=datetime(2026, 11, 5, 2, tzinfo=UTC))
    sign_in(svc, "staff-li")
    for kind, sheet in (("reports", "月报"), ("warnings", "预警"), ("hardship", "帮扶")):
        answer = svc.client.get("/desk/data/export.xlsx", params={"kind": kind, "period": "2026年10月"})
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == XLSX
        exported = "applications" if kind == "hardship" else kind
        assert answer.headers["content-disposition"] == f'attachment; filename="{exported}-2026-10.xlsx"'
        workbook = load_workbook(io.BytesIO(answer.content))
        assert workbook.sheetnames == [sheet, "汇总"]
    rows = list(
        load_workbook(io.BytesIO(svc.client.get("/desk/data/export.xlsx?kind=reports&period=2026-10").content))[
            "月报"
        ].values
    )
    assert len(rows) == 2 and "甲公司" in rows[1]
    audits = _audits(db)
    assert [(a.actor, a.action, a.subject) for a in audits] == [
        ("staff-li", "export", "reports"),
        ("staff-li", "export", "warnings"),
        ("staff-li", "export", "applications"),
        ("staff-li", "export", "reports"),
    ]
    assert audits[0].detail.startswith("reports 2026年10月 xlsx rows=1")


def test_an_unknown_export_is_explained_and_not_audited(svc: Service, db: Database) -> None:
    sign_in(svc, "staff-li")
    answer = svc.client.get("/desk/data/export.xlsx", params={"kind": "members", "period": "2026H2"})
    assert answer.status_code == 400 and "没看懂要导出的“members”" in answer.text
    assert _audits(db) == []


def test_downloads_need_a_session(svc: Service) -> None:
    for path in ("/desk/data", "/desk/data/summary.docx", "/desk/data/export.xlsx?kind=reports"):
        assert svc.client.get(path, follow_redirects=False).headers["location"] == "/desk/signin"

"""After a form (issue 16 point 4), through the signed endpoint: a month filed again is a correction said up
front, receipts count per kind, a closed case shows its dates, and a warner sees their enterprise's warnings."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from config.settings import Settings
from storage.db import Database
from storage.models import Submission
from tests.conftest import enroll
from tests.harness import NOW, Chat, Clock, Service, running_service
from tests.test_dispute_warning import COMPANY, STORY, file, receipt_of
from tests.test_hardship import file_application
from tests.test_monthly_report import file_core


@pytest.fixture
def svc(settings: Settings, db: Database, clock: Clock) -> Iterator[Service]:
    enroll(db, "chair-1", "chair", COMPANY)
    enroll(db, "warner-1", "warner", COMPANY)
    enroll(db, "warner-2", "warner", "宁波另一家机械有限公司")
    enroll(db, "staff-1", "staff")
    with running_service(settings, clock=clock) as running:
        yield running


@pytest.fixture
def chair(svc: Service) -> Chat:
    return Chat(svc.wechat, "chair-1")


def test_a_month_filed_again_is_called_a_correction_before_the_first_question(chair: Chat, clock: Clock) -> None:
    file_core(chair)
    assert "回执号 Y1。" in chair.say("确认")
    clock.now = NOW + timedelta(days=2)
    opening = chair.say("月报")
    notice = "2026年10月已于11月25日报送（Y1），再次填写将作为更正。"
    assert opening.startswith(notice) and opening.index(notice) < opening.index("第1项")
    chair.dialogue([("取消", "确定放弃"), ("是", "已放弃")])
    file_core(chair)
    reply = chair.say("确认")
    assert "回执号 Y2。" in reply and "此次为更正：这是该月月报的第 2 版" in reply


def test_receipts_count_per_kind_and_start_past_older_numbers(svc: Service, chair: Chat, db: Database) -> None:
    with db.transaction() as session:  # a warning receipt given before the counters, numbered by submission id
        session.add(Submission(form_id="dispute_warning", receipt="W12", draft_key="old", openid="x", answers={},
                               submitted_at=NOW))  # fmt: skip
    file_core(chair)
    assert "回执号 Y1。" in chair.say("确认")
    assert file(Chat(svc.wechat, "warner-1")) == "W13"
    assert file(chair) == "W14"
    chair.dialogue([("缓交", "从哪个月开始"), ("上个月", "几个月"), ("3个月", "理由"), ("周转困难", "请核对")])
    assert receipt_of(chair.say("确认")) == "E1"
    file_application(chair)
    assert "申请编号 H1，" in chair.say("确认")


def test_a_closed_case_shows_when_it_came_in_and_closed(svc: Service, chair: Chat, clock: Clock) -> None:
    number = file(Chat(svc.wechat, "warner-1"))
    staff = Chat(svc.wechat, "staff-1")
    staff.dialogue([(f"签收 {number}", "已签收"), (f"核实 {number}", "核实中"), (f"调处 {number}", "调处中")])
    clock.now = NOW + timedelta(days=17)
    staff.dialogue([(f"化解 {number} 已付清", "已化解"), (f"结案 {number}", "已结案")])
    dates = "受理 11月25日，结案 12月12日，历时 17 天"
    clock.now = NOW + timedelta(days=30)
    listed = staff.say("预警 已结案")
    assert dates in listed and "已 30 天" not in listed
    assert f"状态：已结案（{dates}）" in staff.say(f"查看 {number}")


def test_a_warner_sees_a_warning_their_chair_filed_but_not_another_enterprises(svc: Service, chair: Chat) -> None:
    number = file(chair)
    seen = Chat(svc.wechat, "warner-1").say(f"查看 {number}")
    assert f"【劳动争议预警 {number}】" in seen and STORY in seen and "可办理" not in seen
    assert f"不能查看 {number}" in Chat(svc.wechat, "warner-2").say(f"查看 {number}")

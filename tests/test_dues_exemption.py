"""Dues exemption and deferral (免交/缓交): a chair asks with a reason, staff are told and decide by message."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlmodel import select

from bot.devtools.fake_wechat import TEMPLATE_SEND_PATH, FakeWechatServer
from config.settings import Settings
from domain.enums import RequestState
from storage.db import Database
from storage.models import CaseEvent, DuesExemption, Member
from tests.conftest import enroll
from tests.harness import Chat, Service, running_service

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


@pytest.fixture
def svc(settings: Settings, db: Database) -> Iterator[Service]:
    enroll(db, "chair-1")
    enroll(db, "staff-1", "staff")
    with running_service(settings, clock=lambda: NOW) as running:
        yield running


def exemptions(db: Database) -> list[DuesExemption]:
    with db.transaction() as session:
        return list(session.exec(select(DuesExemption)).all())


def events(db: Database) -> list[CaseEvent]:
    with db.transaction() as session:
        return list(session.exec(select(CaseEvent)).all())


def ask(chair: Chat, start: str = "免交") -> str:
    """File a request for three months from last month; returns its receipt."""
    chair.dialogue(
        [
            (start, "从哪个月开始"),
            ("下个月", "没看懂月份"),
            ("上个月", "共申请几个月？（单位：个月，1～12）"),
            ("13", "不能大于 12"),
            ("3", "请简要说明申请理由"),
            ("今年以来连续亏损，订单减少一半", "请核对"),
        ]
    )
    assert "申请类型：" in chair.last and "2026年10月" in chair.last
    reply = chair.say("确认")
    assert "审批后会通知您" in reply
    return reply.split("回执号 ")[1].split("。")[0]


def test_a_chair_asks_staff_approve_and_the_chair_is_told(svc: Service, db: Database, fake: FakeWechatServer) -> None:
    chair, staff = Chat(svc.wechat, "chair-1"), Chat(svc.wechat, "staff-1")
    assert "目前没有待审批" in staff.say("免交待审")
    receipt = ask(chair)
    [request] = exemptions(db)
    assert (request.kind, request.first_month, request.last_month) == ("免交", "2026-10", "2026-12")
    assert request.state == RequestState.PENDING and request.receipt == receipt
    svc.services.outbox.drain()
    [alert] = fake.state.texts("staff-1")
    assert "【待审批】宁波示例纺织有限公司经费免交申请" in alert and f"免交 {receipt} 同意" in alert
    assert "连续亏损" in alert

    listing = staff.say("免交待审")
    assert receipt in listing and "2026年10月至2026年12月" in listing
    assert "已同意" in staff.say(f"免交 {receipt.lower()} 同意")
    [request] = exemptions(db)
    assert request.state == RequestState.APPROVED and request.decided_by == "staff-1"
    [event] = events(db)
    assert (event.case_kind, event.case_id, event.from_state, event.to_state) == (
        "exemption",
        request.id,
        "pending",
        "approved",
    )
    svc.services.outbox.drain()
    [result] = fake.state.texts("chair-1")
    assert f"回执号 {receipt}" in result and "审批结果：已同意" in result
    assert "已经审批过了：已同意" in staff.say(f"免交 {receipt} 不同意 重复")
    assert len(events(db)) == 1


def test_a_refusal_needs_a_reason_and_reaches_the_chair(svc: Service, db: Database, fake: FakeWechatServer) -> None:
    chair, staff = Chat(svc.wechat, "chair-1"), Chat(svc.wechat, "staff-1")
    chair.dialogue([("经费免交", "申请免交还是缓交"), ("暂停", "没有“暂停”这个选项"), ("2", "从哪个月开始缓交")])
    chair.dialogue([("上个月", "几个月"), ("1", "理由"), ("资金周转困难", "请核对")])
    receipt = chair.say("确认").split("回执号 ")[1].split("。")[0]
    assert "不同意时请写明原因" in staff.say(f"缓交 {receipt} 不同意")
    assert "格式" in staff.say(f"免交 {receipt}")
    assert "没有找到回执号为 E999" in staff.say("免交 E999 同意")
    assert "已不同意" in staff.say(f"免交 {receipt} 不同意 请补充财务报表")
    [request] = exemptions(db)
    assert (request.kind, request.last_month, request.state) == ("缓交", "2026-10", RequestState.REJECTED)
    assert request.decision_note == "请补充财务报表"
    svc.services.outbox.drain()
    [result] = fake.state.texts("chair-1")
    assert "未同意" in result and "请补充财务报表" in result


def test_only_staff_decide_and_only_chairs_ask(svc: Service, db: Database) -> None:
    chair, staff = Chat(svc.wechat, "chair-1"), Chat(svc.wechat, "staff-1")
    receipt = ask(chair, "缓交")
    assert "只能由街道总工会工作人员审批" in chair.say(f"免交 {receipt} 同意")
    assert "只能由街道总工会工作人员审批" in chair.say("免交待审")
    assert exemptions(db)[0].state == RequestState.PENDING and events(db) == []
    assert "只能由企业工会主席填写" in staff.say("免交")
    enroll(db, "warner-1", "warner")
    assert "只能由企业工会主席填写" in Chat(svc.wechat, "warner-1").say("缓交")


def test_a_staff_member_off_duty_is_not_alerted(svc: Service, db: Database, fake: FakeWechatServer) -> None:
    enroll(db, "staff-2", "staff")
    with db.transaction() as session:
        off = session.exec(select(Member).where(Member.openid == "staff-2")).one()
        off.on_duty = False
    Chat(svc.wechat, "staff-1").say("免交待审")
    Chat(svc.wechat, "staff-2").say("免交待审")
    ask(Chat(svc.wechat, "chair-1"))
    svc.services.outbox.drain()
    assert len(fake.state.texts("staff-1")) == 1 and fake.state.sent("staff-2") == []


def test_staff_outside_the_service_window_get_a_template_message(
    svc: Service, db: Database, fake: FakeWechatServer
) -> None:
    receipt = ask(Chat(svc.wechat, "chair-1"))
    svc.services.outbox.drain()
    [alert] = fake.state.sent("staff-1")
    assert alert.path == TEMPLATE_SEND_PATH and alert.body is not None
    values = {key: item["value"] for key, item in alert.body["data"].items()}
    assert values["character_string1"] == receipt and values["phrase3"] == "待审批"
    assert values["thing2"].startswith("宁波示例纺织有限公司经费免交")


def test_the_months_prompt_gives_examples_within_its_range(svc: Service) -> None:
    """“1～12，如 12、1,200、一万二” contradicted itself: a small range gets examples a chair may send."""
    chair = Chat(svc.wechat, "chair-1")
    chair.say("免交")
    reply = chair.say("上个月")
    assert "请回复月数（1～12），如 3、三个月、半年。" in reply and "1,200" not in reply

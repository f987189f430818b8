"""劳动争议预警 through the real endpoint: a warner files, staff on duty are alerted, staff work the case."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from sqlmodel import col, select

from bot.devtools.fake_wechat import TEMPLATE_SEND_PATH, FakeWechatServer
from config.settings import Settings
from config.warning_levels import assess, level_rules
from storage import warnings
from storage.db import Database
from storage.models import CaseEvent, DisputeWarning, Member, OutboxMessage, StoredFile, Submission
from tests.conftest import enroll, stored_bytes
from tests.harness import NOW, Chat, Clock, Service, running_service

COMPANY = "宁波示例纺织有限公司"
PHONE = "13812345678"
STORY = "老板拖欠三个月工资，职工在厂门口聚集"


@pytest.fixture
def svc(settings: Settings, db: Database, clock: Clock) -> Iterator[Service]:
    enroll(db, "warner-1", "warner", COMPANY)
    enroll(db, "chair-1", "chair", COMPANY)
    enroll(db, "chair-2", "chair", "宁波另一家机械有限公司")
    enroll(db, "staff-1", "staff")
    enroll(db, "staff-2", "admin")
    enroll(db, "staff-3", "staff")
    with db.transaction() as session:
        off_duty = session.exec(select(Member).where(Member.openid == "staff-3")).one()
        off_duty.on_duty = False
        session.add(off_duty)
    with running_service(settings, clock=clock) as running:
        yield running


@pytest.fixture
def warner(svc: Service) -> Chat:
    return Chat(svc.wechat, "warner-1")


@pytest.fixture
def staff(svc: Service) -> Chat:
    """Staff member 1 has written recently (customer-service window open); staff member 2 has not."""
    chat = Chat(svc.wechat, "staff-1")
    chat.say("你好")
    return chat


def file_until_summary(chat: Chat, *, workers: str = "5", amount: str = "跳过", signs: str = "跳过") -> str:
    chat.dialogue(
        [
            ("预警", "【劳动争议预警 第1项/共11项】什么时候发现的"),
            ("今天上午9点", "事发地点在哪里"),
            ("厂区门口", "争议主要属于哪一类"),
            ("工资", "涉及多少名职工"),
            (workers, "涉及金额"),
            (amount, "起因和经过"),
            (STORY, "主要诉求"),
            ("尽快发放拖欠的工资", "已经出现了哪些行为"),
            (signs, "已采取了哪些措施"),
            ("已向老板反映，正在安抚职工", "现场照片"),
            ("跳过", "联系电话"),
        ]
    )
    return chat.say(PHONE)


def receipt_of(reply: str) -> str:
    return reply.split("回执号 ")[1].split("。")[0]


def file(chat: Chat, **answers: str) -> str:
    file_until_summary(chat, **answers)
    return receipt_of(chat.say("确认"))


def warnings_in(db: Database) -> list[DisputeWarning]:
    with db.transaction() as session:
        return list(session.exec(select(DisputeWarning).order_by(col(DisputeWarning.id))).all())


def events_of(db: Database, warning_id: int | None) -> list[CaseEvent]:
    with db.transaction() as session:
        query = select(CaseEvent).where(CaseEvent.case_kind == "warning", CaseEvent.case_id == warning_id)
        return list(session.exec(query.order_by(col(CaseEvent.id))).all())


def test_a_warner_files_a_warning_sees_its_level_and_staff_on_duty_are_alerted(
    svc: Service, warner: Chat, staff: Chat, db: Database, fake: FakeWechatServer
) -> None:
    warner.dialogue(
        [
            ("预警", "什么时候发现的"),
            ("今天下午3点", "还没到"),
            ("今天上午9点", "事发地点在哪里"),
            ("厂区门口", "争议主要属于哪一类"),
            ("欠钱", "没有“欠钱”这个选项"),
            ("2", "涉及多少名职工"),
            ("很多", "没看懂“很多”"),
            ("0", "不能小于 1"),
            ("十二", "涉及金额"),
            ("3.5万", "起因和经过"),
            ("长" * 501, "最多 500 个字"),
            (STORY, "主要诉求"),
            ("尽快发放拖欠的工资", "已经出现了哪些行为"),
            ("8", "没有“8”这个选项"),
            ("5、7", "已采取了哪些措施"),
            ("已向老板反映，正在安抚职工", "现场照片"),
        ]
    )
    assert "已收到第 1 张" in warner.send_image("photo-1")
    assert "已收到第 2 张" in warner.send_image("photo-2")
    warner.dialogue([("完成", "联系电话"), ("12345", "手机号")])
    summary = warner.say(PHONE)
    for line in [
        "1. 发现时间：2026年11月25日 09:00",
        "3. 争议类别：工资(含欠薪)",
        "4. 涉及职工人数：12",
        "5. 涉及金额：35,000.00 元",
        "8. 已出现的行为：堵路、老板失联",
        "10. 现场照片、材料：2 张图片",
        "预警等级：重大",
        "依据：已出现堵路；已出现老板失联",
    ]:
        assert line in summary, line
    assert summary.index("预警等级") < summary.index("无误请回复“确认”")

    warner.dialogue([("修改 8", "已经出现了哪些行为"), ("跳过", "请核对")])
    assert "预警等级：较大" in warner.last and "涉及职工 12 人（10 人及以上）" in warner.last
    warner.dialogue([("修改 4", "当前填写：12"), ("35", "预警等级：重大")])
    assert "涉及职工 35 人（30 人及以上）" in warner.last

    receipt = warner.say("确认")
    assert "「劳动争议预警」已提交，回执号 W" in receipt
    assert "预警等级：重大" in receipt and "已通知街道总工会值班人员（2 人）" in receipt
    number = receipt_of(receipt)

    [warning] = warnings_in(db)
    with db.transaction() as session:
        [record] = session.exec(select(Submission)).all()
    assert warning.receipt == record.receipt == number and warning.submission_id == record.id
    assert (warning.level, warning.computed_level, warning.state) == ("重大", "重大", "submitted")
    assert warning.level_reasons == ["涉及职工 35 人（30 人及以上）"]
    assert warning.found_at == datetime(2026, 11, 25, 1, 0, tzinfo=UTC)
    assert warning.workers == 35 and warning.amount == Decimal("35000.00") and warning.category == "工资(含欠薪)"
    assert warning.signs == [] and warning.photos == ["photo-1", "photo-2"] and warning.phone == PHONE
    assert warning.reporter == "warner-1" and warning.description == STORY and warning.acknowledged_at is None
    assert [(e.from_state, e.to_state, e.actor) for e in events_of(db, warning.id)] == [(None, "submitted", "warner-1")]

    svc.services.outbox.drain()
    [alert] = fake.state.texts("staff-1")
    assert number in alert and COMPANY in alert and "重大" in alert and "35 人" in alert and f"签收 {number}" in alert
    [template] = fake.state.sent("staff-2")
    assert template.path == TEMPLATE_SEND_PATH and template.body is not None
    assert template.body["template_id"] == "TM_WARNING_ALERT"
    assert template.body["data"]["thing1"]["value"] == COMPANY and template.body["data"]["number4"]["value"] == "35"
    assert template.body["data"]["character_string6"]["value"] == number  # what staff need to answer 签收 W…
    for private in (PHONE, STORY, "warner-1", "厂区门口"):
        assert private not in alert and private not in str(template.body)
    assert fake.state.sent("staff-3") == []


@pytest.mark.parametrize(
    ("answers", "reason"),
    [
        ({"workers": "30"}, "涉及职工 30 人（30 人及以上）"),
        ({"signs": "堵路"}, "已出现堵路"),
        ({"signs": "老板失联"}, "已出现老板失联"),
        ({"amount": "60万"}, "涉及金额 600,000.00 元（500,000 元及以上）"),
    ],
)
def test_thirty_workers_a_road_block_an_absconded_owner_or_much_money_is_major(
    warner: Chat, db: Database, answers: dict[str, str], reason: str
) -> None:
    summary = file_until_summary(warner, **answers)
    assert "预警等级：重大" in summary and reason in summary
    assert "预警等级：重大" in warner.say("确认")
    [warning] = warnings_in(db)
    assert warning.level == "重大" and warning.level_reasons == [reason]


def test_a_small_dispute_is_general(warner: Chat, db: Database) -> None:
    assert "预警等级：一般" in file_until_summary(warner, workers="3")
    warner.say("确认")
    [warning] = warnings_in(db)
    assert (warning.level, warning.level_reasons, warning.amount) == ("一般", [], None)


def test_the_menu_key_starts_the_form_and_only_warners_and_chairs_may_file(svc: Service, staff: Chat) -> None:
    assert "第1项/共11项】什么时候发现的" in Chat(svc.wechat, "chair-1").click("WARNING")
    assert "只能由企业工会主席、劳动争议预警员填写" in Chat(svc.wechat, "staff-3").click("WARNING")


def test_a_retried_confirm_makes_one_case_and_one_alert_per_staff_member(
    svc: Service, warner: Chat, staff: Chat, db: Database, fake: FakeWechatServer
) -> None:
    file_until_summary(warner, workers="12")
    first = svc.wechat.text("warner-1", "确认", msg_id=424242)
    again = svc.wechat.text("warner-1", "确认", msg_id=424242)
    assert first.content == again.content and "回执号 W" in (first.content or "")
    assert "已经提交过了" in warner.say("确认")
    assert len(warnings_in(db)) == 1
    with db.transaction() as session:
        keys = session.exec(select(OutboxMessage.idempotency_key).where(OutboxMessage.openid != "warner-1")).all()
    warning_id = warnings_in(db)[0].id
    assert sorted(keys) == [f"warning:{warning_id}:alert:staff-1", f"warning:{warning_id}:alert:staff-2"]
    svc.services.outbox.drain()
    assert len(fake.state.sent("staff-1")) == len(fake.state.sent("staff-2")) == 1


def test_staff_walk_a_case_from_acknowledgement_to_closure_and_reopen_it(
    svc: Service, warner: Chat, staff: Chat, db: Database, clock: Clock, fake: FakeWechatServer
) -> None:
    number = file(warner, workers="12")
    staff.dialogue(
        [
            (f"签收 {number}", f"{number} 已由“已上报”改为“已签收”"),
            (f"核实 {number}", "改为“核实中”"),
            (f"调处 {number}", "改为“调处中”（调处第1天/共15天）"),
        ]
    )
    clock.now = NOW + timedelta(days=3)
    assert "状态：调处中（调处第4天/共15天）" in staff.say(f"查看 {number}")
    assert "调处第4天/共15天" in warner.say(f"查看 {number}")
    staff.dialogue(
        [
            (f"化解 {number}", "需要写明说明"),
            (f"化解 {number} 双方达成协议，月底前付清", "改为“已化解”"),
            (f"回访 {number} 企业已按协议付款", "改为“已回访”"),
            (f"结案 {number}", "改为“已结案”"),
            (f"重新打开 {number}", "需要写明原因"),
            (f"重新打开 {number} 企业未按协议付清尾款", "由“已结案”改为“核实中”"),
        ]
    )
    [warning] = warnings_in(db)
    assert warning.state == "verifying"
    assert warning.acknowledged_at == NOW and warning.mediation_started_at == NOW
    assert warning.outcome_at is None and warning.closed_at is None
    events = events_of(db, warning.id)
    assert [(e.from_state, e.to_state) for e in events] == [
        (None, "submitted"),
        ("submitted", "acknowledged"),
        ("acknowledged", "verifying"),
        ("verifying", "mediating"),
        ("mediating", "resolved"),
        ("resolved", "follow_up"),
        ("follow_up", "closed"),
        ("closed", "verifying"),
    ]
    assert {e.actor for e in events[1:]} == {"staff-1"}
    assert events[4].note == "双方达成协议，月底前付清" and events[4].at == NOW + timedelta(days=3)

    svc.services.outbox.drain()
    updates = fake.state.texts("warner-1")
    assert len(updates) == 7 and all(number in update for update in updates)
    assert "当前状态：已签收" in updates[0]
    assert "当前状态：调处中（调处第1天/共15天）" in updates[2]
    assert "说明：双方达成协议，月底前付清" in updates[3]
    assert "当前状态：核实中" in updates[6] and "企业未按协议付清尾款" in updates[6]


def test_a_failed_mediation_referred_to_arbitration_is_referred(warner: Chat, staff: Chat, db: Database) -> None:
    number = file(warner)
    for verb in ("签收", "调处"):
        staff.say(f"{verb} {number}")
    staff.dialogue([(f"未化解 {number} 转仲裁", "改为“已转仲裁/诉讼/监察”"), (f"结案 {number}", "改为“已结案”")])
    [warning] = warnings_in(db)
    assert warning.state == "closed" and warning.outcome_at is not None and warning.closed_at is not None


def test_an_invalid_move_names_the_current_state_and_what_is_possible(warner: Chat, staff: Chat, db: Database) -> None:
    number = file(warner)
    reply = staff.say(f"核实 {number}")
    assert f"{number} 当前状态为“已上报”，不能“核实”" in reply
    assert f"现在可以：“签收 {number}”、“不属实 {number}”" in reply
    assert "不能“化解”" in staff.say(f"化解 {number} 已解决")
    assert "最多 300 个字，您写了 301 个字" in staff.say(f"不属实 {number} " + "误" * 301)
    staff.say(f"不属实 {number} 经核实为误传")
    assert "现在可以：“结案" in staff.say(f"签收 {number}")
    assert "没有找到预警 W9999" in staff.say("签收 W9999")
    [warning] = warnings_in(db)
    assert warning.state == "void" and warning.acknowledged_at is None
    assert [e.to_state for e in events_of(db, warning.id)] == ["submitted", "void"]


def test_staff_change_the_level_and_the_rules_level_is_kept(
    svc: Service, warner: Chat, staff: Chat, db: Database, fake: FakeWechatServer
) -> None:
    number = file(warner, signs="堵路")
    staff.dialogue(
        [
            (f"定级 {number} 重大", "请写明新的等级和原因"),
            (f"定级 {number} 特大 人多", "等级可选：一般、较大、重大"),
            (f"定级 {number} 重大 原因", "已经是“重大”"),
            (f"定级 {number} 较大 经核实已疏导，无堵路", "由“重大”调整为“较大”（规则判定：重大）"),
        ]
    )
    [warning] = warnings_in(db)
    assert (warning.level, warning.computed_level, warning.state) == ("较大", "重大", "submitted")
    [_, event] = events_of(db, warning.id)
    assert (event.from_state, event.to_state, event.actor) == ("submitted", "submitted", "staff-1")
    assert event.note == "重大→较大，经核实已疏导，无堵路"
    assert "等级：较大（规则判定：重大）" in staff.say(f"查看 {number}")
    svc.services.outbox.drain()
    [update] = fake.state.texts("warner-1")
    assert "预警等级由“重大”调整为“较大”" in update


def test_only_staff_move_cases_and_only_the_own_enterprise_sees_them(
    svc: Service, warner: Chat, staff: Chat, db: Database
) -> None:
    number = file(warner)
    refusal = warner.say(f"签收 {number}")
    assert "由街道总工会工作人员办理，您不能“签收”" in refusal and f"查看 {number}" in refusal
    other = Chat(svc.wechat, "chair-2")
    assert f"不能查看 {number}" in other.say(f"查看 {number}")
    assert "您不能“结案”" in other.say(f"结案 {number}")
    own = Chat(svc.wechat, "chair-1").say(f"查看 {number}")
    assert f"【劳动争议预警 {number}】" in own and STORY in own and "可办理" not in own
    assert "可办理：“签收" in staff.say(f"查看 {number}")
    [warning] = warnings_in(db)
    assert warning.state == "submitted" and len(events_of(db, warning.id)) == 1


def test_photos_are_fetched_into_encrypted_files_and_linked_for_staff_only(
    svc: Service, warner: Chat, staff: Chat, db: Database, clock: Clock, settings: Settings
) -> None:
    file_until_summary(warner)
    warner.dialogue([("修改 10", "现场照片"), ("跳过", "请核对")])
    warner.dialogue([("修改 10", "现场照片")])
    warner.send_image("m-gate")
    warner.send_image("m-crowd")
    warner.dialogue([("完成", "10. 现场照片、材料：2 张图片")])
    number = receipt_of(warner.say("确认"))
    assert "另有 2 张正在从微信取回" in staff.say(f"查看 {number}")
    svc.services.outbox.drain()
    [warning] = warnings_in(db)
    with db.transaction() as session:
        files = list(session.exec(select(StoredFile).order_by(col(StoredFile.id))).all())
    assert [(f.media_id, f.owner) for f in files] == [
        ("m-gate", f"warning:{warning.id}"),
        ("m-crowd", f"warning:{warning.id}"),
    ]
    assert all(f.path and not (stored_bytes(settings, f.path) or b"\x89PNG").startswith(b"\x89PNG") for f in files)
    view = staff.say(f"查看 {number}")
    assert view.count("/files/media/") == 2 and "正在从微信取回" not in view
    link = next(line.split(" ", 1)[1] for line in view.splitlines() if "/files/" in line)
    served = svc.client.get(urlsplit(link).path + "?" + urlsplit(link).query)
    assert served.status_code == 200 and served.content.startswith(b"\x89PNG")
    assert "/files/" not in warner.say(f"查看 {number}")


def test_a_long_case_is_shown_in_pages_that_fit_wechat(warner: Chat, staff: Chat) -> None:
    file_until_summary(warner)
    long_story = "职工反映车间连续加班未付加班费，" * 31
    warner.dialogue([("修改 6", "起因和经过"), (long_story[:500], "请核对")])
    number = receipt_of(warner.say("确认"))
    first = staff.say(f"查看 {number}")
    assert len(first.encode()) <= 2000 and "回复“更多”查看下一页" in first
    rest = staff.say("更多")
    assert len(rest.encode()) <= 2000 and "可办理：“签收" in first + rest


def test_a_warner_typing_a_verb_inside_the_form_is_answering_the_form(warner: Chat, db: Database) -> None:
    file_until_summary(warner)
    warner.dialogue([("修改 9", "已采取了哪些措施"), ("核实情况后已向老板反映", "请核对")])
    assert "9. 已采取的措施：核实情况后已向老板反映" in warner.last


def test_off_duty_and_inactive_staff_are_not_alerted(
    svc: Service, warner: Chat, db: Database, fake: FakeWechatServer
) -> None:
    with db.transaction() as session:
        left = session.exec(select(Member).where(Member.openid == "staff-2")).one()
        left.active = False
        session.add(left)
    file_until_summary(warner)
    assert "已通知街道总工会值班人员（1 人）" in warner.say("确认")
    svc.services.outbox.drain()
    assert [call.path for call in fake.state.sent("staff-1")] == [TEMPLATE_SEND_PATH]
    assert fake.state.sent("staff-2") == [] and fake.state.sent("staff-3") == []


def test_recording_the_same_submission_twice_keeps_one_case(warner: Chat, db: Database, settings: Settings) -> None:
    file_until_summary(warner, workers="12")
    warner.say("确认")
    with db.transaction() as session:
        [record] = session.exec(select(Submission)).all()
        assessment = assess(level_rules(), warnings.facts(record.answers))
        again, created = warnings.record_warning(session, record, assessment, ["x"], settings.zone)
    [warning] = warnings_in(db)
    assert created is False and again.id == warning.id and warning.level_reasons == ["涉及职工 12 人（10 人及以上）"]
    assert len(events_of(db, warning.id)) == 1


def test_staff_go_off_and_on_duty_by_message(
    svc: Service, staff: Chat, warner: Chat, db: Database, fake: FakeWechatServer, clock: Clock
) -> None:
    """staff-1 goes on leave: the next warning alerts only staff-2; back on duty, the one after alerts both."""
    assert "您目前在值班" in staff.say("值班")
    reply = staff.say("值班 关")
    assert "已关闭值班" in reply and "其他值班人员：staff-2" in reply
    with db.transaction() as session:
        assert not session.exec(select(Member).where(Member.openid == "staff-1")).one().on_duty
    file_until_summary(warner)
    assert "已通知街道总工会值班人员（1 人）" in warner.say("确认")
    svc.services.outbox.drain()
    assert fake.state.sent("staff-1") == [] and len(fake.state.sent("staff-2")) == 1
    assert "已开启值班" in staff.say("值班 开")
    clock.advance(minutes=20)
    file(warner)
    svc.services.outbox.drain()
    assert len(fake.state.sent("staff-1")) == 1 and len(fake.state.sent("staff-2")) == 2


def test_the_last_one_off_duty_is_told_nobody_gets_the_instant_alerts(svc: Service, staff: Chat, db: Database) -> None:
    with db.transaction() as session:
        admin = session.exec(select(Member).where(Member.openid == "staff-2")).one()
        admin.on_duty = False
        session.add(admin)
    assert "目前只有您一人值班" in staff.say("值班")
    assert "没有任何工作人员值班" in staff.say("值班 关")
    assert "值班" not in Chat(svc.wechat, "chair-1").say("值班 关")  # a chair gets the help, not a switch

"""困难职工帮扶 through the real endpoint: a chair files for a worker, staff walk the case, privacy holds."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import col, select

from bot.devtools.fake_wechat import FakeWechatServer
from bot.dialog import sealed
from bot.dialog.forms import FORMS_DIR, FormError, parse_form
from config.settings import Settings
from domain.enums import HardshipState
from domain.workflows.hardship import add_working_days
from storage import crypto
from storage.db import Database
from storage.models import AuditLog, CaseEvent, Draft, HardshipApplication, OutboxMessage, StoredFile, Submission
from tests.conftest import enroll, make_settings, stored_bytes
from tests.harness import NOW, Chat, Clock, Service, running_service

ID_NUMBER = "330211198503121238"
BAD_ID = "330211198503121237"
MASKED = "330211********1238"


@pytest.fixture
def settings(database_url: str, fake: FakeWechatServer, tmp_path: Path) -> Settings:
    return make_settings(database_url, fake.url, files_dir=tmp_path / "files")


@pytest.fixture
def svc(settings: Settings, db: Database, clock: Clock) -> Iterator[Service]:
    enroll(db, "chair-1")
    enroll(db, "warner-1", role="warner")
    enroll(db, "chair-2", enterprise="宁波另一家机械有限公司")
    enroll(db, "staff-1", role="staff", enterprise=None)
    with running_service(settings, clock=clock) as running:
        yield running


def filing(id_number: str = ID_NUMBER) -> list[tuple[str, str]]:
    return [
        ("帮扶", "个人信息处理告知"),
        ("是", "职工的姓名"),
        ("张三", "身份证号码"),
        (BAD_ID, "校验码对不上"),
        (id_number, "联系电话"),
        ("13812345678", "申请哪一类"),
        ("1", "致困原因"),
        ("1、5", "共同生活的家庭成员"),
        ("配偶", "年龄"),
        ("45", "工作单位"),
        ("无业", "年收入"),
        ("0", "已记下第1条"),
        ("是", "第2条"),
        ("儿子", "年龄"),
        ("16", "工作单位"),
        ("宁波市第一中学", "年收入"),
        ("0", "已记下第2条"),
        ("否", "可支配收入"),
        ("36000", "刚性支出"),
        ("12000", "帮扶方式"),
        ("临时救助", "申请帮扶的金额"),
        ("3000", "困难情况"),
        ("本人患尿毒症，每周透析三次", "证明材料"),
    ]


def file_application(chat: Chat, id_number: str = ID_NUMBER, photos: tuple[str, ...] = ("m-sign", "m-bill")) -> str:
    """Fill the whole form; returns the summary the chair is asked to confirm."""
    chat.dialogue(filing(id_number))
    for media_id in photos:
        assert "已收到" in chat.send_image(media_id)
    return chat.say("完成")


def rows(db: Database) -> list[HardshipApplication]:
    with db.transaction() as session:
        return list(session.exec(select(HardshipApplication).order_by(col(HardshipApplication.id))).all())


def events(db: Database) -> list[tuple[str | None, str]]:
    with db.transaction() as session:
        found = session.exec(select(CaseEvent).order_by(col(CaseEvent.id))).all()
        return [(e.from_state, e.to_state) for e in found]


def audits(db: Database) -> list[tuple[str, str, str]]:
    with db.transaction() as session:
        found = session.exec(select(AuditLog).order_by(col(AuditLog.id))).all()
        return [(a.actor, a.action, a.subject) for a in found]


def test_a_chair_files_for_a_worker_with_household_photos_and_consent(
    svc: Service, db: Database, fake: FakeWechatServer, settings: Settings
) -> None:
    chat = Chat(svc.wechat, "chair-1")
    summary = file_application(chat)
    assert MASKED in summary and ID_NUMBER not in summary
    assert "共同生活的家庭成员：2 条" in summary
    assert "家庭月人均收入（扣除刚性支出）：666.67 元" in summary
    assert "参考类别：深度困难" in summary
    reply = chat.say("确认")
    assert "已提交，回执号 H" in reply and "参考类别：深度困难" in reply
    [row] = rows(db)
    assert row.state == HardshipState.SUBMITTED and row.receipt in reply
    assert row.household_size == 3 and row.per_capita_monthly == Decimal("666.67")
    assert row.suggested_category == "深度困难" and row.category == "深度困难"
    assert row.annual_income == Decimal("36000") and row.amount_requested == Decimal("3000")
    assert row.consent_version == "2026-1" and row.consent_at is not None
    assert row.id_masked == MASKED and row.id_digest == crypto.digest(settings.data_key, ID_NUMBER)
    for column in (row.id_number_enc, row.phone_enc, row.household_enc, row.description_enc):
        assert ID_NUMBER not in column and "13812345678" not in column and "尿毒症" not in column
    assert crypto.decrypt(settings.data_key, row.id_number_enc) == ID_NUMBER
    assert "儿子" in crypto.decrypt(settings.data_key, row.household_enc)
    with db.transaction() as session:
        [record] = session.exec(select(Submission)).all()
        [draft] = session.exec(select(Draft)).all()
    assert ID_NUMBER not in str(record.answers) and "sealed" in str(record.answers["id_number"])
    assert ID_NUMBER not in str(draft.state) and "尿毒症" not in str(draft.state)
    assert events(db) == [(None, "submitted")]
    svc.services.outbox.drain()
    # Staff are alerted (template message: they are outside the 48-hour window), with nothing personal.
    [alert] = [c for c in fake.state.sent("staff-1")]
    assert alert.body is not None and alert.body["data"]["character_string1"]["value"] == row.receipt
    assert "张三" not in str(alert.body) and ID_NUMBER not in str(alert.body)
    # A double 确认 files nothing twice.
    assert "已经提交过了" in chat.say("确认")
    assert len(rows(db)) == 1


def test_photos_are_fetched_through_the_outbox_stored_encrypted_and_linked_for_staff(
    svc: Service, db: Database, settings: Settings, clock: Clock
) -> None:
    chair = Chat(svc.wechat, "chair-1")
    file_application(chair)
    chair.say("确认")
    [row] = rows(db)
    staff = Chat(svc.wechat, "staff-1")
    assert "正在从微信取回" in staff.say(f"查看 {row.receipt}")
    svc.services.outbox.drain()
    with db.transaction() as session:
        files = list(session.exec(select(StoredFile).order_by(col(StoredFile.id))).all())
        fetches = session.exec(select(OutboxMessage).where(OutboxMessage.kind == "media")).all()
    assert [f.media_id for f in files] == ["m-sign", "m-bill"]
    assert all(m.status == "sent" for m in fetches)
    for stored in files:
        assert stored.path is not None and stored.path.startswith(f"media/hardship-{row.id}/")
        assert stored.path.endswith(".png.enc") and stored.stored_at is not None
        at_rest = stored_bytes(settings, stored.path)
        assert at_rest and not at_rest.startswith(b"\x89PNG") and stored.size and stored.sha256
    view = staff.say(f"查看 {row.receipt}")
    assert "证明材料照片" in view and view.count("/files/media/") == 2
    link = next(line.split(" ", 1)[1] for line in view.splitlines() if "/files/" in line)
    served = svc.client.get(urlsplit(link).path + "?" + urlsplit(link).query)
    assert served.status_code == 200 and served.content.startswith(b"\x89PNG")
    actions = [a for a in audits(db) if a[0] == "staff-1"]
    assert actions.count(("staff-1", "view", row.receipt)) == 2
    assert actions.count(("staff-1", "photo_link", row.receipt)) == 2


def test_refusing_consent_ends_the_form_politely_and_keeps_nothing(svc: Service, db: Database) -> None:
    chat = Chat(svc.wechat, "chair-1")
    chat.dialogue([("帮扶", "是否已阅读并签署同意"), ("否", "暂时不能提交")])
    assert "帮扶" in chat.last
    with db.transaction() as session:
        assert session.exec(select(Draft)).all() == []
    assert rows(db) == []
    assert "个人信息处理告知" in chat.say("帮扶")


def _values(data: dict[str, dict[str, str]]) -> dict[str, str]:
    return {keyword: item["value"] for keyword, item in data.items()}


def test_staff_walk_the_case_and_the_chair_corrects_a_returned_application(
    svc: Service, db: Database, fake: FakeWechatServer, clock: Clock
) -> None:
    chair = Chat(svc.wechat, "chair-1")
    file_application(chair)
    chair.say("确认")
    [row] = rows(db)
    h = row.receipt
    staff = Chat(svc.wechat, "staff-1")
    assert "请写明退回的原因" in staff.say(f"审核 {h} 退回")
    assert "退回补正" in staff.say(f"审核 {h} 退回 缺少配偶收入证明，请补交")
    svc.services.outbox.drain()
    told = fake.state.texts("chair-1")
    # The reason reaches the chair as staff typed it: the full-width comma is not folded to ",".
    assert any("退回补正" in t and "缺少配偶收入证明，请补交" in t and f"修改申请 {h}" in t for t in told)
    assert not any(ID_NUMBER in t or MASKED in t for t in told)

    clock.now += timedelta(hours=1)
    summary = chair.say(f"修改申请 {h}")
    assert "退回原因：缺少配偶收入证明，请补交" in summary and "1. 职工本人已阅读并签署同意：是" in summary
    assert MASKED in summary and ID_NUMBER not in summary
    chair.dialogue([("修改 8", "可支配收入"), ("48000", "请核对"), ("确认", "已重新提交审核")])
    assert f"以 {h} 查询" in chair.last
    [row] = rows(db)
    assert row.receipt == h and row.state == HardshipState.SUBMITTED
    assert row.annual_income == Decimal("48000") and row.per_capita_monthly == Decimal("1000.00")
    with db.transaction() as session:
        receipts = [record.receipt for record in session.exec(select(Submission).order_by(col(Submission.id)))]
    assert receipts == [h, f"{h}-2"]  # the amendment is a version of its application, not the next application

    assert "不能办理“公示”" in staff.say(f"公示 {h}")
    assert "已入户核实" in staff.say(f"入户 Ｈ{h[1:]} 已入户，情况属实")  # a full-width receipt
    reply = staff.say(f"公示 {h}")
    assert "公示期：2026-11-25 至 2026-12-01" in reply
    # Approval waits for the public notice to run its course, its last day included.
    refused = staff.say(f"审核 {h} 通过 2000 相对困难")
    assert "还在公示期内（2026年11月25日至2026年12月1日），公示期满后才能审核通过" in refused
    clock.now = NOW + timedelta(days=6)
    assert "还在公示期内" in staff.say(f"审核 {h} 通过 2000 相对困难")
    clock.now = NOW + timedelta(days=7)
    assert "审批通过" in staff.say(f"审核 {h} 通过 2000 相对困难")
    assert "认定类别：相对困难，核定金额 2,000.00 元" in staff.last
    svc.services.outbox.drain()  # a week after the chair last wrote: a template message, amount and date in it
    told = [call.body["data"] for call in fake.state.sent("chair-1") if call.body and "template_id" in call.body]
    assert {"thing2": "帮扶申请 核定2,000.00元", "time4": "2026-12-02 10:00"}.items() <= _values(told[-1]).items()
    chair.say(f"查看 {h}")  # the chair writes again: the next notice is a text
    clock.now = NOW + timedelta(days=8)
    assert "发放金额 2,000.00 元，发放日期 2026-12-03" in staff.say(f"发放 {h} 2000")
    svc.services.outbox.drain()
    assert "已于2026年12月3日发放 2,000.00 元" in fake.state.texts("chair-1")[-1]
    assert "年度复核" in staff.say(f"复核 {h} 收入未见改善")
    assert "已退出" in staff.say(f"退出 {h} 已再就业")
    assert "不能办理" in staff.say(f"发放 {h} 100")

    [row] = rows(db)
    assert row.approved_category == "相对困难" and row.approved_amount == Decimal("2000")
    assert row.paid_amount == Decimal("2000") and row.paid_on == date(2026, 12, 3)
    assert row.notice_start == date(2026, 11, 25) and row.notice_end == date(2026, 12, 1)
    assert events(db) == [
        (None, "submitted"),
        ("submitted", "returned"),
        ("returned", "submitted"),
        ("submitted", "visited"),
        ("visited", "notice"),
        ("notice", "approved"),
        ("approved", "paid"),
        ("paid", "review"),
        ("review", "exited"),
    ]
    svc.services.outbox.drain()
    updates = [c for c in fake.state.sent("chair-1")]
    states = ["退回补正", "已入户核实", "公示中", "审批通过", "已发放", "年度复核", "已退出"]
    for state in states:
        assert any(state in str(c.body) for c in updates), state
    assert not any(ID_NUMBER in str(c.body) or "张三" in str(c.body) for c in updates)


def test_duplicates_within_the_window_are_flagged_to_staff(svc: Service, db: Database, fake: FakeWechatServer) -> None:
    first = Chat(svc.wechat, "chair-1")
    file_application(first)
    first.say("确认")
    second = Chat(svc.wechat, "chair-2")
    file_application(second, photos=("m-other",))
    second.say("确认")
    older, newer = rows(db)
    assert older.duplicate_of == [] and newer.duplicate_of == [older.receipt]
    svc.services.outbox.drain()
    alerts = [str(c.body) for c in fake.state.sent("staff-1")]
    assert len(alerts) == 2
    view = Chat(svc.wechat, "staff-1").say(f"查看 {newer.receipt}")
    assert f"重复提醒：该身份证号 365 天内还有申请 {older.receipt}" in view
    # The staff member now talks to the account, so the next alert is a text that names the duplicate.
    third = Chat(svc.wechat, "chair-1")
    file_application(third, photos=("m-third",))
    third.say("确认")
    svc.services.outbox.drain()
    [text] = fake.state.texts("staff-1")
    assert "⚠ 该身份证号近期已有申请" in text and older.receipt in text and MASKED in text


def test_who_may_file_see_and_move_a_case(svc: Service, db: Database) -> None:
    warner = Chat(svc.wechat, "warner-1")
    assert "只能由企业工会主席填写" in warner.say("帮扶")
    chair = Chat(svc.wechat, "chair-1")
    file_application(chair)
    chair.say("确认")
    [row] = rows(db)
    assert "没有找到您可以查看" in warner.say(f"查看 {row.receipt}")
    other = Chat(svc.wechat, "chair-2")
    assert "没有找到您可以查看" in other.say(f"查看 {row.receipt}")
    assert "没有找到您可以查看" in other.say(f"修改申请 {row.receipt}")
    assert "只能由街道总工会工作人员" in chair.say(f"审核 {row.receipt} 通过 2000")
    assert "只能由街道总工会工作人员" in warner.say(f"入户 {row.receipt} 看过了")
    own = chair.say(f"查看 {row.receipt}")
    assert "已提交待审核" in own and MASKED in own and ID_NUMBER not in own and "/files/" not in own
    assert "只有被退回补正的申请才能修改" in chair.say(f"修改申请 {row.receipt}")
    staff = Chat(svc.wechat, "staff-1")
    assert "没看懂这条办理指令" in staff.say(f"审核 {row.receipt} 同意")
    assert "没有找到您可以查看" in staff.say("查看 H999")
    assert rows(db)[0].state == HardshipState.SUBMITTED
    assert [a[:2] for a in audits(db)] == [("chair-1", "view")]


def test_a_notice_lasts_working_days() -> None:
    assert add_working_days(date(2026, 11, 25), 5) == date(2026, 12, 1)
    assert add_working_days(date(2026, 11, 28), 1) == date(2026, 11, 30)
    assert add_working_days(date(2026, 11, 30), 5) == date(2026, 12, 4)


@given(start=st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31)), days=st.integers(1, 30))
def test_a_notice_ends_on_a_working_day_after_exactly_that_many_working_days(start: date, days: int) -> None:
    end = add_working_days(start, days)
    span = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    assert end.weekday() < 5 and sum(d.weekday() < 5 for d in span) == days


@given(value=st.recursive(st.none() | st.booleans() | st.integers() | st.text(), lambda inner: st.lists(inner)))
def test_a_sealed_answer_opens_to_itself_and_hides_its_text(value: object) -> None:
    key = Settings(_env_file=None).data_key  # type: ignore[call-arg]
    sealed_value = sealed.seal(key, value)
    assert sealed.unseal(key, sealed_value) == value
    assert sealed.unseal(key, value) == value or isinstance(value, dict)
    if isinstance(value, str) and len(value) >= 12:
        assert value not in json.dumps(sealed_value, ensure_ascii=False)


@pytest.mark.parametrize(
    ("position", "stop_if", "message"),
    [
        (0, "not later", "stop_if names ['later']"),
        (1, "worker_name == '无'", "missing templates ['forms/hardship/worker_name.stop.j2']"),
    ],
)
def test_a_stopping_field_is_checked_when_the_form_loads(position: int, stop_if: str, message: str) -> None:
    """`stop_if` (the consent question ends the form) may name only answers so far and needs a `.stop.j2`."""
    data = yaml.safe_load((FORMS_DIR / "hardship.yaml").read_text(encoding="utf-8"))
    data["fields"][position]["stop_if"] = stop_if
    with pytest.raises(FormError) as raised:
        parse_form(data, "hardship.yaml")
    assert message in str(raised.value)


def test_a_photo_wechat_no_longer_has_is_reported_to_staff(svc: Service, db: Database) -> None:
    chair = Chat(svc.wechat, "chair-1")
    file_application(chair, photos=("expired-sign", "m-bill"))
    chair.say("确认")
    svc.services.outbox.drain()
    [row] = rows(db)
    with db.transaction() as session:
        fetches = {m.payload["media_id"]: m for m in session.exec(select(OutboxMessage)) if m.kind == "media"}
    assert fetches["expired-sign"].status == "failed" and fetches["expired-sign"].errcode == 40007
    assert fetches["m-bill"].status == "sent"
    view = Chat(svc.wechat, "staff-1").say(f"查看 {row.receipt}")
    assert "1 张照片已无法从微信取回" in view and view.count("/files/media/") == 1


def test_the_case_log_dates_each_step_on_the_federations_calendar(svc: Service, db: Database, clock: Clock) -> None:
    clock.now = datetime(2026, 11, 25, 17, 30, tzinfo=UTC)  # 01:30 on 26 November in Ningbo
    chair = Chat(svc.wechat, "chair-1")
    file_application(chair)
    chair.say("确认")
    [row] = rows(db)
    assert "2026-11-26 已提交待审核" in Chat(svc.wechat, "staff-1").say(f"查看 {row.receipt}")

"""帮扶 on the desk: staff find the application a chair filed, read it with its photos, and walk it to payment.

Every action is the chat's command run as the staff member, so the chair hears exactly what the chat would
have told them; a twin application walked through the chat is the yardstick.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlmodel import col, select

from bot.devtools.fake_wechat import FakeWechatServer, png_for
from config.settings import Settings
from domain.enums import HardshipState
from storage.db import Database
from storage.models import AuditLog, HardshipApplication
from tests import staff_factories as make
from tests.conftest import enroll
from tests.desk.conftest import sign_in
from tests.harness import Chat, Clock, Service, running_service
from tests.test_hardship import ID_NUMBER, MASKED, events, file_application, rows


@pytest.fixture
def svc(settings: Settings, db: Database, clock: Clock) -> Iterator[Service]:
    enroll(db, "chair-1")
    enroll(db, "chair-2", enterprise="宁波另一家机械有限公司")
    enroll(db, "staff-1", role="staff", enterprise=None)
    enroll(db, "admin-1", role="admin", enterprise=None)
    with running_service(settings, clock=clock) as running:
        yield running


def filed(svc: Service, chair: str = "chair-1", photos: tuple[str, ...] = ("m-sign", "m-bill")) -> str:
    """A chair files through the chat and the photos are fetched; returns the receipt."""
    chat = Chat(svc.wechat, chair)
    file_application(chat, photos=photos)
    reply = chat.say("确认")
    svc.services.outbox.drain()
    found = re.search(r"回执号 (H\d+)", reply)
    assert found, reply
    return found[1]


def application(db: Database, receipt: str) -> HardshipApplication:
    [row] = [row for row in rows(db) if row.receipt == receipt]
    return row


def audits(db: Database, actor: str) -> list[tuple[str, str, str]]:
    with db.transaction() as session:
        found = session.exec(select(AuditLog).where(AuditLog.actor == actor).order_by(col(AuditLog.id))).all()
        return [(a.action, a.subject, a.detail) for a in found]


def act(svc: Service, csrf: str, receipt: str, action: str, **fields: str) -> str:
    """Press an action's button on the case page; returns the page it lands on."""
    page = svc.client.post(f"/desk/hardship/{receipt}/act", data={"csrf": csrf, "action": action, **fields})
    assert page.status_code == 200, page.text
    return page.text


def test_staff_find_the_application_in_the_queue_and_the_listing_is_audited(svc: Service, db: Database) -> None:
    receipt = filed(svc)
    sign_in(svc, "staff-1")
    page = svc.client.get("/desk/hardship")
    assert page.status_code == 200
    assert f'href="/desk/hardship/{receipt}"' in page.text
    assert "张三" in page.text and "宁波示例纺织有限公司" in page.text and "3,000.00" in page.text
    assert "已提交" in page.text and "2026-11-25" in page.text and ID_NUMBER not in page.text
    assert ("view", "hardship:pending", receipt) in audits(db, "staff-1")

    paid_only = svc.client.get("/desk/hardship?state=paid")
    assert receipt not in paid_only.text and "没有这个状态的申请" in paid_only.text
    assert receipt in svc.client.get("/desk/hardship?state=all").text
    assert [a for a in audits(db, "staff-1") if a[1] == "hardship:paid"] == []  # an empty list shows no one


def test_the_queue_is_paged_oldest_first(svc: Service, db: Database, settings: Settings, clock: Clock) -> None:
    with db.transaction() as session:
        company = make.enterprise(session, "宁波分页测试有限公司")
        made = [
            make.application(session, company, clock.now - timedelta(days=60 - n), data_key=settings.data_key).receipt
            for n in range(55)
        ]
    sign_in(svc, "staff-1")
    first = svc.client.get("/desk/hardship").text
    assert made[0] in first and made[49] in first and made[50] not in first
    assert first.index(made[0]) < first.index(made[1]) and "第 1 / 2 页" in first
    assert '<td class="num">60</td>' in first  # the oldest has waited sixty days
    second = svc.client.get("/desk/hardship?page=2").text
    assert made[50] in second and made[54] in second and made[0] not in second


def test_the_case_page_shows_what_chat_shows_staff_with_the_id_masked_and_the_photos(
    svc: Service, db: Database
) -> None:
    receipt = filed(svc)
    duplicate = filed(svc, "chair-2", photos=("m-other",))
    sign_in(svc, "staff-1")
    page = svc.client.get(f"/desk/hardship/{duplicate}").text
    assert MASKED in page and ID_NUMBER not in page and "显示完整" not in page
    assert "138****5678" in page and "13812345678" not in page
    assert "配偶" in page and "宁波市第一中学" in page and "3 人" in page
    assert "666.67 元" in page and "1,135.00 元/人·月" in page and "为低保标准的 58.7%" in page
    assert "低于低保标准" in page and "本人患尿毒症，每周透析三次" in page
    assert f'href="/desk/hardship/{receipt}">{receipt}</a>' in page and "365 天内还有申请" in page
    assert "已提交" in page and "2026-11-25 10:00" in page
    assert [a[:2] for a in audits(db, "staff-1")] == [("view", duplicate)]

    first = svc.client.get(f"/desk/hardship/{receipt}").text
    assert "365 天内没有其他申请" not in first  # the later application flags it too
    photos = re.findall(rf'<img src="(/desk/hardship/{receipt}/photos/\d)"', first)
    assert photos == [f"/desk/hardship/{receipt}/photos/1", f"/desk/hardship/{receipt}/photos/2"]
    served = svc.client.get(photos[0])
    assert served.status_code == 200 and served.headers["content-type"] == "image/png"
    assert served.content == png_for("m-sign")
    assert svc.client.get(f"/desk/hardship/{receipt}/photos/3").status_code == 404
    assert svc.client.get(f"/desk/hardship/{receipt}/photos/0").status_code == 404
    assert svc.client.get("/desk/hardship/H999/photos/1").status_code == 404
    photo_views = [a for a in audits(db, "staff-1") if a[0] == "photo_view"]
    assert len(photo_views) == 1 and photo_views[0][1] == receipt and photo_views[0][2].endswith(".png.enc")


def test_staff_take_an_application_to_payment_and_the_chair_hears_what_the_chat_tells(
    svc: Service, db: Database, fake: FakeWechatServer, clock: Clock
) -> None:
    receipt = filed(svc)
    twin = filed(svc, "chair-2", photos=("m-other",))
    csrf = sign_in(svc, "staff-1")
    steps = [
        ("入户", {"note": "已入户，情况属实"}, f"入户 {twin} 已入户，情况属实", "visited", "已入户核实"),
        ("公示", {}, f"公示 {twin}", "notice", "公示期：2026-11-25 至 2026-12-01"),
        ("通过", {"amount": "800", "category": "相对困难"}, f"审核 {twin} 通过 800 相对困难", "approved", "800.00"),
        ("发放", {"amount": "800"}, f"发放 {twin} 800", "paid", "发放金额 800.00 元"),
    ]
    staff = Chat(svc.wechat, "staff-1")
    for action, fields, typed, state, said in steps:
        if action == "通过":  # approval waits for the public notice to end, in the chat as on the desk
            clock.advance(days=7)
            csrf = sign_in(svc, "staff-1")
        page = act(svc, csrf, receipt, action, **fields)
        assert said in page and "已通知填报的工会主席" in page
        assert application(db, receipt).state == state
        staff.say(typed)
        assert application(db, twin).state == state
    row = application(db, receipt)
    assert row.approved_amount == Decimal("800") and row.approved_category == "相对困难"
    assert row.paid_amount == Decimal("800") and row.paid_on is not None
    assert [e for e in events(db) if e[0] is not None] == [
        (before, after)
        for before, after in [
            ("submitted", "visited"),
            ("visited", "notice"),
            ("notice", "approved"),
            ("approved", "paid"),
        ]
        for _ in (receipt, twin)
    ]
    svc.services.outbox.drain()
    told = [json.dumps(call.body, ensure_ascii=False) for call in fake.state.sent("chair-1")]
    assert len(told) == 4 and "已发放" in told[-1] and ID_NUMBER not in "".join(told)
    twin_told = [json.dumps(call.body, ensure_ascii=False) for call in fake.state.sent("chair-2")]
    assert told == [text.replace(twin, receipt).replace("chair-2", "chair-1") for text in twin_told]
    assert "复核" in svc.client.get(f"/desk/hardship/{receipt}").text  # what 已发放 allows next


def test_a_return_without_a_reason_is_refused_as_in_the_chat(svc: Service, db: Database) -> None:
    receipt = filed(svc)
    csrf = sign_in(svc, "staff-1")
    page = act(svc, csrf, receipt, "退回")
    assert "请写明退回的原因" in page and f"审核 {receipt} 退回 缺少收入证明" in page
    assert application(db, receipt).state == HardshipState.SUBMITTED
    assert "不能办理“公示”" in act(svc, csrf, receipt, "公示")  # not offered, and refused when forged
    assert [e[1] for e in events(db)] == ["submitted"]
    assert "退回补正" in act(svc, csrf, receipt, "退回", note="缺少配偶收入证明")
    assert application(db, receipt).return_reason == "缺少配偶收入证明"


def test_an_admin_reveals_one_id_number_once_and_it_is_audited(svc: Service, db: Database, clock: Clock) -> None:
    receipt = filed(svc)
    csrf = sign_in(svc, "staff-1")
    refused = svc.client.post(f"/desk/hardship/{receipt}/reveal", data={"csrf": csrf})
    assert refused.status_code == 403 and ID_NUMBER not in refused.text
    assert [a for a in audits(db, "staff-1") if a[0] == "reveal_id"] == []

    csrf = sign_in(svc, "admin-1")
    page = svc.client.get(f"/desk/hardship/{receipt}").text
    assert MASKED in page and ID_NUMBER not in page and 'id="reveal-id"' in page
    revealed = svc.client.post(f"/desk/hardship/{receipt}/reveal", data={"csrf": csrf})
    assert revealed.status_code == 200 and ID_NUMBER in revealed.text and "此次查看已记录" in revealed.text
    assert ("reveal_id", receipt, "desk") in audits(db, "admin-1")
    assert ID_NUMBER not in svc.client.get(f"/desk/hardship/{receipt}").text  # one page view only

    svc.client.post(f"/desk/hardship/{receipt}/reveal", data={"csrf": csrf}, follow_redirects=False)
    clock.advance(minutes=2)
    assert ID_NUMBER not in svc.client.get(f"/desk/hardship/{receipt}").text  # a stale reveal shows nothing


def test_unknown_receipts_and_forms_without_csrf_are_refused(svc: Service, db: Database) -> None:
    receipt = filed(svc)
    csrf = sign_in(svc, "staff-1")
    missing = svc.client.get("/desk/hardship/H999")
    assert missing.status_code == 404 and "没有找到帮扶申请 H999" in missing.text
    assert svc.client.post("/desk/hardship/H999/act", data={"csrf": csrf, "action": "公示"}).status_code == 404
    forged = svc.client.post(f"/desk/hardship/{receipt}/act", data={"action": "入户"})
    assert forged.status_code == 403
    assert application(db, receipt).state == HardshipState.SUBMITTED
    svc.client.cookies.clear()
    assert svc.client.get(f"/desk/hardship/{receipt}", follow_redirects=False).status_code == 303
    assert svc.client.get(f"/desk/hardship/{receipt}/photos/1", follow_redirects=False).status_code == 303

"""预警 on the desk: staff find a warning in the queue, open its case and move it by the chat's own rules.

Every action is checked against what the chat does: the same stored moves and case events, and the same
update notices to the reporter, word for word.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlmodel import select

from bot.devtools.fake_wechat import FakeWechatServer
from bot.staff_desk.pages import PAGE_SIZE
from config.settings import Settings
from storage.db import Database
from storage.models import DisputeWarning, Member, OutboxMessage
from tests import staff_factories
from tests.conftest import enroll
from tests.desk.conftest import sign_in
from tests.harness import NOW, Chat, Clock, Service, running_service
from tests.test_dispute_warning import COMPANY, PHONE, STORY, events_of, file, file_until_summary, receipt_of

STAFF_NAME = "李芳"
REPORTER_NAME = "王敏"


@pytest.fixture
def svc(settings: Settings, db: Database, clock: Clock) -> Iterator[Service]:
    enroll(db, "warner-1", "warner", COMPANY)
    enroll(db, "chair-1", "chair", COMPANY)
    enroll(db, "staff-li", "staff")
    with db.transaction() as session:
        for openid, name in (("staff-li", STAFF_NAME), ("warner-1", REPORTER_NAME)):
            member = session.exec(select(Member).where(Member.openid == openid)).one()
            member.name = name
            session.add(member)
    with running_service(settings, clock=clock) as running:
        yield running


@pytest.fixture
def warner(svc: Service) -> Chat:
    return Chat(svc.wechat, "warner-1")


def text_of(page: str) -> str:
    """The page as a person reads it: tags dropped, entities decoded, whitespace folded."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def queue_row(svc: Service, receipt: str, query: str = "") -> str:
    page = svc.client.get(f"/desk/warnings{query}")
    assert page.status_code == 200, page.text
    found = re.search(rf'<tr id="warning-{receipt}">(.*?)</tr>', page.text, re.DOTALL)
    assert found, f"{receipt} not in the queue"
    return found[1]


def act(svc: Service, csrf: str, receipt: str, action: str, note: str = "", **more: str) -> str:
    """Press a button on the case page; returns the notice the next page shows."""
    answer = svc.client.post(
        f"/desk/warnings/{receipt}/act",
        data={"csrf": csrf, "action": action, "note": note, **more},
        follow_redirects=False,
    )
    assert answer.status_code == 303 and answer.headers["location"] == f"/desk/warnings/{receipt}", answer.text
    page = svc.client.get(answer.headers["location"])
    found = re.search(r'<p class="notice" role="status">(.*?)</p>', page.text, re.DOTALL)
    assert found, page.text
    return html.unescape(found[1])


def stored(db: Database, receipt: str) -> DisputeWarning:
    with db.transaction() as session:
        return session.exec(select(DisputeWarning).where(DisputeWarning.receipt == receipt)).one()


def updates_for(svc: Service, fake: FakeWechatServer, receipt: str) -> list[str]:
    """The reporter's notices about one case, as WeChat received them."""
    svc.services.outbox.drain()
    return [text for text in fake.state.texts("warner-1") if receipt in text]


def test_staff_take_a_warning_from_the_queue_to_closure_as_the_chat_would(
    svc: Service, warner: Chat, db: Database, clock: Clock, fake: FakeWechatServer
) -> None:
    """One case is moved by message, its twin by the desk: the replies and the reporter's notices are the same."""
    by_chat = file(warner, workers="12")
    clock.advance(minutes=5)
    by_desk = file(warner, workers="12")
    staff = Chat(svc.wechat, "staff-li")
    csrf = sign_in(svc, "staff-li")

    second = queue_row(svc, by_desk)
    assert '<span class="badge orange">较大</span>' in second and "已上报" in second and COMPANY in second
    assert ">0天<" in second and "调处第" not in second
    queue = svc.client.get("/desk/warnings").text
    assert queue.index(f'id="warning-{by_chat}"') < queue.index(f'id="warning-{by_desk}"')  # oldest first

    case = svc.client.get(f"/desk/warnings/{by_desk}")
    assert case.status_code == 200
    read = text_of(case.text)
    for fact in (STORY, PHONE, COMPANY, REPORTER_NAME, "涉及职工 12 人（10 人及以上）", "2026-11-25 09:00", "厂区门口"):
        assert fact in read, fact
    assert re.findall(r'<button type="submit" name="action" value="([^"]+)"', case.text) == ["签收", "不属实", "定级"]

    steps = [
        ("签收", ""),
        ("核实", ""),
        ("调处", ""),
        ("化解", "双方达成协议，月底前付清"),
        ("结案", ""),
    ]
    states = ["acknowledged", "verifying", "mediating", "resolved", "closed"]
    for (verb, note), state in zip(steps, states, strict=True):
        said = staff.say(f"{verb} {by_chat} {note}".strip())
        notice = act(svc, csrf, by_desk, verb, note)
        assert notice == said.replace(by_chat, by_desk)
        assert stored(db, by_desk).state == state
        if verb == "调处":
            assert "（调处第1天/共15天）" in notice
            assert "调处第1天/共15天" in queue_row(svc, by_desk)
            clock.advance(days=3)
            assert "调处第4天/共15天" in warner.say(f"查看 {by_desk}")  # the reporter is back within WeChat's window
            csrf = sign_in(svc, "staff-li")  # a session lasts eight hours
            assert "调处第4天/共15天" in queue_row(svc, by_desk)
            assert "调处第4天/共15天" in text_of(svc.client.get(f"/desk/warnings/{by_desk}").text)

    warning = stored(db, by_desk)
    started = NOW + timedelta(minutes=5)
    assert warning.acknowledged_at == warning.mediation_started_at == started
    assert warning.outcome_at == warning.closed_at == started + timedelta(days=3)
    events = events_of(db, warning.id)
    assert [(e.from_state, e.to_state, e.actor) for e in events[1:]] == [
        ("submitted", "acknowledged", "staff-li"),
        ("acknowledged", "verifying", "staff-li"),
        ("verifying", "mediating", "staff-li"),
        ("mediating", "resolved", "staff-li"),
        ("resolved", "closed", "staff-li"),
    ]
    assert events[4].note == "双方达成协议，月底前付清"
    chat_events = events_of(db, stored(db, by_chat).id)
    assert [(e.to_state, e.note, e.at) for e in chat_events[1:]] == [(e.to_state, e.note, e.at) for e in events[1:]]

    told = updates_for(svc, fake, by_desk)
    assert len(told) == 5
    assert "当前状态：调处中（调处第1天/共15天）" in told[2] and "说明：双方达成协议，月底前付清" in told[3]
    assert told == [text.replace(by_chat, by_desk) for text in updates_for(svc, fake, by_chat)]

    log = text_of(svc.client.get(f"/desk/warnings/{by_desk}").text)
    assert f"已化解 双方达成协议，月底前付清 {STAFF_NAME}" in log and "staff-li" not in log
    assert "该案件已无可办理的操作" not in log  # a closed case may still be reopened
    assert "重新打开" in log and "状态 已结案" in log


def test_a_move_the_state_does_not_allow_is_refused_with_the_chats_words(
    svc: Service, warner: Chat, db: Database, fake: FakeWechatServer
) -> None:
    number = file(warner)
    csrf = sign_in(svc, "staff-li")
    notice = act(svc, csrf, number, "化解", "已解决")
    assert notice.startswith(f"{number} 当前状态为“已上报”，不能“化解”。")
    assert f"现在可以：“签收 {number}”、“不属实 {number}”" in notice
    assert act(svc, csrf, number, "不属实") == Chat(svc.wechat, "staff-li").say(f"不属实 {number}")
    assert "需要写明说明" in act(svc, csrf, number, "不属实")
    assert "最多 300 个字，您写了 301 个字" in act(svc, csrf, number, "不属实", "误" * 301)
    assert act(svc, csrf, number, "查看") == "请在页面上选择要办理的操作。"
    warning = stored(db, number)
    assert warning.state == "submitted" and warning.outcome_at is None
    assert [e.to_state for e in events_of(db, warning.id)] == ["submitted"]
    assert updates_for(svc, fake, number) == []


def test_staff_change_the_level_with_a_reason_and_the_reporter_is_told(
    svc: Service, warner: Chat, db: Database, fake: FakeWechatServer
) -> None:
    number = file(warner, workers="12")
    csrf = sign_in(svc, "staff-li")
    assert "请写明新的等级和原因" in act(svc, csrf, number, "定级", "", level="重大")
    notice = act(svc, csrf, number, "定级", "涉及人数增至40人", level="重大")
    assert notice == f"{number} 的预警等级已由“较大”调整为“重大”（规则判定：较大）。已告知上报人。"
    warning = stored(db, number)
    assert (warning.level, warning.computed_level, warning.state) == ("重大", "较大", "submitted")
    assert events_of(db, warning.id)[-1].note == "较大→重大，涉及人数增至40人"
    page = svc.client.get(f"/desk/warnings/{number}").text
    assert '<span class="badge red">重大</span>' in page and "（规则判定：较大）" in page
    assert "调整等级 较大→重大，涉及人数增至40人 李芳" in text_of(page)
    [update] = updates_for(svc, fake, number)
    assert "预警等级由“较大”调整为“重大”" in update and "说明：涉及人数增至40人" in update


def test_the_photos_are_shown_through_signed_links_once_fetched(svc: Service, warner: Chat) -> None:
    file_until_summary(warner)
    warner.dialogue([("修改 10", "现场照片")])
    warner.send_image("m-gate")
    warner.send_image("m-crowd")
    warner.dialogue([("完成", "10. 现场照片、材料：2 张图片")])
    number = receipt_of(warner.say("确认"))
    sign_in(svc, "staff-li")
    assert "另有 2 张正在从微信取回" in svc.client.get(f"/desk/warnings/{number}").text
    svc.services.outbox.drain()
    page = svc.client.get(f"/desk/warnings/{number}").text
    sources = re.findall(r'<img src="([^"]+)" alt="现场照片', page)
    assert len(sources) == 2 and all(src.startswith("/files/media/") for src in sources)
    served = svc.client.get(html.unescape(sources[0]))
    assert served.status_code == 200 and served.content.startswith(b"\x89PNG")
    assert "正在从微信取回" not in page


def test_a_post_without_the_csrf_token_changes_nothing(
    svc: Service, warner: Chat, db: Database, fake: FakeWechatServer
) -> None:
    number = file(warner)
    sign_in(svc, "staff-li")
    refused = svc.client.post(f"/desk/warnings/{number}/act", data={"action": "签收"}, follow_redirects=False)
    assert refused.status_code == 403 and "没有执行" in refused.text
    warning = stored(db, number)
    assert warning.state == "submitted" and len(events_of(db, warning.id)) == 1
    with db.transaction() as session:
        assert session.exec(select(OutboxMessage).where(OutboxMessage.openid == "warner-1")).all() == []


def test_an_unknown_receipt_is_not_found(svc: Service) -> None:
    csrf = sign_in(svc, "staff-li")
    page = svc.client.get("/desk/warnings/W9999")
    assert page.status_code == 404 and "没有找到预警 W9999" in page.text
    posted = svc.client.post("/desk/warnings/W9999/act", data={"csrf": csrf, "action": "签收"})
    assert posted.status_code == 404


def test_a_chair_cannot_open_the_case_page(svc: Service, warner: Chat) -> None:
    number = file(warner)
    assert "仅供街道总工会工作人员使用" in Chat(svc.wechat, "chair-1").say("登录")
    for path in (f"/desk/warnings/{number}", "/desk/warnings"):
        answer = svc.client.get(path, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"] == "/desk/signin"


def test_the_queue_filters_pages_and_matches_the_dashboard(svc: Service, db: Database) -> None:
    """Oldest open first; by state, level, name and days open; the dashboard's counts open the same lists."""
    with db.transaction() as session:
        textile = staff_factories.enterprise(session, "宁波甬江纺织有限公司")
        machine = staff_factories.enterprise(session, "宁波北仑机械有限公司")
        ids = {
            "old-major": staff_factories.warning(session, textile, NOW - timedelta(days=20), level="重大"),
            "mediating": staff_factories.warning(
                session,
                machine,
                NOW - timedelta(days=5),
                state="mediating",
                level="较大",
                mediation_started_at=NOW - timedelta(days=2),
            ),
            "new-general": staff_factories.warning(session, machine, NOW - timedelta(hours=1)),
            "closed": staff_factories.warning(session, textile, NOW - timedelta(days=30), state="closed"),
        }
        receipts = {key: row.receipt for key, row in ids.items()}
        for _ in range(PAGE_SIZE):
            staff_factories.warning(session, None, NOW - timedelta(days=40), state="void")
    sign_in(svc, "staff-li")

    def listed(query: str = "") -> list[str]:
        page = svc.client.get(f"/desk/warnings{query}")
        assert page.status_code == 200
        return re.findall(r'<tr id="warning-([^"]+)">', page.text)

    assert listed() == [receipts["old-major"], receipts["mediating"], receipts["new-general"]]
    mediating = queue_row(svc, receipts["mediating"])
    assert "调处第3天/共15天" in mediating and ">5天<" in mediating
    oldest = queue_row(svc, receipts["old-major"])
    assert ">20天<" in oldest and '<span class="badge red">重大</span>' in oldest
    assert listed("?level=较大") == [receipts["mediating"]]
    assert listed("?q=纺织") == [receipts["old-major"]]
    assert listed("?state=closed") == [receipts["closed"]]
    assert listed("?state=mediating&q=机械") == [receipts["mediating"]]
    assert listed("?age=16-") == [receipts["old-major"]]
    assert listed("?age=4-7") == [receipts["mediating"]]
    assert listed("?age=0-3") == [receipts["new-general"]]

    everything = listed("?state=all")
    assert len(everything) == PAGE_SIZE and everything[0] not in receipts.values()  # the void ones are oldest
    second = svc.client.get("/desk/warnings?state=all&page=2").text
    assert re.findall(r'<tr id="warning-([^"]+)">', second) == [
        receipts["closed"],
        receipts["old-major"],
        receipts["mediating"],
        receipts["new-general"],
    ]
    assert "第 2 / 2 页" in second and 'href="?state=all&amp;page=1"' in second

    dashboard = svc.client.get("/desk").text
    overview = dashboard[dashboard.index('id="warnings-overview"') :]
    cells = dict(re.findall(r'<a href="/desk/warnings\?([^"]*)"[^>]*>(\d+)</a>', overview))
    assert cells["level=%E9%87%8D%E5%A4%A7&amp;age=16-"] == "1"  # 重大, open more than 15 days
    assert cells["level=%E8%BE%83%E5%A4%A7&amp;age=4-7"] == "1"
    assert cells["level=%E4%B8%80%E8%88%AC&amp;age=0-3"] == "1"
    assert cells["age=0-3"] == "1" and cells["age=8-15"] == "0"
    assert re.search(r'id="warnings-overview-total">3</a>', overview)
    for query, count in cells.items():
        assert len(listed("?" + html.unescape(query))) == int(count), query

"""Binding by scanning an invitation's QR code: the events as WeChat sends them through the signed endpoint, the
stand-in's QR-code API and image, `邀请码` in the chat and `unionbot invite create --qr`."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from typer.testing import CliRunner

from bot.channel.tokens import DatabaseTokenCache
from bot.channel.wechat_api import QR_MAX_SECONDS, WechatApi
from bot.devtools import chat_client
from bot.devtools.fake_wechat import QRCODE_CREATE_PATH, FakeWechatServer
from domain.enums import Role
from storage import identity
from storage.db import Database
from tests.conftest import APPID, SECRET, stored_bytes
from tests.harness import ACCOUNT, NOW, Clock, Delivery, Service
from tests.test_binding import XINGHE, add_enterprise, cli, invite_row, make_invite, member_of

PNG = b"\x89PNG\r\n\x1a\n"
LINK = re.compile(r"(http://\S+/files/(\S+?)\?\S+)")


@pytest.fixture
def xinghe(db: Database) -> int:
    return add_enterprise(db, "星河科技有限公司", XINGHE, "幸福社区")


def scan(service: Service, openid: str, event: str, key: str, clock: Clock) -> Delivery:
    """A QR scan exactly as WeChat posts it: Event subscribe (EventKey qrscene_…) or SCAN, with the Ticket."""
    xml = (
        f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{int(clock.now.timestamp())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        f"<Event><![CDATA[{event}]]></Event><EventKey><![CDATA[{key}]]></EventKey>"
        "<Ticket><![CDATA[gQH47joAAAAAAAAAASxodHRwOi8vd2VpeGluLnFxLmNvbS9xL2taZ2Z3TVRtNzJXV1Brb3ZhYmJJAAIEZ23sUwMEmm3sUw==]]></Ticket></xml>"
    )
    return service.wechat.deliver(xml)


def test_a_new_user_who_follows_by_scanning_is_bound_and_asked_for_their_name(
    service: Service, db: Database, clock: Clock, xinghe: int
) -> None:
    code = make_invite(db, xinghe, clock.now)
    reply = scan(service, "new-chair", "subscribe", f"qrscene_bind:{code}", clock).content or ""
    assert "绑定成功" in reply and "“星河科技有限公司”的企业工会主席" in reply and "月报" in reply
    assert "【个人信息 第1项/共2项】请问您的姓名" in reply and "跳过" in reply
    member = member_of(db, "new-chair")
    assert member is not None and (member.role, member.enterprise_id) == (Role.CHAIR, xinghe)
    assert invite_row(db, code).used_by == "new-chair"


def test_a_follower_who_scans_is_bound_as_a_warner(service: Service, db: Database, clock: Clock, xinghe: int) -> None:
    code = make_invite(db, xinghe, clock.now, role=Role.WARNER)
    assert "还没有绑定" in (service.wechat.text("follower", "你好").content or "")
    reply = scan(service, "follower", "SCAN", f"bind:{code}", clock).content or ""
    assert "“星河科技有限公司”的劳动争议预警员" in reply and "请发送“预警”上报" in reply
    assert "请问您的姓名" in reply
    member = member_of(db, "follower")
    assert member is not None and member.role == Role.WARNER
    clock.advance(minutes=1)  # the same CreateTime would be WeChat retrying the first scan
    again = scan(service, "follower", "SCAN", f"bind:{code}", clock).content or ""
    assert "您已经用这个邀请码绑定过了" in again


def test_an_expired_or_used_code_by_scan_is_refused_like_by_text(
    service: Service, db: Database, clock: Clock, xinghe: int
) -> None:
    expired = make_invite(db, xinghe, clock.now - timedelta(days=8))
    reply = scan(service, "late", "subscribe", f"qrscene_bind:{expired}", clock).content or ""
    assert "这个邀请码已经过期了" in reply and "请向街道总工会重新索取邀请码" in reply and "还可以再试 4 次" in reply
    assert member_of(db, "late") is None
    used = make_invite(db, xinghe, clock.now)
    service.wechat.text("first", f"绑定 {used}")
    reply = scan(service, "second", "SCAN", f"bind:{used}", clock).content or ""
    assert "这个邀请码已经被使用过了" in reply and "还可以再试 4 次" in reply
    assert member_of(db, "second") is None


def test_scans_of_other_codes_are_not_bindings(service: Service, clock: Clock) -> None:
    assert scan(service, "visitor", "SCAN", "poster-2024", clock).content is None
    welcome = scan(service, "visitor", "subscribe", "qrscene_poster-2024", clock).content or ""
    assert welcome.startswith("欢迎关注") and "绑定 邀请码" in welcome
    assert "不是有效的邀请码" not in (scan(service, "visitor", "SCAN", "bind:", clock).content or "")


def test_the_stand_in_answers_the_qr_code_api_with_a_png(fake: FakeWechatServer, db: Database) -> None:
    api = WechatApi(fake.url, APPID, SECRET, DatabaseTokenCache(db, APPID, lambda: NOW), qr_base=fake.url)
    try:
        ticket = api.create_qr("bind:AB23CD45", QR_MAX_SECONDS + 100)
        assert ticket.expire_seconds == QR_MAX_SECONDS and ticket.url.startswith("http://weixin.qq.com/q/")
        image = api.qr_image(ticket.ticket)
        assert image.startswith(PNG) and len(image) > 200
        call = next(c for c in fake.state.snapshot() if c.path == QRCODE_CREATE_PATH)
        assert call.body == {
            "expire_seconds": QR_MAX_SECONDS,
            "action_name": "QR_STR_SCENE",
            "action_info": {"scene": {"scene_str": "bind:AB23CD45"}},
        }
        assert fake.state.qr_codes[ticket.ticket].scene == "bind:AB23CD45"
        with pytest.raises(httpx.HTTPStatusError):
            api.qr_image("never-issued")
    finally:
        api.close()


def test_staff_get_the_invitations_qr_code_as_a_signed_link(
    service: Service, db: Database, clock: Clock, fake: FakeWechatServer, xinghe: int
) -> None:
    with db.transaction() as session:
        identity.add_staff(session, "staff-1", name="王芳", admin=False, now=clock.now)
    reply = service.wechat.text("staff-1", "邀请码 星河科技").content or ""
    assert "生成企业工会主席邀请码" in reply and "二维码图片随后发送给您" in reply
    code = re.search(r"绑定 ([A-Z0-9]{8})", reply)
    assert code is not None
    service.services.outbox.drain()
    (pushed,) = fake.state.texts("staff-1")
    assert f"邀请码 {code[1]} 的二维码" in pushed and "扫一扫" in pushed and "60 分钟内有效" in pushed
    link = LINK.search(pushed)
    assert link is not None
    created = next(c for c in fake.state.snapshot() if c.path == QRCODE_CREATE_PATH)
    assert created.body is not None and created.body["action_info"]["scene"]["scene_str"] == f"bind:{code[1]}"
    assert created.body["expire_seconds"] == 7 * 24 * 3600  # with the invitation, well within 30 days
    response = service.client.get(urlsplit(link[1])._replace(scheme="", netloc="").geturl())
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    assert response.content.startswith(PNG)
    stored = stored_bytes(service.services.settings, link[2])
    assert link[2].endswith(".png.enc") and stored and not stored.startswith(PNG)  # encrypted at rest


def test_invite_create_saves_the_qr_code(
    db: Database, database_url: str, fake: FakeWechatServer, tmp_path: Path
) -> None:
    add_enterprise(db, "星河科技有限公司", XINGHE)
    target = tmp_path / "qr" / "xinghe.png"
    env = {
        "UNIONBOT_DATABASE_URL": database_url,
        "UNIONBOT_WECHAT_API_BASE": fake.url,
        "UNIONBOT_WECHAT_QR_BASE": fake.url,
        "UNIONBOT_WECHAT_APPID": APPID,
        "UNIONBOT_WECHAT_SECRET": SECRET,
        "UNIONBOT_REDIS_URL": "",
    }
    args = ["invite", "create", "--enterprise", XINGHE, "--days", "90", "--qr", str(target)]
    result = CliRunner().invoke(cli, args, env=env)
    assert result.exit_code == 0, result.output
    code = result.stdout.splitlines()[0]
    assert f"QR code saved to {target.resolve()}" in result.stdout
    assert target.read_bytes().startswith(PNG)
    created = next(c for c in fake.state.snapshot() if c.path == QRCODE_CREATE_PATH)
    assert created.body is not None and created.body["action_info"]["scene"]["scene_str"] == f"bind:{code}"
    assert created.body["expire_seconds"] == QR_MAX_SECONDS  # a 90-day invitation: a QR code lives 30 days at most
    fake.state.fail_next(QRCODE_CREATE_PATH, 45009)
    result = CliRunner().invoke(cli, args, env=env)
    assert result.exit_code == 2 and "WeChat gave no QR code" in result.stderr


def test_the_terminal_chat_scans_as_a_new_user_then_as_a_follower(
    service: Service, db: Database, clock: Clock, xinghe: int
) -> None:
    first, second = make_invite(db, xinghe, clock.now), make_invite(db, xinghe, clock.now, role=Role.WARNER)
    new = chat_client._body_for("terminal", f"/扫码 {first.lower()}", following=False, menu=None)
    assert "<Event><![CDATA[subscribe]]></Event>" in new and f"qrscene_bind:{first}" in new
    assert "企业工会主席" in (service.wechat.deliver(new).content or "")
    clock.advance(minutes=1)
    follower = chat_client._body_for("terminal", f"/扫码 {second}", following=True, menu=None)
    assert "<Event><![CDATA[SCAN]]></Event>" in follower and f"[CDATA[bind:{second}]]" in follower
    assert "劳动争议预警员" in (service.wechat.deliver(follower).content or "")

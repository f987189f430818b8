"""Signing in to the desk without a password: a one-time link from the chat, a session cookie, CSRF on every POST."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from bot.cli.main import app as cli
from config.settings import Settings
from storage import identity
from storage.db import Database, utcnow
from storage.models import DeskSession
from tests.conftest import enroll
from tests.desk.conftest import link_path, sign_in
from tests.harness import Chat, Clock, Service, running_service


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def svc(settings: Settings, db: Database, clock: Clock) -> Iterator[Service]:
    enroll(db, "staff-li", role="staff")
    enroll(db, "chair-wang", role="chair")
    with running_service(settings, clock=clock) as running:
        yield running


def test_the_desk_without_a_session_explains_how_to_sign_in(svc: Service) -> None:
    answer = svc.client.get("/desk", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/desk/signin"
    page = svc.client.get("/desk/signin")
    assert page.status_code == 401
    assert "发送“<strong>登录</strong>”" in page.text


def test_staff_sign_in_with_the_link_from_the_chat_once(svc: Service) -> None:
    reply = Chat(svc.wechat, "staff-li").say("登录")
    assert "10分钟内有效" in reply and "只能使用一次" in reply
    path = link_path(reply)

    opened = svc.client.get(path, follow_redirects=False)
    assert opened.status_code == 303 and opened.headers["location"] == "/desk"
    cookie = opened.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "max-age=28800" in cookie
    assert "secure" not in cookie  # the test's base URL is http
    dashboard = svc.client.get("/desk")
    assert dashboard.status_code == 200 and "<h1>概览</h1>" in dashboard.text

    svc.client.cookies.clear()
    again = svc.client.get(path, follow_redirects=False)
    assert again.status_code == 403
    assert "已经用过" in again.text and "登录" in again.text


def test_the_menu_button_gives_the_same_link(svc: Service) -> None:
    reply = Chat(svc.wechat, "staff-li").click("DESK")
    assert svc.client.get(link_path(reply), follow_redirects=False).status_code == 303


def test_a_link_opened_after_ten_minutes_is_refused(svc: Service, clock: Clock) -> None:
    path = link_path(Chat(svc.wechat, "staff-li").say("登录"))
    clock.advance(minutes=10, seconds=1)
    refused = svc.client.get(path, follow_redirects=False)
    assert refused.status_code == 403 and "已经过期" in refused.text
    assert svc.client.get("/desk", follow_redirects=False).status_code == 303


def test_chairs_and_strangers_get_no_link(svc: Service) -> None:
    for openid in ("chair-wang", "stranger"):
        reply = Chat(svc.wechat, openid).say("登录")
        assert "仅供街道总工会工作人员使用" in reply
        assert "/desk/login/" not in reply
    assert svc.client.get("/desk/login/made-up-token", follow_redirects=False).status_code == 403


def test_a_session_lasts_eight_hours(svc: Service, clock: Clock) -> None:
    sign_in(svc, "staff-li")
    clock.advance(hours=7, minutes=59)
    assert svc.client.get("/desk", follow_redirects=False).status_code == 200
    clock.advance(minutes=2)
    assert svc.client.get("/desk", follow_redirects=False).status_code == 303


def test_a_post_without_the_csrf_token_is_refused(svc: Service) -> None:
    csrf = sign_in(svc, "staff-li")
    refused = svc.client.post("/desk/logout", data={}, follow_redirects=False)
    assert refused.status_code == 403 and "没有执行" in refused.text
    forged = svc.client.post("/desk/logout", data={"csrf": csrf[:-1] + "x"}, follow_redirects=False)
    assert forged.status_code == 403
    assert svc.client.get("/desk").status_code == 200  # still signed in

    out = svc.client.post("/desk/logout", data={"csrf": csrf}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/desk/signin"
    assert svc.client.get("/desk", follow_redirects=False).status_code == 303


def test_a_deactivated_staff_members_cookie_stops_working(svc: Service, db: Database, settings: Settings) -> None:
    sign_in(svc, "staff-li")
    cookie = dict(svc.client.cookies)
    result = CliRunner().invoke(
        cli, ["staff", "deactivate", "staff-li"], env={"UNIONBOT_DATABASE_URL": settings.database_url}
    )
    assert result.exit_code == 0, result.output
    svc.client.cookies.update(cookie)
    assert svc.client.get("/desk", follow_redirects=False).status_code == 303
    with db.transaction() as session:
        assert identity.active_member(session, "staff-li") is None
        assert all(row.ended_at is not None for row in session.exec(select(DeskSession)).all())


def test_every_desk_response_carries_the_security_headers(svc: Service) -> None:
    sign_in(svc, "staff-li")
    for path in ("/desk", "/desk/signin", "/desk/static/desk.css"):
        headers = svc.client.get(path).headers
        policy = headers["content-security-policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy
        assert headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"] == "same-origin"
    assert svc.client.get("/desk/static/desk.css").headers["content-type"].startswith("text/css")
    assert svc.client.get("/desk/static/..%2Fauth.py").status_code == 404


def test_an_admin_prints_a_link_for_staff_but_not_for_a_chair(svc: Service, settings: Settings, clock: Clock) -> None:
    env = {"UNIONBOT_DATABASE_URL": settings.database_url, "UNIONBOT_PUBLIC_BASE_URL": settings.public_base_url}
    printed = CliRunner().invoke(cli, ["desk", "link", "staff-li"], env=env)
    assert printed.exit_code == 0, printed.output
    path = link_path(printed.output)
    clock.now = utcnow()  # the command dates the link by the wall clock; it is opened a moment later
    assert svc.client.get(path, follow_redirects=False).status_code == 303
    refused = CliRunner().invoke(cli, ["desk", "link", "chair-wang"], env=env)
    assert refused.exit_code != 0 and "not active staff" in refused.output

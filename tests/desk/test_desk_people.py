"""人员 on the desk: everyone switches their own duty as `值班` does; admins switch anyone's, add staff and
deactivate them (whose desk session stops at once); a non-admin's forged admin request is refused."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from markupsafe import escape
from sqlmodel import select

from config.settings import Settings
from domain.enums import Role
from storage import identity
from storage.db import Database
from storage.models import DeskSession, Member
from tests.conftest import enroll
from tests.desk.conftest import link_path, sign_in
from tests.harness import Chat, Clock, Service, running_service


@pytest.fixture
def svc(settings: Settings, db: Database, clock: Clock) -> Iterator[Service]:
    enroll(db, "staff-li", role="staff")
    enroll(db, "admin-zhao", role="admin")
    enroll(db, "chair-wang", role="chair")
    with running_service(settings, clock=clock) as running:
        yield running


def _member(db: Database, openid: str) -> Member:
    with db.transaction() as session:
        return session.exec(select(Member).where(Member.openid == openid)).one()


def test_staff_see_who_works_and_switch_their_own_duty_as_the_chat_does(svc: Service, db: Database) -> None:
    csrf = sign_in(svc, "staff-li")
    page = svc.client.get("/desk/people").text
    assert "staff-li" in page and "admin-zhao" in page and "管理员" in page
    assert '<span class="value" id="bound-chairs">1</span>' in page
    assert '<span class="value" id="bound-warners">0</span>' in page
    assert 'id="add-staff"' not in page and "/desk/people/deactivate" not in page  # no admin forms

    switched = svc.client.post("/desk/people/duty", data={"csrf": csrf, "openid": "staff-li", "duty": "关"})
    assert switched.status_code == 200
    assert _member(db, "staff-li").on_duty is False
    chat_says = Chat(svc.wechat, "staff-li").say("值班 关")  # already off: the chat words it the same way
    assert f'<p class="notice" role="status">{escape(chat_says)}</p>' in switched.text
    assert "设为值班" in switched.text

    svc.client.post("/desk/people/duty", data={"csrf": csrf, "openid": "staff-li", "duty": "开"})
    assert _member(db, "staff-li").on_duty is True


def test_a_non_admin_cannot_forge_an_admin_request(svc: Service, db: Database) -> None:
    csrf = sign_in(svc, "staff-li")
    forged = [
        ("/desk/people/duty", {"openid": "admin-zhao", "duty": "关"}),
        ("/desk/people/add", {"openid": "stranger", "name": "冒名", "admin": "1"}),
        ("/desk/people/deactivate", {"openid": "admin-zhao"}),
    ]
    for path, fields in forged:
        refused = svc.client.post(path, data={"csrf": csrf, **fields})
        assert refused.status_code == 403 and "需要管理员权限" in refused.text
    admin = _member(db, "admin-zhao")
    assert admin.active and admin.on_duty
    with db.transaction() as session:
        assert identity.active_member(session, "stranger") is None


def test_an_admin_adds_staff_who_can_then_sign_in(svc: Service, db: Database) -> None:
    csrf = sign_in(svc, "admin-zhao")
    page = svc.client.get("/desk/people").text
    assert 'id="add-staff"' in page

    added = svc.client.post("/desk/people/add", data={"csrf": csrf, "openid": " staff-wu ", "name": "吴芳"})
    assert "已添加吴芳为工作人员" in added.text and "吴芳" in added.text
    member = _member(db, "staff-wu")
    assert (member.role, member.name, member.active) == (Role.STAFF, "吴芳", True)
    assert "/desk/login/" in link_path(Chat(svc.wechat, "staff-wu").say("登录"))

    promoted = svc.client.post(
        "/desk/people/add", data={"csrf": csrf, "openid": "chair-wang", "name": "王主席", "admin": "1"}
    )
    assert "已添加王主席为管理员" in promoted.text
    chair = _member(db, "chair-wang")
    assert (chair.role, chair.enterprise_id) == (Role.ADMIN, None)

    empty = svc.client.post("/desk/people/add", data={"csrf": csrf, "openid": "", "name": "无名"})
    assert "请填写微信 openid 和姓名" in empty.text


def test_an_admin_deactivates_staff_whose_session_stops_working(svc: Service, db: Database) -> None:
    sign_in(svc, "staff-li")
    staff_cookie = dict(svc.client.cookies)
    csrf = sign_in(svc, "admin-zhao")

    done = svc.client.post("/desk/people/deactivate", data={"csrf": csrf, "openid": "staff-li"})
    assert "已停用staff-li" in done.text
    assert "staff-li" not in done.text.split('id="staff-list"')[1] and "admin-zhao" in done.text
    with db.transaction() as session:
        assert identity.active_member(session, "staff-li") is None
        ended = session.exec(select(DeskSession).where(DeskSession.openid == "staff-li")).all()
        assert ended and all(row.ended_at is not None for row in ended)

    svc.client.cookies.update(staff_cookie)
    assert svc.client.get("/desk/people", follow_redirects=False).headers["location"] == "/desk/signin"
    assert "仅供街道总工会工作人员使用" in Chat(svc.wechat, "staff-li").say("登录")


def test_an_admin_switches_anyones_duty_but_cannot_deactivate_themselves(svc: Service, db: Database) -> None:
    csrf = sign_in(svc, "admin-zhao")
    switched = svc.client.post("/desk/people/duty", data={"csrf": csrf, "openid": "staff-li", "duty": "关"})
    assert "已将staff-li设为不值班" in switched.text
    assert _member(db, "staff-li").on_duty is False

    itself = svc.client.post("/desk/people/deactivate", data={"csrf": csrf, "openid": "admin-zhao"})
    assert "不能停用自己的账号" in itself.text
    assert _member(db, "admin-zhao").active

    for path, fields in (
        ("/desk/people/deactivate", {"openid": "nobody"}),
        ("/desk/people/deactivate", {"openid": "chair-wang"}),
        ("/desk/people/duty", {"openid": "nobody", "duty": "开"}),
    ):
        unknown = svc.client.post(path, data={"csrf": csrf, **fields})
        assert unknown.status_code == 404 and "没有找到这位工作人员" in unknown.text
    assert _member(db, "chair-wang").active
    odd = svc.client.post("/desk/people/duty", data={"csrf": csrf, "openid": "admin-zhao", "duty": "也许"})
    assert odd.status_code == 400

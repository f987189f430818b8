"""企业 on the desk: the roster searched, a roster file previewed then applied once, invitations with a QR code."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlmodel import select

from bot.devtools.fake_wechat import QRCODE_CREATE_PATH, FakeWechatServer
from config.settings import Settings
from storage import identity
from storage.db import Database
from storage.models import Enterprise, InviteCode
from tests.conftest import CREDIT_CODES, enroll
from tests.desk.conftest import sign_in
from tests.harness import Chat, Clock, Service, running_service

XINGHE, HONGQI, CHANGJIANG = "91110108MA01ABCD2H", "91330106MA27WP0K17", "91310115MA1H7XY039"
KNOWN = CREDIT_CODES[0]  # 宁波示例纺织有限公司, on the roster with 120 employees in 青峙社区


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def svc(settings: Settings, db: Database, clock: Clock) -> Iterator[Service]:
    enroll(db, "staff-li", role="staff")
    enroll(db, "chair-wang")
    enroll(db, "warner-zhao", role="warner")
    with running_service(settings, clock=clock) as running:
        yield running


def roster(db: Database) -> dict[str, tuple[str, int, str, bool]]:
    with db.transaction() as session:
        return {
            e.credit_code: (e.name, e.employees, e.community, e.has_union) for e in session.exec(select(Enterprise))
        }


def section(page: str, table_id: str) -> str:
    return page.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]


def upload(svc: Service, csrf: str, name: str, data: bytes) -> str:
    answer = svc.client.post("/desk/enterprises/upload", data={"csrf": csrf}, files={"file": (name, data)})
    assert answer.status_code == 200, answer.text
    return answer.text


def test_the_roster_shows_bound_people_and_finds_by_name_or_credit_code(svc: Service, db: Database) -> None:
    sign_in(svc, "staff-li")
    page = svc.client.get("/desk/enterprises").text
    row = section(page, "enterprise-table")
    assert "宁波示例纺织有限公司" in row and "chair-wang" in row and "warner-zhao" in row and "未报过" in row
    assert "宁波示例纺织有限公司" in svc.client.get(f"/desk/enterprises?q={KNOWN.lower()}").text
    assert "没有符合条件的企业" in svc.client.get("/desk/enterprises?q=不存在").text
    assert "没有符合条件的企业" in svc.client.get("/desk/enterprises?community=幸福社区").text
    with db.transaction() as session:
        company = session.exec(select(Enterprise)).one()
    detail = svc.client.get(f"/desk/enterprises/{company.id}").text
    assert "chair-wang" in section(detail, "people") and "劳动争议预警员" in section(detail, "people")
    for bad in ("999", "x1"):
        missing = svc.client.get(f"/desk/enterprises/{bad}")
        assert missing.status_code == 404 and "没有找到企业" in missing.text


def test_a_csv_roster_is_previewed_then_applied_exactly_once(svc: Service, db: Database) -> None:
    csrf = sign_in(svc, "staff-li")
    csv = (
        "企业名称,统一社会信用代码,职工人数,所属社区,是否建会,联系人\n"
        f"星河科技有限公司,{XINGHE},120,幸福社区,是,张三\n"
        f"宁波示例纺织有限公司,{KNOWN},150,,,\n"
        f"红旗机械厂,{HONGQI},约五十人,光明社区,否,\n"
        f",{CHANGJIANG},45,光明社区,否,\n"
        "北辰物业,91440101MA5CXK8N2P,60,光明社区,不知道,\n"
    ).encode("gb18030")
    before = roster(db)
    preview = upload(svc, csrf, "名册.csv", csv)
    assert roster(db) == before  # nothing applied yet
    assert "名册预览 · 名册.csv" in preview and "未识别、将忽略的列：联系人" in preview
    added = section(preview, "rows-add")
    assert "星河科技有限公司" in added and "<th>所属社区</th>" in added
    updated = section(preview, "rows-update")
    assert "宁波示例纺织有限公司" in updated and "职工人数：120 → " in updated and "150" in updated
    assert "所属社区" not in updated  # an empty cell keeps the stored value
    rejected = re.findall(
        r"<tr><td class=\"num\">(\d+)</td><td>([^<]+)</td><td>([^<]+)</td></tr>", section(preview, "rows-rejected")
    )
    assert rejected == [
        ("4", "职工人数", "职工人数“约五十人”不是整数"),
        ("5", "企业名称", "企业名称未填写"),
        ("6", "是否建会", "是否建会“不知道”应为“是”或“否”"),
    ]

    token = re.search(r'action="/desk/enterprises/upload/([^/"]+)/apply"', preview)
    assert token
    applied = svc.client.post(f"/desk/enterprises/upload/{token[1]}/apply", data={"csrf": csrf})
    assert "名册已导入：新增 1 家，更新 1 家，3 行未导入" in applied.text
    after = roster(db)
    assert after[XINGHE] == ("星河科技有限公司", 120, "幸福社区", True)
    assert after[KNOWN] == ("宁波示例纺织有限公司", 150, "青峙社区", True)
    assert set(after) == {XINGHE, KNOWN}

    with db.transaction() as session:
        company = session.exec(select(Enterprise).where(Enterprise.credit_code == KNOWN)).one()
        company.employees = 99  # changed by someone else since: a second apply must not touch it again
    again = svc.client.post(f"/desk/enterprises/upload/{token[1]}/apply", data={"csrf": csrf})
    assert "这份名册已经导入过了，没有再次导入" in again.text and "确认导入" not in again.text
    assert roster(db)[KNOWN][1] == 99
    assert svc.client.get("/desk/enterprises/upload/made-up").status_code == 404


def test_an_xlsx_roster_names_its_own_column_headers(svc: Service, db: Database, tmp_path: Path) -> None:
    csrf = sign_in(svc, "staff-li")
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["幸福街道企业名册（2026年）"])
    sheet.append(["name", "credit_code", "employees", "community", "has_union"])
    sheet.append(["红旗机械厂", HONGQI, 12.5, "光明社区", "是"])
    sheet.append(["长江物流有限公司", CHANGJIANG, 45, "光明社区", False])
    sheet.append(["宁波示例纺织有限公司", KNOWN, 120, "青峙社区", True])
    path = tmp_path / "roster.xlsx"
    workbook.save(path)
    preview = upload(svc, csrf, "roster.xlsx", path.read_bytes())
    assert '<td class="num">3</td><td>employees</td><td>employees“12.5”不是整数</td>' in preview
    assert "长江物流有限公司" in section(preview, "rows-add") and "<th>credit_code</th>" in section(preview, "rows-add")
    assert 'id="count-unchanged">1<' in preview and "无" in section(preview, "rows-update")
    token = re.search(r'action="/desk/enterprises/upload/([^/"]+)/apply"', preview)
    assert token
    svc.client.post(f"/desk/enterprises/upload/{token[1]}/apply", data={"csrf": csrf})
    assert roster(db)[CHANGJIANG] == ("长江物流有限公司", 45, "光明社区", False)
    assert HONGQI not in roster(db)


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("名册.txt", "企业名称,统一社会信用代码\n".encode(), "无法读取名册：“名册.txt”不是 .xlsx 或 .csv 文件"),
        ("名册.xlsx", b"not a workbook", "无法读取名册：“名册.xlsx”无法作为 .xlsx 工作簿打开"),
        ("名册.csv", "名称,代码\n星河,1\n".encode(), "找不到含“企业名称”和“统一社会信用代码”两列的表头"),
    ],
)
def test_a_file_that_is_no_roster_is_refused_in_chinese(
    svc: Service, db: Database, name: str, data: bytes, message: str
) -> None:
    csrf = sign_in(svc, "staff-li")
    before = roster(db)
    page = upload(svc, csrf, name, data)
    assert message in page and "请上传 .xlsx 或 .csv 文件" in page
    assert roster(db) == before


def test_an_invitation_is_shown_as_code_and_qr_and_binds_a_warner(
    svc: Service, db: Database, fake: FakeWechatServer
) -> None:
    csrf = sign_in(svc, "staff-li")
    with db.transaction() as session:
        company = session.exec(select(Enterprise)).one()
    page = svc.client.post(f"/desk/enterprises/{company.id}/invite", data={"csrf": csrf, "role": "warner"}).text
    with db.transaction() as session:
        [invite] = session.exec(select(InviteCode)).all()
    assert (invite.role, invite.enterprise_id, invite.created_by) == ("warner", company.id, "staff-li")
    assert f"生成劳动争议预警员邀请码：{invite.code}" in page  # the chat's own reply, as the notice
    assert f'id="invite-code-{invite.code}"' in page and f"绑定 {invite.code}" in page
    qr = re.search(rf'<img src="data:image/png;base64,([^"]+)" alt="扫码绑定 {invite.code}"', page)
    assert qr and base64.b64decode(qr[1]).startswith(b"\x89PNG")
    asked = [call.body for call in fake.state.snapshot() if call.path == QRCODE_CREATE_PATH]
    assert asked and asked[-1]["action_info"]["scene"]["scene_str"] == identity.invite_scene(invite.code)

    Chat(svc.wechat, "new-warner").say(f"绑定 {invite.code}")
    with db.transaction() as session:
        assert identity.active_member(session, "new-warner").role == "warner"  # type: ignore[union-attr]
    page = svc.client.get(f"/desk/enterprises/{company.id}").text
    assert f'id="invite-code-{invite.code}"' not in page  # used codes are no longer offered
    assert svc.client.post("/desk/enterprises/999/invite", data={"csrf": csrf}).status_code == 404

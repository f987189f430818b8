"""What each kind of user is told they can do, when they ask for help or send something the account does not know."""

from __future__ import annotations

import pytest

from storage.db import Database
from tests.conftest import enroll
from tests.harness import Chat, Service


@pytest.mark.parametrize(
    ("role", "shown", "not_shown"),
    [
        ("chair", ["发送“月报”", "发送“帮扶”", "“免交”", "发送“演示”"], ["统计 [期间]"]),
        ("warner", ["发送“预警”上报", "发送“演示”"], ["发送“月报”", "发送“帮扶”"]),
        (
            "staff",
            ["“统计 [期间]”", "签收/核实/调处/结案 W编号", "审核 H编号", "总结 上半年", "值班 开/关"],
            ["发送“帮扶”"],
        ),
    ],
)
def test_help_lists_the_commands_of_the_users_role(
    service: Service, db: Database, role: str, shown: list[str], not_shown: list[str]
) -> None:
    enroll(db, "someone", role=role, enterprise=None if role == "staff" else "宁波示例纺织有限公司")
    chat = Chat(service.wechat, "someone")
    for text in ("帮助", "随便说点什么"):
        reply = chat.say(text)
        assert all(phrase in reply for phrase in shown), reply
        assert not any(phrase in reply for phrase in not_shown), reply
        assert len(reply.encode()) <= 2000

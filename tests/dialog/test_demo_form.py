"""The demo form through the real endpoint: every field type, condition, command and the summary loop."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from sqlmodel import select

from bot.dialog.desk import FormDesk
from bot.dialog.forms import load_forms
from bot.routing import routes
from bot.routing.dispatch import Dispatcher
from config.settings import Settings
from handlers import help, paging
from storage.db import Database
from storage.models import Draft, Submission
from tests.conftest import enroll
from tests.harness import Chat, Clock, Service, running_service


@pytest.fixture
def svc(settings: Settings, db: Database, clock: Clock) -> Iterator[Service]:
    enroll(db, "chair-1")
    with running_service(settings, clock=clock) as running:
        yield running


@pytest.fixture
def chat(svc: Service) -> Chat:
    return Chat(svc.wechat, "chair-1")


FIRST_PART = [
    ("演示", "第1项/共17项】月末职工人数是多少"),
    ("很多", "没看懂“很多”"),
    ("一百二十人", "月末工会会员人数"),
    ("150", "会员人数（150）多于职工人数（120）"),
    ("确认", "本月工资总额"),
    ("1.2万", "默认：240.00 元"),
    ("默认", "帮困基金目前余额"),
    ("3", "上缴经费的比例"),
    ("百分之二", "满意度评分"),
    ("11", "不能大于 10"),
    ("八点五", "争议主要属于哪一类"),
    ("工资", "已经出现了哪些行为"),
    ("1、3", "是否存在劳动关系隐患"),
]
SECOND_PART = [
    ("否", "什么时候发现的"),
    ("2026-12-01", "还没到"),
    ("6月3日", "报告的是哪个月份"),
    ("上个月", "具体发现时间"),
    ("今天下午3点", "还没到"),
    ("昨天下午3点", "联系电话"),
    ("12345", "手机号"),
    ("138 1234 5678", "身份证号码"),
    ("110101199003074515", "校验"),
    ("110101199003074514", "统一社会信用代码"),
    ("跳过", "现场照片"),
]


def submissions(db: Database) -> list[Submission]:
    with db.transaction() as session:
        return list(session.exec(select(Submission)).all())


def test_a_chair_fills_every_field_type_corrects_one_and_submits(chat: Chat, db: Database) -> None:
    chat.dialogue(FIRST_PART + SECOND_PART)
    assert "请直接发送图片" in chat.say("好的")
    assert "已收到第 1 张" in chat.send_image("media-1")
    assert "已收到第 2 张" in chat.send_image("media-2")
    summary = chat.say("完成")
    for line in [
        "1. 职工人数：120",
        "2. 会员人数：150",
        "3. 工资总额：12,000.00 元",
        "4. 计提工会经费：240.00 元",
        "5. 帮困基金余额：30,000.00 元",
        "6. 上缴比例：2%",
        "7. 满意度评分：8.5",
        "8. 争议类别：工资(含欠薪)",
        "9. 已出现的行为：停工怠工、集体上访",
        "10. 是否存在劳动关系隐患：否",
        "11. 发现日期：2026年6月3日",
        "12. 报告月份：2026年10月",
        "13. 发现时间：2026年11月24日 15:00",
        "14. 联系电话：13812345678",
        "15. 职工身份证号：110101********4514",
        "16. 统一社会信用代码：（未填）",
        "17. 现场照片：2 张图片",
        "入会率：125%",
    ]:
        assert line in summary, line
    assert "110101199003074514" not in summary
    chat.dialogue([("修改 2", "当前填写：150"), ("100", "请核对"), ("确认", "已提交，回执号 D")])
    receipt = chat.last.split("回执号 ")[1].split("。")[0]
    [record] = submissions(db)
    assert record.receipt == receipt
    assert record.answers["members"] == 100 and record.answers["member_rate"] == "83.33"
    assert record.answers["fund"] == "30000.00" and record.answers["photos"] == ["media-1", "media-2"]
    assert "risk_note" not in record.answers
    assert f"已经提交过了，回执号 {receipt}" in chat.say("确认")
    assert len(submissions(db)) == 1


def test_a_condition_opens_and_an_edit_closes_a_question(chat: Chat, db: Database) -> None:
    chat.dialogue(FIRST_PART)
    chat.dialogue([("是", "第11项/共18项】请简要说明隐患情况"), ("工资拖欠两个月", "什么时候发现的")])
    chat.dialogue([("上一步", "请简要说明隐患情况"), ("上一步", "是否存在劳动关系隐患")])
    chat.dialogue([("否", "什么时候发现的"), ("上一步", "是否存在劳动关系隐患")])
    chat.dialogue([("是", "请简要说明隐患情况"), ("拖欠", "什么时候发现的")])
    chat.dialogue([*SECOND_PART[1:], ("跳过", "请核对")])
    assert "11. 隐患说明：拖欠" in chat.last
    chat.dialogue([("修改 10", "当前填写：是"), ("否", "请核对")])
    assert "隐患说明" not in chat.last and "10. 是否存在劳动关系隐患：否" in chat.last
    chat.dialogue([("修改 10", "当前填写：否"), ("是", "请简要说明隐患情况"), ("欠薪", "请核对")])
    assert "11. 隐患说明：欠薪" in chat.last


def test_commands_work_at_every_step(chat: Chat) -> None:
    chat.dialogue([("演示", "月末职工人数"), ("上一步", "已经是第一项"), ("跳过", "必填项，不能跳过")])
    chat.dialogue([("120", "会员人数"), ("进度", "1. 职工人数：120"), ("帮助", "「会员人数」填写说明")])
    assert "当前待填" in chat.replies[-2]
    chat.dialogue([("100", "工资总额"), ("12000", "计提"), ("帮助", "2% 计提")])
    chat.dialogue([("修改 9", "没有第 9 项"), ("修改 1", "当前填写：120"), ("不变", "计提")])
    chat.dialogue([("取消", "确定放弃"), ("不", "继续填写"), ("取消", "确定放弃"), ("是", "已放弃")])
    assert "月报" in chat.say("随便说点什么")


def test_a_restart_and_a_days_pause_lose_nothing(settings: Settings, db: Database, clock: Clock) -> None:
    enroll(db, "chair-2")
    with running_service(settings, clock=clock) as first:
        Chat(first.wechat, "chair-2").dialogue([("演示", "职工人数"), ("88", "会员人数")])
    clock.now += timedelta(days=1)
    with running_service(settings, clock=clock) as second:
        chat = Chat(second.wechat, "chair-2")
        chat.dialogue([("80", "工资总额"), ("进度", "1. 职工人数：88")])
        chat.dialogue([("演示", "未完成的「演示表单」（已填 2 项）"), ("继续", "工资总额")])
        chat.dialogue([("演示", "回复“继续”"), ("重新开始", "第1项"), ("进度", "已填写 0 项")])


def test_an_abandoned_draft_expires_with_a_notice(chat: Chat, db: Database, clock: Clock) -> None:
    chat.dialogue([("演示", "职工人数"), ("88", "会员人数")])
    clock.now += timedelta(days=8)
    reply = chat.say("80")
    assert "超过 7 天未填写，已自动作废" in reply and "月报" in reply
    with db.transaction() as session:
        assert session.exec(select(Draft)).all() == []
    assert "第1项" in chat.say("演示")


def test_images_outside_an_attachment_question_are_refused(chat: Chat) -> None:
    chat.say("演示")
    assert "需要文字回复" in chat.send_image("m-1")


def test_a_form_refuses_roles_it_is_not_for(settings: Settings, db: Database) -> None:
    enroll(db, "warner-1", role="warner")
    demo = load_forms()["demo"]
    chairs_only = dataclasses.replace(demo, roles=frozenset({"chair"}))
    desk = FormDesk({"demo": chairs_only})
    dispatcher = Dispatcher([*routes.form_routes(desk), *routes.HELP], fallback=help.help_text)
    with running_service(settings, dispatcher=dispatcher) as svc:
        reply = Chat(svc.wechat, "warner-1").say("演示")
    assert "只能由企业工会主席填写，您当前的身份是劳动争议预警员" in reply


def test_long_replies_are_paged_with_more(settings: Settings) -> None:
    lines = [f"第{i:03d}行：" + "工会经费计提与上缴情况" * 4 for i in range(60)]
    long_text: Callable[..., str] = lambda _ctx: "\n".join(lines)  # noqa: E731
    dispatcher = Dispatcher(routes.PAGING, fallback=long_text, finish=paging.paginate)
    with running_service(settings, dispatcher=dispatcher) as svc:
        chat = Chat(svc.wechat, "staff-1")
        pages = [chat.say("统计")]
        while "回复“更多”" in pages[-1]:
            pages.append(chat.say("更多"))
        after = chat.say("更多")
    assert all(len(page.encode()) <= settings.reply_max_bytes for page in pages)
    assert len(pages) >= 3 and f"（第{len(pages)}/{len(pages)}页）" in pages[-1]
    shown = "\n".join(pages)
    assert all(line in shown for line in lines)
    assert "没有更多内容" in after

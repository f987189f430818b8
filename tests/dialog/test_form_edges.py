"""Rough edges inside a form (issue 16 point 3), through the signed endpoint: 继续 mid-form, starting another
form, a wrong choice, durations, adding photos after `修改 N`, consistency questions, 帮助 at an optional question."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlmodel import select

from config.settings import Settings
from storage.db import Database
from storage.models import DuesExemption, MonthlyReport, Submission
from tests.conftest import enroll
from tests.dialog.test_demo_form import FIRST_PART, SECOND_PART
from tests.harness import Chat, Clock, Service, running_service

CHAIR = "chair-1"


@pytest.fixture
def svc(settings: Settings, db: Database, clock: Clock) -> Iterator[Service]:
    enroll(db, CHAIR)
    with running_service(settings, clock=clock) as running:
        yield running


@pytest.fixture
def chat(svc: Service) -> Chat:
    return Chat(svc.wechat, CHAIR)


def test_continue_mid_form_shows_the_question_again_and_is_never_an_answer(chat: Chat, db: Database) -> None:
    chat.dialogue([("演示", "第1项/共17项】月末职工人数是多少")])
    reply = chat.say("继续")
    assert "没看懂" not in reply and "第1项/共17项】月末职工人数是多少" in reply
    chat.dialogue([*FIRST_PART[1:], ("是", "请简要说明隐患情况")])
    reply = chat.say("继续")
    assert "请简要说明隐患情况" in reply and "什么时候发现的" not in reply
    chat.dialogue([("拖欠工资", "什么时候发现的"), ("进度", "隐患说明：拖欠工资")])


def test_starting_another_form_says_the_first_is_kept_and_how_to_return(chat: Chat) -> None:
    chat.dialogue([("月报", "月末职工人数"), ("120", "会员人数")])
    reply = chat.say("演示")
    assert "您填到一半的「企业工会月报」（已填 1 项）已保存，随时发送“月报”再回复“继续”即可接着填写" in reply
    assert "开始填写「演示表单」" in reply
    chat.dialogue([("月报", "您填到一半的「演示表单」（已填 0 项）已保存"), ("继续", "会员人数")])
    assert "已保存" not in chat.say("月报")  # the same form again: only the offer to continue


def test_a_wrong_choice_lists_the_options_once(chat: Chat) -> None:
    chat.dialogue(FIRST_PART[:11])
    reply = chat.say("火星")
    assert "没有“火星”这个选项" in reply
    assert reply.count("1. 劳动合同") == 1 and reply.count("5. 其它") == 1
    chat.dialogue([("工资", "已经出现了哪些行为")])
    assert chat.say("1、火星").count("1. 停工怠工") == 1


@pytest.mark.parametrize(("said", "months", "last_month"), [("半年", 6, "2027-04"), ("三个月", 3, "2027-01")])
def test_an_exemption_reads_a_duration(chat: Chat, db: Database, said: str, months: int, last_month: str) -> None:
    chat.dialogue([("免交", "从哪个月开始"), ("2026年11月", "如 3、三个月、半年"), ("两周", "请按月填写")])
    chat.dialogue([(said, "申请理由"), ("连续亏损", f"申请月数：{months} 个月"), ("确认", "回执号 E")])
    with db.transaction() as session:
        [exemption] = session.exec(select(DuesExemption)).all()
    assert (exemption.first_month, exemption.last_month) == ("2026-11", last_month)


def test_edit_a_photo_question_adds_or_replaces(chat: Chat, db: Database) -> None:
    chat.dialogue([*FIRST_PART, *SECOND_PART])
    chat.send_image("media-1")
    chat.send_image("media-2")
    chat.dialogue([("完成", "17. 现场照片：2 张图片")])
    chat.dialogue([("修改 17", "已有 2 张图片：继续发送图片即追加，回复“替换”清空后重新上传")])
    assert "已收到第 3 张" in chat.send_image("media-3")
    chat.dialogue([("完成", "17. 现场照片：3 张图片")])
    chat.dialogue([("修改 17", "已有 3 张图片"), ("替换", "已清空原来的 3 张图片")])
    assert "已收到第 1 张" in chat.send_image("media-4")
    chat.dialogue([("完成", "17. 现场照片：1 张图片"), ("修改 17", "已有 1 张图片"), ("不变", "17. 现场照片：1 张")])
    chat.say("确认")
    with db.transaction() as session:
        [record] = session.exec(select(Submission)).all()
    assert record.answers["photos"] == ["media-4"]


REPORT_START = [
    ("月报", "月末职工人数"),
    ("120", "会员人数"),
    ("100", "新入会"),
    ("5", "减少会员"),
    ("2", "工资总额"),
    ("60万", "默认"),
    ("默认", "上缴"),
    ("4800", "活动几次"),
]


def test_consistency_questions_in_the_monthly_report(chat: Chat, db: Database) -> None:
    chat.dialogue(REPORT_START)
    chat.dialogue([("3", "多少人次参加"), ("2", "本月办了 3 次活动，参加人次却只有 2，少于活动次数")])
    chat.dialogue([("45", "培训几期"), ("2", "培训共有多少人次参加"), ("1", "本月办了 2 期培训，参训人次却只有 1")])
    chat.dialogue([("确认", "劳动争议（纠纷）几件"), ("3", "劳动合同争议"), ("1", "工资争议"), ("2", "涉及职工")])
    reply = chat.last
    assert "工伤" not in reply and "其它" not in reply  # 1 + 2 make the 3 disputes: no more kinds asked
    chat.dialogue([("0", "本月有 3 件劳动争议，涉及职工却是 0 人次"), ("7", "涉及金额")])
    chat.dialogue([("0", "调解成功"), ("1", "隐患"), ("否", "关爱工作"), ("否", "重点工作"), ("跳过", "请核对")])
    chat.say("确认")
    with db.transaction() as session:
        [report] = session.exec(select(MonthlyReport)).all()
    assert (report.activities, report.activity_participants, report.trainings, report.training_participants) == (
        3,
        45,
        2,
        1,
    )
    kinds = (report.disputes_contract, report.disputes_wage, report.disputes_injury, report.disputes_other)
    assert (report.disputes, kinds, report.dispute_workers) == (3, (1, 2, 0, 0), 7)


def test_the_breakdown_warns_as_soon_as_the_kinds_pass_the_total(chat: Chat) -> None:
    chat.dialogue([*REPORT_START, ("0", "培训几期"), ("0", "劳动争议（纠纷）几件"), ("2", "劳动合同争议")])
    chat.dialogue([("3", "已填的分类合计 3 件，多于争议总数 2 件"), ("2", "涉及职工")])


def test_help_at_an_optional_question_mentions_skip(chat: Chat) -> None:
    chat.dialogue(FIRST_PART[:7])
    reply = chat.say("帮助")
    assert "「帮困基金余额」填写说明" in reply and "本项选填，不填请回复“跳过”" in reply
    chat.dialogue([("跳过", "上缴经费的比例")])
    assert "本项选填" not in chat.say("帮助")  # a required question

"""The monthly report (月报) as a chair files it through the real endpoint, and the rows it leaves behind."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import col, select

from config.reporting import reporting
from config.settings import Settings
from domain.normalize import ParseError, parse_expiry_date
from storage.db import Database
from storage.models import MonthlyReport, Submission
from tests.conftest import enroll
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


def stored(db: Database) -> list[MonthlyReport]:
    with db.transaction() as session:
        return list(session.exec(select(MonthlyReport).order_by(col(MonthlyReport.id))).all())


# The core of a first report, no disputes, no care work: (what the chair says, what the reply must contain).
CORE = [
    ("月报", "第1项/共13项】2026年10月月末职工人数是多少？（单位：人）"),
    ("120", "月末工会会员人数是多少？（单位：人）"),
    ("100", "本月新入会会员多少人"),
    ("5", "本月减少会员多少人"),
    ("2", "工资总额是多少？（单位：元）"),
    ("60万", "默认：12,000.00 元，回复“默认”采用"),
    ("默认", "本月上缴（上解）工会经费多少"),
    ("4800", "本月开展文体等活动几次"),
    ("2", "活动共有多少人次参加"),
    ("150", "本月举办培训几期"),
    ("1", "培训共有多少人次参加"),
    ("30", "本月发生劳动争议（纠纷）几件"),
    ("0", "是否存在劳动关系隐患"),
    ("否", "本月有没有帮扶慰问、帮困基金等关爱工作"),
    ("否", "本月重点工作、问题或建议"),
]


def file_core(chat: Chat, start: str = "月报") -> None:
    chat.dialogue([(start, CORE[0][1].split("】")[0]), *CORE[1:], ("跳过", "请核对「企业工会月报」")])


def test_a_chair_files_a_first_report_from_start_to_receipt(chat: Chat, db: Database) -> None:
    chat.dialogue([*CORE, ("跳过", "请核对「企业工会月报」")])
    summary = chat.last
    for line in ["1. 月末职工人数：120", "5. 本月工资总额：600,000.00 元", "6. 本月计提工会经费：12,000.00 元"]:
        assert line in summary, line
    assert "报告月份：2026年10月" in summary and "入会率：83.33%" in summary
    reply = chat.say("确认")
    assert "「企业工会月报」已提交，回执号 Y" in reply and "报告月份：2026年10月。" in reply
    assert "替换" not in reply and "预警" not in reply
    [report] = stored(db)
    assert (report.period, report.revision, report.is_latest) == ("2026-10", 1, True)
    assert (report.employees, report.members, report.new_members, report.lost_members) == (120, 100, 5, 2)
    assert report.payroll == Decimal("600000.00") and report.dues_accrued == Decimal("12000.00")
    assert report.dues_remitted == Decimal("4800.00")
    assert (report.activities, report.activity_participants, report.trainings) == (2, 150, 1)
    assert (report.training_participants, report.disputes, report.has_risk) == (30, 0, False)
    assert report.disputes_contract is None and report.hardship_workers is None and report.mutual_aid_ankang is None
    with db.transaction() as session:
        [record] = session.exec(select(Submission)).all()
        assert record.id == report.submission_id and record.receipt in reply


def test_second_month_offers_last_months_figures(chat: Chat, db: Database, clock: Clock) -> None:
    file_core(chat)
    chat.say("确认")
    clock.now = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)
    chat.dialogue(
        [
            ("月报", "2026年11月月末职工人数"),
            ("同上月", "上月：100，回复“同上月”沿用"),
        ]
    )
    assert "上月：120" in chat.replies[-2]
    chat.dialogue(
        [
            ("同上月", "本月新入会"),
            ("4", "本月减少会员"),
            ("4", "工资总额"),
            ("同上月", "默认：12,000.00 元"),
            ("默认", "上月：4,800.00 元"),
            ("同上月", "活动几次"),
            ("0", "本月举办培训几期"),
            ("同上月", "培训共有多少人次"),
            ("同上月", "劳动争议"),
            ("同上月", "没有可沿用的数值"),
        ]
    )
    chat.dialogue([("0", "隐患"), ("否", "关爱工作"), ("否", "建议"), ("跳过", "请核对"), ("确认", "2026年11月")])
    latest = stored(db)[-1]
    assert (latest.period, latest.employees, latest.members, latest.new_members) == ("2026-11", 120, 100, 4)
    assert latest.payroll == Decimal("600000.00") and latest.activities == 0 and latest.activity_participants is None
    assert latest.training_participants == 30


def test_the_dispute_breakdown_appears_only_when_there_were_disputes(chat: Chat, db: Database) -> None:
    chat.dialogue([*CORE[:12], ("2", "其中劳动合同争议几件")])
    chat.dialogue(
        [
            ("1", "其中工资争议"),
            ("0", "其中工伤争议"),
            ("0", "其中其它争议"),
            ("0", "分类合计 1 件，与争议总数 2 件不一致"),
            ("1", "共涉及职工多少人次"),
            ("8", "争议涉及金额多少？（单位：元"),
            ("3.5万", "内部调解成功几件"),
            ("3", "调解成功 3 件，多于争议总数 2 件"),
            ("确认", "是否存在劳动关系隐患"),
            ("是", "关爱工作"),
            ("否", "建议"),
            ("跳过", "请核对"),
        ]
    )
    reply = chat.say("确认")
    assert "请现在发送“预警”" in reply
    [report] = stored(db)
    assert (report.disputes, report.disputes_contract, report.disputes_wage, report.disputes_other) == (2, 1, 0, 1)
    assert report.dispute_workers == 8 and report.dispute_amount == Decimal("35000.00")
    assert report.disputes_settled == 3 and report.has_risk is True


def test_the_care_section_appears_when_answered_yes_and_next_month_without_asking(
    chat: Chat, db: Database, clock: Clock
) -> None:
    chat.dialogue(
        [
            *CORE[:14],
            ("是", "在档困难职工有多少人？（单位：人）"),
            ("3", "本月慰问职工多少人次"),
            ("2", "慰问金和慰问品共多少钱"),
            ("1000", "是否建立了帮困"),
            ("是", "帮困基金目前余额"),
            ("5万", "本月帮困基金支出"),
            ("0", "职工服务点"),
            ("否", "调解委员会"),
            ("是", "建议"),
            ("跳过", "请核对"),
            ("确认", "已提交"),
        ]
    )
    [report] = stored(db)
    assert (report.hardship_workers, report.care_visits, report.care_amount) == (3, 2, Decimal("1000.00"))
    assert report.has_hardship_fund is True and report.hardship_fund_balance == Decimal("50000.00")
    assert report.hardship_fund_paid == Decimal("0.00") and report.hardship_fund_aided is None
    assert (report.has_service_point, report.has_mediation_committee) == (False, True)

    clock.now = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)
    chat.dialogue(
        [
            ("月报", "职工人数"),
            ("同上月", "会员人数"),
            ("同上月", "新入会"),
            ("0", "减少会员"),
            ("0", "工资总额"),
            ("同上月", "默认"),
            ("默认", "上缴"),
            ("0", "活动"),
            ("0", "培训"),
            ("0", "劳动争议"),
            ("0", "隐患"),
            ("否", "在档困难职工有多少人"),
        ]
    )
    assert "上月：3" in chat.last
    assert all("关爱工作" not in reply for reply in chat.replies[-12:])


@pytest.mark.parametrize(
    ("named", "shown", "hidden"),
    [
        ("2026年4月", ["医疗互助在职参保", "女职工安康互助", "特种重病互助"], ["元旦春节", "5.1服务卡", "集体合同"]),
        ("2026年1月", ["元旦春节期间慰问", "集体合同", "任期哪天届满", "完成了工会换届"], ["医疗互助", "5.1服务卡"]),
        ("2026年6月", ["5.1服务卡采集信息", "5.1服务卡制卡"], ["医疗互助", "元旦春节", "集体合同"]),
    ],
)
def test_seasonal_sections_come_in_their_months(
    chat: Chat, db: Database, named: str, shown: list[str], hidden: list[str]
) -> None:
    asked = "\n".join(walk(chat, f"月报 {named}"))
    for words in shown:
        assert words in asked, words
    for words in hidden:
        assert words not in asked, words
    chat.say("确认")
    [report] = stored(db)
    assert report.period == "2026-" + named[5:-1].zfill(2)
    assert (report.mutual_aid_in_service is not None) is ("医疗互助在职参保" in shown)
    assert (report.festival_visited is not None) is ("元旦春节期间慰问" in shown)
    assert (report.card_issued is not None) is ("5.1服务卡制卡" in shown)
    assert (report.collective_contract_expires is not None) is ("集体合同" in shown)


def walk(chat: Chat, start: str, answers: Sequence[tuple[str, str]] = ()) -> list[str]:
    """Fill the form up to the summary: where a question holds one of `answers`' words, its answer; elsewhere plain
    answers (1, 否, a date; 是 for the collective contract)."""
    replies = [chat.say(start)]
    while "请核对" not in replies[-1]:
        assert len(replies) < 60, replies[-1]
        last = replies[-1]
        chosen = next((answer for words, answer in answers if words in last), None)
        if chosen is not None:
            answer = chosen
        elif "如果没有填错" in last:
            answer = "确认"
        elif "带年份的日期" in last:
            answer = "2027-06-30"
        elif "请回复“是”或“否”" in last:
            answer = "是" if "集体合同" in last else "否"
        elif "本项选填" in last:
            answer = "跳过"
        else:
            answer = "1"
        replies.append(chat.say(answer))
    return replies


def test_a_wrong_answer_at_each_field_type_is_explained_and_asked_again(chat: Chat, db: Database) -> None:
    chat.dialogue(
        [
            ("月报 2026年1月", "月末职工人数"),
            ("很多", "没看懂“很多”，请填写数字"),
            ("-3", "不能填负数"),
            ("12.5", "只能填整数"),
            ("120", "会员人数"),
            *[(said, expected) for said, expected in CORE[2:5]],
            ("一些钱", "没看懂“一些钱”"),
            *[(said, expected) for said, expected in CORE[5:13]],
            ("也许吧", "请回复“是”或“否”"),
            ("否", "关爱工作"),
            ("否", "元旦春节期间慰问困难职工"),
            ("0", "是否签订了集体合同"),
            ("是", "集体合同哪天到期"),
            ("6月30日", "请写明年份"),
            ("2027年6月30日", "任期哪天届满"),
            ("2028-03-31", "完成了工会换届"),
            ("否", "建议"),
            ("很" * 501, "最多 500 个字"),
            ("工作正常", "请核对"),
        ]
    )
    assert "集体合同到期日：2027年6月30日" in chat.last and "2028年3月31日" in chat.last
    chat.say("确认")
    [report] = stored(db)
    assert report.collective_contract_expires == date(2027, 6, 30) and report.union_term_expires == date(2028, 3, 31)
    assert report.festival_visited == 0 and report.festival_amount is None and report.remarks == "工作正常"


def test_consistency_warnings_can_be_confirmed_or_corrected(chat: Chat, db: Database, clock: Clock) -> None:
    file_core(chat)
    chat.say("确认")
    clock.now += timedelta(days=10)
    chat.dialogue(
        [
            ("月报", "月末职工人数"),
            ("120", "会员人数"),
            ("130", "会员人数（130 人）多于职工人数（120 人），请核实"),
            ("确认", "本月新入会"),
            ("5", "本月减少会员"),
            ("0", "上月会员 100 人 + 新入会 5 人 − 减少 0 人 = 105 人，与本月会员 130 人对不上"),
            ("2", "对不上"),
            ("确认", "工资总额"),
            ("10000", "默认：200.00 元"),
            ("1000", "与工资总额的 2%（200.00 元）相差较大"),
            ("210", "本月上缴"),
        ]
    )
    assert len(stored(db)) == 1, "nothing is stored before 确认"
    for said in ["0", "0", "0", "0", "否", "否", "跳过"]:
        chat.say(said)
    chat.say("确认")
    november = stored(db)[-1]
    assert (november.period, november.members, november.lost_members) == ("2026-11", 130, 2)
    assert november.dues_accrued == Decimal("210.00")


def test_edit_an_answer_from_the_summary(chat: Chat, db: Database) -> None:
    file_core(chat)
    chat.dialogue([("修改 2", "当前填写：100"), ("90", "请核对"), ("修改 99", "没有第 99 项")])
    assert "2. 月末会员人数：90" in chat.replies[-2] and "入会率：75%" in chat.replies[-2]
    chat.say("确认")
    assert stored(db)[0].members == 90


def test_a_second_filing_for_the_same_month_is_a_new_revision(chat: Chat, db: Database, clock: Clock) -> None:
    file_core(chat)
    chat.say("确认")
    clock.now += timedelta(minutes=5)
    file_core(chat)
    chat.dialogue([("修改 1", "当前填写：120"), ("125", "请核对")])
    reply = chat.say("确认")
    assert "第 2 版，已替换此前的第 1 版" in reply
    first, second = stored(db)
    assert (first.revision, first.is_latest, second.revision, second.is_latest) == (1, False, 2, True)
    assert (first.employees, second.employees, second.period) == (120, 125, "2026-10")


def test_a_retried_or_repeated_confirm_creates_one_row(chat: Chat, db: Database) -> None:
    file_core(chat)
    first = chat.wechat.text(CHAIR, "确认", msg_id=987654321).content or ""
    again = chat.wechat.text(CHAIR, "确认", msg_id=987654321).content or ""
    assert "已提交，回执号" in first and again == first
    assert "已经提交过了" in chat.say("确认")
    assert len(stored(db)) == 1


def test_a_named_month_is_reported_and_a_future_or_unreadable_one_refused(chat: Chat, db: Database) -> None:
    assert "还没到" in chat.say("月报 2027年1月")
    assert "还没有结束" in chat.say("月报 本月")
    assert "没看懂月份“随便”" in chat.say("月报 随便")
    assert "2026年9月月末职工人数" in chat.say("月报 上上个月")
    assert "您还有一份未完成的2026年9月月报" in chat.say("月报 2024年5月")
    assert "继续" in chat.say("月报 上上个月")
    chat.dialogue([("继续", "2026年9月月末职工人数"), ("取消", "确定放弃"), ("是", "已放弃")])
    file_core(chat, "月报 2024年5月")
    assert "报告月份：2024年5月" in chat.last
    assert "报告月份：2024年5月" in chat.say("确认")
    assert stored(db)[0].period == "2024-05"


def test_a_pending_draft_is_offered_to_continue(chat: Chat) -> None:
    chat.dialogue([("月报", "职工人数"), ("120", "会员人数"), ("月报", "继续"), ("继续", "会员人数")])


def test_cancel_at_the_continue_or_restart_question_discards_the_draft(chat: Chat, db: Database) -> None:
    chat.dialogue([("月报", "职工人数"), ("120", "会员人数"), ("月报", "或“取消”放弃")])
    chat.dialogue([("取消", "确定放弃"), ("不", "会员人数")])
    chat.dialogue([("月报", "继续"), ("取消", "确定放弃"), ("是", "已放弃")])
    assert "第1项/共13项】2026年10月月末职工人数" in chat.say("月报")
    with db.transaction() as session:
        assert session.exec(select(Submission)).all() == []


def test_a_warner_may_not_file_a_monthly_report(svc: Service, db: Database) -> None:
    enroll(db, "warner-1", "warner")
    warner = Chat(svc.wechat, "warner-1")
    reply = warner.say("月报")
    assert "「企业工会月报」只能由企业工会主席填写" in reply and "劳动争议预警员" in reply
    assert "只能由企业工会主席填写" in warner.say("月报 2099年1月")
    assert stored(db) == []


def test_season_months_come_from_configuration() -> None:
    assert reporting().in_season(4)["season_mutual_aid"] is True
    assert reporting().in_season(6) == {
        "season_mutual_aid": False,
        "season_festival": False,
        "season_card": True,
        "season_contract": False,
    }


@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2099, 12, 31)), st.booleans())
def test_an_expiry_date_with_its_year_reads_back_whatever_today_is(day: date, chinese: bool) -> None:
    text = f"{day.year}年{day.month}月{day.day}日" if chinese else day.isoformat()
    assert parse_expiry_date(text, today=date(2026, 11, 25)) == day


@given(st.integers(min_value=1, max_value=12), st.integers(min_value=1, max_value=28))
def test_an_expiry_date_without_a_year_is_refused(month: int, day: int) -> None:
    with pytest.raises(ParseError) as error:
        parse_expiry_date(f"{month}月{day}日", today=date(2026, 11, 25))
    assert error.value.reason == "date_needs_year"

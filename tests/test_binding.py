"""Binding by invite code, as users and staff experience it through the real endpoint, and the CLI that feeds it."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import typer
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlmodel import select
from typer.testing import CliRunner

from bot.cli.admin import invite_app, org_app, staff_app
from bot.routing import routes
from bot.routing.dispatch import Dispatcher
from config.settings import Settings
from domain import timefmt
from domain.commands import Command, split_command
from domain.enums import Role
from handlers import help
from handlers.binding import BIND_WORDS
from storage import identity
from storage.db import Database
from storage.identity import CODE_ALPHABET, Bound, Refused
from storage.models import BindFailure, Enterprise, InviteCode, Member
from tests.harness import NOW, Chat, Clock, Service, running_service

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def credit_code(first17: str) -> str:
    """GB 32100 check character, written out independently of stdnum."""
    total = sum(USCC_ALPHABET.index(char) * (3**i % 31) for i, char in enumerate(first17))
    return first17 + USCC_ALPHABET[(31 - total % 31) % 31]


XINGHE = credit_code("91110108MA01ABCD2")
XINGHE_LOGISTICS = credit_code("92440300MA5F00001")
HONGQI = credit_code("91330106MA27WP0K1")
CODE = re.compile(r"绑定 ([A-Z0-9]{8})")


@pytest.fixture
def bot(settings: Settings, clock: Clock) -> Iterator[Service]:
    dispatcher = Dispatcher([*routes.BINDING, *routes.HELP], fallback=help.help_text)
    with running_service(settings, dispatcher=dispatcher, clock=clock) as running:
        yield running


def add_enterprise(db: Database, name: str, code: str, community: str = "") -> int:
    with db.transaction() as session:
        enterprise = Enterprise(credit_code=code, name=name, community=community, created_at=NOW, updated_at=NOW)
        session.add(enterprise)
        session.flush()
        assert enterprise.id is not None
        return enterprise.id


def make_invite(db: Database, enterprise_id: int, now: datetime, role: Role = Role.CHAIR, days: int = 7) -> str:
    with db.transaction() as session:
        enterprise = session.get(Enterprise, enterprise_id)
        return identity.create_invite(
            session, role=role, enterprise=enterprise, created_by="test", now=now, days=days
        ).code


def member_of(db: Database, openid: str) -> Member | None:
    with db.transaction() as session:
        return session.exec(select(Member).where(Member.openid == openid)).first()


def invite_row(db: Database, code: str) -> InviteCode:
    with db.transaction() as session:
        row = session.get(InviteCode, code)
        assert row is not None
        return row


@pytest.fixture
def xinghe(db: Database) -> int:
    return add_enterprise(db, "星河科技有限公司", XINGHE, "幸福社区")


def test_unbound_user_is_told_how_to_bind_whatever_they_send(bot: Service) -> None:
    replies = [
        bot.wechat.text("stranger", "月报").content,
        bot.wechat.text("stranger", "你好").content,
        bot.wechat.image("stranger", "media-1").content,
        bot.wechat.event("stranger", "CLICK", "MONTHLY_REPORT").content,
    ]
    for reply in replies:
        assert reply is not None and "还没有绑定" in reply and "绑定 邀请码" in reply
    assert bot.wechat.event("stranger", "VIEW", "https://example.com").content is None


def test_subscribing_welcomes_and_explains_binding(bot: Service) -> None:
    reply = bot.wechat.event("newcomer", "subscribe").content
    assert reply is not None and reply.startswith("欢迎关注") and "绑定 邀请码" in reply


def test_valid_code_binds_and_later_messages_reach_the_other_capabilities(
    bot: Service, db: Database, clock: Clock, xinghe: int
) -> None:
    code = make_invite(db, xinghe, clock.now)
    reply = bot.wechat.text("chair-1", f"绑定 {code}").content
    assert reply is not None
    assert "绑定成功" in reply and "“星河科技有限公司”的企业工会主席" in reply and "月报" in reply
    member = member_of(db, "chair-1")
    assert member is not None
    assert (member.role, member.enterprise_id, member.active) == (Role.CHAIR, xinghe, True)
    used = invite_row(db, code)
    assert used.used_by == "chair-1" and used.used_at == clock.now
    assert (bot.wechat.text("chair-1", "你好").content or "").startswith("您好，这里是街道总工会")


def test_warner_code_binds_a_warner_who_is_told_to_file_warnings(
    bot: Service, db: Database, clock: Clock, xinghe: int
) -> None:
    code = make_invite(db, xinghe, clock.now, role=Role.WARNER)
    reply = bot.wechat.text("warner-1", f"绑定{code}").content or ""
    assert "劳动争议预警员" in reply and "请发送“预警”上报" in reply and "月报" not in reply
    member = member_of(db, "warner-1")
    assert member is not None and member.role == Role.WARNER


def test_code_is_read_case_and_width_insensitively(bot: Service, db: Database, clock: Clock, xinghe: int) -> None:
    code = make_invite(db, xinghe, clock.now)
    typed = "".join(chr(ord(char) + 0xFEE0) for char in code.lower())  # full-width lower case
    reply = bot.wechat.text("chair-1", f"绑定\u3000{typed[:4]} {typed[4:]}").content or ""
    assert "绑定成功" in reply


@settings(max_examples=200, deadline=None)
@given(
    code=st.text(alphabet=CODE_ALPHABET, min_size=8, max_size=8),
    lower=st.lists(st.booleans(), min_size=8, max_size=8),
    wide=st.lists(st.booleans(), min_size=8, max_size=8),
    gaps=st.lists(st.sampled_from(["", " ", "\u3000", "-", "－"]), min_size=9, max_size=9),
)
def test_normalize_code_forgives_case_width_and_separators(
    code: str, lower: list[bool], wide: list[bool], gaps: list[str]
) -> None:
    typed = gaps[0]
    for char, small, full, gap in zip(code, lower, wide, gaps[1:], strict=True):
        char = char.lower() if small else char
        typed += (chr(ord(char) + 0xFEE0) if full else char) + gap
    assert identity.normalize_code(typed) == code
    assert identity.looks_like_code(identity.normalize_code(typed))


def test_used_code_is_refused_to_another_user(bot: Service, db: Database, clock: Clock, xinghe: int) -> None:
    code = make_invite(db, xinghe, clock.now)
    bot.wechat.text("chair-1", f"绑定 {code}")
    reply = bot.wechat.text("intruder", f"绑定 {code}").content or ""
    assert "已经被使用过" in reply and "还可以再试 4 次" in reply
    assert member_of(db, "intruder") is None
    assert invite_row(db, code).used_by == "chair-1"


def test_sending_ones_own_code_again_costs_nothing(bot: Service, db: Database, clock: Clock, xinghe: int) -> None:
    code = make_invite(db, xinghe, clock.now)
    bot.wechat.text("chair-1", f"绑定 {code}")
    reply = bot.wechat.text("chair-1", f"绑定 {code}").content or ""
    assert "已经用这个邀请码绑定过" in reply and "企业工会主席" in reply
    with db.transaction() as session:
        assert session.exec(select(BindFailure)).all() == []


def test_code_expires_after_its_days(bot: Service, db: Database, clock: Clock, xinghe: int) -> None:
    in_time, too_late = make_invite(db, xinghe, clock.now), make_invite(db, xinghe, clock.now)
    clock.advance(days=7, minutes=-1)
    assert "绑定成功" in (bot.wechat.text("chair-1", f"绑定 {in_time}").content or "")
    clock.advance(minutes=1)
    reply = bot.wechat.text("chair-2", f"绑定 {too_late}").content or ""
    assert "已经过期" in reply and "重新索取" in reply
    assert member_of(db, "chair-2") is None and invite_row(db, too_late).used_at is None


def test_five_wrong_codes_lock_binding_for_an_hour(bot: Service, db: Database, clock: Clock, xinghe: int) -> None:
    code = make_invite(db, xinghe, clock.now, days=1)
    replies = [bot.wechat.text("guesser", f"绑定 WRONG{n}AB").content or "" for n in range(2, 7)]
    assert [re.search(r"再试 (\d) 次", reply)[1] for reply in replies[:4]] == ["4", "3", "2", "1"]  # type: ignore[index]
    assert "请 60 分钟后再试" in replies[4]
    clock.advance(minutes=20)
    locked = bot.wechat.text("guesser", f"绑定 {code}").content or ""
    assert "暂停" in locked and "请 40 分钟后再试" in locked
    assert invite_row(db, code).used_at is None and member_of(db, "guesser") is None
    clock.advance(minutes=40)
    assert "绑定成功" in (bot.wechat.text("guesser", f"绑定 {code}").content or "")


def test_lockout_needs_five_failures_within_an_hour(bot: Service, db: Database, clock: Clock, xinghe: int) -> None:
    for n in range(2, 6):
        bot.wechat.text("slow-guesser", f"绑定 WRONG{n}AB")
    clock.advance(minutes=61)
    reply = bot.wechat.text("slow-guesser", "绑定 WRONG7AB").content or ""
    assert "还可以再试 4 次" in reply and "暂停" not in reply


def test_a_malformed_code_is_a_typo_and_costs_no_attempt(bot: Service, db: Database, clock: Clock) -> None:
    assert "请在“绑定”后面加上邀请码" in (bot.wechat.text("typo", "绑定").content or "")
    assert "不是有效的邀请码" in (bot.wechat.text("typo", "绑定 是什么").content or "")
    assert "“AB23CD4”不是有效的邀请码" in (bot.wechat.text("typo", "绑定 ab23 cd4").content or "")
    assert "“ABCDEFGHJKMNPQR…”不是" in (bot.wechat.text("typo", "绑定 " + "ABCDEFGHJKMNPQRSTUVW" * 5).content or "")
    with db.transaction() as session:
        assert session.exec(select(BindFailure)).all() == []


def test_a_retried_delivery_is_answered_once_and_spends_one_attempt(
    bot: Service, db: Database, clock: Clock, xinghe: int
) -> None:
    wrong = [bot.wechat.text("retry", "绑定 WRONG2AB", msg_id=7001).content for _ in range(3)]
    assert len(set(wrong)) == 1 and "还可以再试 4 次" in (wrong[0] or "")
    with db.transaction() as session:
        assert len(session.exec(select(BindFailure)).all()) == 1
    code = make_invite(db, xinghe, clock.now)
    right = [bot.wechat.text("retry", f"绑定 {code}", msg_id=7002).content or "" for _ in range(3)]
    assert all("绑定成功" in reply for reply in right)
    assert invite_row(db, code).used_by == "retry"


def test_binding_again_replaces_the_old_binding(bot: Service, db: Database, clock: Clock, xinghe: int) -> None:
    hongqi = add_enterprise(db, "红旗机械厂", HONGQI)
    bot.wechat.text("moving", f"绑定 {make_invite(db, xinghe, clock.now)}")
    first = member_of(db, "moving")
    reply = bot.wechat.text("moving", f"绑定 {make_invite(db, hongqi, clock.now, role=Role.WARNER)}").content or ""
    assert "“红旗机械厂”的劳动争议预警员" in reply and "原来的身份（“星河科技有限公司”的企业工会主席）已解除" in reply
    second = member_of(db, "moving")
    assert first is not None and second is not None
    assert second.id == first.id and (second.role, second.enterprise_id) == (Role.WARNER, hongqi)


def test_unsubscribing_deactivates_and_a_new_code_restores_the_same_row(
    bot: Service, db: Database, clock: Clock, xinghe: int
) -> None:
    old = make_invite(db, xinghe, clock.now)
    bot.wechat.text("leaver", f"绑定 {old}")
    bound = member_of(db, "leaver")
    clock.advance(minutes=5)
    assert bot.wechat.event("leaver", "unsubscribe").content is None
    gone = member_of(db, "leaver")
    assert gone is not None and not gone.active and gone.deactivated_at == clock.now
    assert "还没有绑定" in (bot.wechat.text("leaver", "月报").content or "")
    assert "绑定 邀请码" in (bot.wechat.event("leaver", "subscribe").content or "")
    assert "已经被使用过" in (bot.wechat.text("leaver", f"绑定 {old}").content or "")
    reply = bot.wechat.text("leaver", f"绑定 {make_invite(db, xinghe, clock.now)}").content or ""
    assert "绑定成功" in reply and "原来的身份" not in reply
    back = member_of(db, "leaver")
    assert bound is not None and back is not None
    assert back.id == bound.id and back.active and back.deactivated_at is None
    with db.transaction() as session:
        assert len(session.exec(select(Member)).all()) == 1


def test_two_users_racing_for_one_code_bind_only_one(db: Database, clock: Clock, xinghe: int) -> None:
    """The second transaction must wait on the invite row and then see it used (PostgreSQL: FOR UPDATE)."""
    code = make_invite(db, xinghe, clock.now)
    results: dict[str, object] = {}
    with db.transaction() as first:
        results["first"] = identity.redeem(first, "racer-1", code, clock.now)

        def second() -> None:
            with db.transaction() as session:
                results["second"] = identity.redeem(session, "racer-2", code, clock.now)

        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(0.5)
        assert "second" not in results
    thread.join(timeout=30)
    assert isinstance(results["first"], Bound)
    assert isinstance(results["second"], Refused) and results["second"].reason == "used"
    assert invite_row(db, code).used_by == "racer-1"


@pytest.fixture
def staff(db: Database) -> str:
    with db.transaction() as session:
        identity.add_staff(session, "staff-1", name="王芳", admin=False, now=NOW)
    return "staff-1"


def test_staff_ask_for_a_code_by_name_that_another_user_binds_with(
    bot: Service, db: Database, staff: str, xinghe: int
) -> None:
    reply = bot.wechat.text(staff, "邀请码 星河科技").content or ""
    assert "已为“星河科技有限公司”生成企业工会主席邀请码" in reply and "只能使用一次" in reply
    match = CODE.search(reply)
    assert match is not None
    assert invite_row(db, match[1]).created_by == staff
    bound = bot.wechat.text("chair-9", f"绑定 {match[1]}").content or ""
    assert "“星河科技有限公司”的企业工会主席" in bound


def test_staff_ask_for_a_warner_code(bot: Service, db: Database, staff: str, xinghe: int) -> None:
    reply = bot.wechat.text(staff, "邀请码 星河科技有限公司 预警员").content or ""
    match = CODE.search(reply)
    assert match is not None and "劳动争议预警员" in reply
    assert invite_row(db, match[1]).role == Role.WARNER
    assert "劳动争议预警员" in (bot.wechat.text("warner-9", f"绑定 {match[1]}").content or "")


def test_staff_may_name_the_enterprise_by_credit_code(bot: Service, staff: str, xinghe: int) -> None:
    reply = bot.wechat.text(staff, f"邀请码 {XINGHE.lower()}").content or ""
    assert "星河科技有限公司" in reply and CODE.search(reply)


def test_an_ambiguous_name_lists_the_candidates(bot: Service, db: Database, staff: str, xinghe: int) -> None:
    add_enterprise(db, "星河物流有限公司", XINGHE_LOGISTICS, "光明社区")
    reply = bot.wechat.text(staff, "邀请码 星河").content or ""
    assert "2 家企业" in reply
    assert (
        f"星河科技有限公司（幸福社区，{XINGHE}）" in reply
        and f"星河物流有限公司（光明社区，{XINGHE_LOGISTICS}）" in reply
    )
    assert CODE.search(reply) is None
    with db.transaction() as session:
        assert session.exec(select(InviteCode)).all() == []


def test_an_exact_name_wins_over_longer_names_containing_it(
    bot: Service, db: Database, staff: str, xinghe: int
) -> None:
    add_enterprise(db, "星河科技有限公司第二分公司", credit_code("91110108MA01ABCD3"))
    reply = bot.wechat.text(staff, "邀请码 星河科技有限公司").content or ""
    match = CODE.search(reply)
    assert match is not None
    assert invite_row(db, match[1]).enterprise_id == xinghe


def test_an_unknown_name_or_none_at_all_is_explained(bot: Service, staff: str, xinghe: int) -> None:
    assert "没有找到“长江”" in (bot.wechat.text(staff, "邀请码 长江").content or "")
    assert "请在“邀请码”后面写上企业名称" in (bot.wechat.text(staff, "邀请码").content or "")


def test_only_staff_may_ask_for_codes(bot: Service, db: Database, clock: Clock, xinghe: int) -> None:
    bot.wechat.text("chair-1", f"绑定 {make_invite(db, xinghe, clock.now)}")
    for openid in ("chair-1", "stranger"):
        reply = bot.wechat.text(openid, "邀请码 星河科技").content or ""
        assert "只有街道总工会工作人员可以生成邀请码" in reply
    with db.transaction() as session:
        assert len(session.exec(select(InviteCode)).all()) == 1


# ---------------------------------------------------------------------------------------------------------
# The command line

runner = CliRunner()
cli = typer.Typer()
cli.add_typer(org_app, name="org")
cli.add_typer(invite_app, name="invite")
cli.add_typer(staff_app, name="staff")


def run(database_url: str, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(cli, list(args), env={"UNIONBOT_DATABASE_URL": database_url})
    return result.exit_code, result.stdout, result.stderr


def test_invite_create_prints_a_code_a_user_can_bind_with(
    bot: Service, db: Database, database_url: str, clock: Clock
) -> None:
    add_enterprise(db, "红旗机械厂", HONGQI)
    status, out, _ = run(database_url, "invite", "create", "--enterprise", HONGQI.lower(), "--role", "warner")
    assert status == 0, out
    code = out.splitlines()[0]
    assert re.fullmatch(r"[A-Z2-9]{8}", code) and not set(code) & set("01OIL")
    assert "warner of 红旗机械厂" in out
    row = invite_row(db, code)
    assert row.expires_at - row.created_at == timedelta(days=7)
    assert f"expires {timefmt.minute(row.expires_at, ZoneInfo('Asia/Shanghai'))} (Asia/Shanghai)" in out
    clock.now = row.created_at  # the CLI made the code on the wall clock; the user binds at that moment
    assert "“红旗机械厂”的劳动争议预警员" in (bot.wechat.text("cli-user", f"绑定 {code}").content or "")


def test_invite_create_takes_days_and_refuses_unknown_enterprises(db: Database, database_url: str) -> None:
    add_enterprise(db, "红旗机械厂", HONGQI)
    status, out, _ = run(database_url, "invite", "create", "--enterprise", HONGQI, "--days", "1")
    assert status == 0
    row = invite_row(db, out.splitlines()[0])
    assert (row.role, row.expires_at - row.created_at) == (Role.CHAIR, timedelta(days=1))
    status, _, err = run(database_url, "invite", "create", "--enterprise", XINGHE)
    assert status == 2 and f"no enterprise with credit code {XINGHE}" in err
    status, _, err = run(database_url, "invite", "create", "--enterprise", XINGHE[:-1] + "0")
    assert status == 2 and "统一社会信用代码：" in err and "校验位不对" in err


def test_staff_add_makes_staff_who_can_invite(bot: Service, db: Database, database_url: str, xinghe: int) -> None:
    status, out, _ = run(database_url, "staff", "add", "o-staff", "--name", "李明")
    assert status == 0 and "o-staff is now staff (李明)" in out
    assert CODE.search(bot.wechat.text("o-staff", "邀请码 星河科技").content or "")
    status, out, _ = run(database_url, "staff", "add", "o-staff", "--name", "李明", "--admin")
    member = member_of(db, "o-staff")
    assert status == 0 and member is not None and (member.role, member.name) == (Role.ADMIN, "李明")


# -- every common way of typing the code -----------------------------------------------------------------------

TYPED = (
    "绑定 {code}",
    "绑定：{code}",
    "绑定:{code}",
    "绑定 ： {code}",
    "绑定{code}",
    "{code}",
    "{lower}",
    "绑定 {lower}",
    "绑定 {spaced}",
    "{spaced}",
    "绑定：{wide}",
)


@pytest.mark.parametrize("typed", TYPED)
def test_every_common_way_of_typing_the_code_binds(
    bot: Service, db: Database, clock: Clock, xinghe: int, typed: str
) -> None:
    code = make_invite(db, xinghe, clock.now)
    wide = "".join(chr(ord(char) + 0xFEE0) for char in code)
    text = typed.format(code=code, lower=code.lower(), spaced=f"{code[:4]} {code[4:]}", wide=wide)
    reply = bot.wechat.text("typist", text).content or ""
    assert "绑定成功" in reply, (text, reply)
    assert invite_row(db, code).used_by == "typist"


def test_the_code_alone_is_read_only_from_someone_unbound(
    bot: Service, db: Database, clock: Clock, xinghe: int
) -> None:
    code = make_invite(db, xinghe, clock.now)
    other = make_invite(db, xinghe, clock.now)
    assert "绑定成功" in (bot.wechat.text("alone", code).content or "")
    assert "绑定成功" not in (bot.wechat.text("alone", other).content or "")  # bound: an answer, not a new binding
    assert invite_row(db, other).used_at is None
    assert "还没有绑定" in (bot.wechat.text("stranger", "你好在吗").content or "")
    assert "还没有绑定" in (bot.wechat.text("stranger", "HELLOABC").content or "")  # L and O are never in a code
    with db.transaction() as session:
        assert session.exec(select(BindFailure)).all() == []


@settings(max_examples=200, deadline=None)
@given(
    code=st.text(alphabet=CODE_ALPHABET, min_size=8, max_size=8),
    separator=st.sampled_from(["", " ", "\u3000", ":", "：", " ：", "： ", " : "]),
    lower=st.booleans(),
    split_at=st.integers(min_value=0, max_value=8),
)
def test_bind_command_reads_the_code_after_any_separator(code: str, separator: str, lower: bool, split_at: int) -> None:
    typed = code.lower() if lower else code
    typed = f"{typed[:split_at]} {typed[split_at:]}".strip()
    command = split_command(f"绑定{separator}{typed}", BIND_WORDS, attached=True)
    assert command is not None and command.word == "绑定"
    assert identity.normalize_code(command.args) == code
    assert identity.looks_like_bare_code(typed)


@settings(max_examples=200, deadline=None)
@given(text=st.text(min_size=1, max_size=12))
def test_only_a_code_shaped_text_counts_as_the_code_alone(text: str) -> None:
    normalized = identity.normalize_code(text)
    assert identity.looks_like_bare_code(text) == (
        len(normalized) == 8 and all(char in CODE_ALPHABET for char in normalized)
    )


def test_a_colon_after_other_command_words_is_punctuation_too() -> None:
    assert split_command("统计：上月", ("统计",)) == Command("统计", "上月")
    assert split_command("统计 : 上月", ("统计",)) == Command("统计", "上月")
    assert split_command("化解 W12 说明：已调解", ("化解",)) == Command("化解", "W12 说明：已调解")
    assert split_command("：统计", ("统计",)) is None


# -- name and mobile after binding, 我的信息, and what staff then see --------------------------------------------


def test_a_chair_gives_name_and_mobile_after_binding_and_staff_see_them(
    service: Service, db: Database, clock: Clock, xinghe: int, staff: str
) -> None:
    code = make_invite(db, xinghe, clock.now)
    chair = Chat(service.wechat, "chair-p")
    chair.dialogue(
        [
            (f"绑定：{code}", "请问您的姓名"),
            ("张三", "您的手机号是多少"),
            ("138 1234 5678", "1. 姓名：张三"),
            ("确认", "已保存：张三 13812345678"),
        ]
    )
    assert "我的信息" in chair.last
    member = member_of(db, "chair-p")
    assert member is not None and (member.name, member.mobile) == ("张三", "13812345678")
    shown = service.wechat.text(staff, "企业 星河科技").content or ""
    assert "工会主席：张三 13812345678" in shown


def test_the_questions_can_be_skipped_and_edited_later_with_my_info(
    service: Service, db: Database, clock: Clock, xinghe: int, staff: str
) -> None:
    code = make_invite(db, xinghe, clock.now, role=Role.WARNER)
    warner = Chat(service.wechat, "warner-p")
    warner.dialogue(
        [
            (code, "请问您的姓名"),
            ("跳过", "您的手机号是多少"),
            ("跳过", "请核对「个人信息」"),
            ("确认", "姓名和手机号都没有填写"),
        ]
    )
    assert "工会主席：未绑定" in (service.wechat.text(staff, "企业 星河科技").content or "")
    clock.advance(days=1)  # a later filing: its own draft and submission (the key holds the draft's creation time)
    warner.dialogue(
        [
            ("我的信息", "请问您的姓名"),
            ("李四", "您的手机号是多少"),
            ("12345", "手机号"),
            ("13900001111", "2. 手机号：13900001111"),
            ("确认", "已保存：李四 13900001111"),
        ]
    )
    clock.advance(days=1)
    warner.dialogue(
        [
            ("我的信息", "默认：李四，回复“默认”采用"),
            ("默认", "默认：13900001111"),
            ("13900002222", "1. 姓名：李四"),
            ("确认", "已保存：李四 13900002222"),
        ]
    )
    member = member_of(db, "warner-p")
    assert member is not None and (member.name, member.mobile) == ("李四", "13900002222")
    assert "预警员：李四 13900002222" in (service.wechat.text(staff, "企业 星河科技").content or "")


def test_a_chair_without_a_name_is_shown_as_such(
    service: Service, db: Database, clock: Clock, xinghe: int, staff: str
) -> None:
    code = make_invite(db, xinghe, clock.now)
    service.wechat.text("quiet-chair", f"绑定 {code}")
    assert "工会主席：（未留姓名）" in (service.wechat.text(staff, "企业 星河科技").content or "")

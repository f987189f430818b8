"""Voice messages: what WeChat heard is handled exactly as if typed, and the reply first says “您说的是：…” so the
user can catch a mishearing; a voice message WeChat gave no text for is asked, politely, to be typed."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import cn2an
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import select

from bot.routing import routes
from bot.routing.dispatch import Dispatcher
from config.settings import Settings
from domain.messages import Kind, heard
from domain.normalize import parse_integer
from handlers.context import Context
from storage.db import Database
from storage.models import MonthlyReport, WechatUser
from tests.conftest import enroll
from tests.harness import Chat, Clock, Service, running_service
from tests.test_monthly_report import CORE

CHAIR = "chair-1"
ASK_TO_TYPE = "请改用文字输入"


@pytest.fixture
def svc(settings: Settings, db: Database, clock: Clock) -> Iterator[Service]:
    enroll(db, CHAIR)
    with running_service(settings, clock=clock) as running:
        yield running


@pytest.fixture
def chat(svc: Service) -> Chat:
    return Chat(svc.wechat, CHAIR)


def test_a_spoken_monthly_report_is_filed_with_spoken_numbers(chat: Chat, db: Database) -> None:
    started = chat.speak("月报。")
    assert started.startswith("您说的是：“月报”\n")
    assert "第1项/共13项】2026年10月月末职工人数是多少？" in started

    answered = chat.speak("一百二十人。")
    assert answered.startswith("您说的是：“一百二十人”\n")
    assert "月末工会会员人数是多少？" in answered
    chat.dialogue(CORE[2:11])  # typed, up to “培训共有多少人次参加”
    assert "本月发生劳动争议" in chat.speak("三十二人次。")
    chat.dialogue([*CORE[12:], ("跳过", "请核对「企业工会月报」")])
    assert "已提交，回执号 Y" in chat.speak("确认。")

    with db.transaction() as session:
        [report] = session.exec(select(MonthlyReport)).all()
        assert (report.employees, report.training_participants) == (120, 32)


def test_a_misheard_answer_is_refused_as_typed_text_would_be_with_what_was_heard(chat: Chat) -> None:
    chat.say("月报")
    reply = chat.speak("很多人。")
    assert reply.startswith("您说的是：“很多人”\n")
    assert "没看懂“很多人”，请填写数字" in reply  # what typing “很多人” gets
    assert "您说的是" not in chat.say("120")  # typing is never echoed


@pytest.mark.parametrize("recognition", [None, "", "。", "  "])
def test_a_voice_without_text_is_asked_to_be_typed_and_leaves_the_form_alone(
    chat: Chat, recognition: str | None
) -> None:
    chat.say("月报")

    reply = chat.speak(recognition)

    assert ASK_TO_TYPE in reply and not reply.startswith("您说的是")
    assert "月末工会会员人数是多少？" in chat.say("120")  # still at question 1 of the same draft


def test_a_stranger_who_speaks_is_told_how_to_bind_after_hearing_what_was_heard(svc: Service) -> None:
    stranger = Chat(svc.wechat, "stranger")
    assert stranger.speak("你好。").startswith("您说的是：“你好”\n")
    assert "绑定 邀请码" in stranger.last
    assert "绑定 邀请码" in stranger.speak(None)


def test_a_long_dictation_is_echoed_in_part(chat: Chat) -> None:
    reply = chat.speak("我们厂" * 40)
    assert reply.splitlines()[0] == "您说的是：“" + ("我们厂" * 40)[:60] + "…”"


class Recorder:
    def __init__(self) -> None:
        self.seen: list[tuple[Kind, str, str, bool]] = []

    def handle(self, ctx: Context) -> str:
        self.seen.append((ctx.incoming.kind, ctx.incoming.text, ctx.incoming.media_id, ctx.incoming.spoken))
        return "ok"


def test_the_endpoint_hands_routing_what_was_heard_as_text(settings: Settings) -> None:
    recorder = Recorder()
    with running_service(settings, dispatcher=Dispatcher([], fallback=recorder.handle)) as svc:
        svc.wechat.voice("u", "  签收W12。 ", msg_id=7001)
        svc.wechat.voice("u", None, msg_id=7002)
        svc.wechat.voice("u", "是？", msg_id=7003)
        with svc.services.db.transaction() as session:
            user = session.get(WechatUser, "u")
            assert user is not None and user.messages_handled == 3 and user.last_message_at is not None
    assert recorder.seen == [
        (Kind.TEXT, "签收W12", "", True),  # the voice file is not a photo for a form's photo question
        (Kind.VOICE, "", "voice-7002", False),
        (Kind.TEXT, "是？", "", True),  # a question stays a question
    ]


def test_a_spoken_request_for_a_long_answer_is_paged_with_the_echo_on_page_one(settings: Settings) -> None:
    lines = [f"第{i:03d}行：" + "工会经费计提与上缴情况" * 4 for i in range(60)]
    long_text: Callable[[Context], str] = lambda _ctx: "\n".join(lines)  # noqa: E731
    dispatcher = Dispatcher(routes.PAGING, fallback=long_text, finish=routes.finish)
    with running_service(settings, dispatcher=dispatcher) as svc:
        chat = Chat(svc.wechat, "staff-1")
        pages = [chat.speak("统计 上半年。")]
        while "回复“更多”" in pages[-1]:
            pages.append(chat.speak("下一页。"))
    assert len(pages) >= 3
    assert pages[0].startswith("您说的是：“统计 上半年”\n")
    assert all(page.startswith("您说的是：“下一页”\n") for page in pages[1:])
    assert all(len(page.encode()) <= settings.reply_max_bytes for page in pages)
    shown = "\n".join(pages)
    assert all(line in shown for line in lines)


_SENTENCE_END = "。．.，,、！!～~ \n"


@given(st.text(max_size=30), st.text(alphabet=_SENTENCE_END, max_size=4))
def test_only_the_sentence_end_of_a_recognition_is_dropped(words: str, end: str) -> None:
    said = heard(words + end)
    assert said == heard(words)
    assert words.strip().startswith(said)
    assert not said or said[-1] not in _SENTENCE_END


@given(st.integers(min_value=0, max_value=10**6), st.sampled_from(["人", "人次", "名", "个", ""]))
def test_numbers_spoken_in_chinese_read_as_when_typed(number: int, unit: str) -> None:
    spoken = heard(f"{cn2an.an2cn(number)}{unit}。")
    assert parse_integer(spoken) == number
    assert parse_integer(heard(f"{number}{unit}。")) == number

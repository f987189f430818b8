"""The WeChat endpoint as WeChat's servers use it: verification, signatures, safe mode, bad bodies."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator

import pytest
import xmltodict
from sqlmodel import select
from starlette.types import Message

from bot.channel.signing import Signer, asgi_scope, new_msg_id, text_xml
from bot.routing.dispatch import Dispatcher
from config.settings import Settings
from domain.messages import Kind
from handlers.context import Context
from storage.db import Database
from storage.models import InboundMessage, WechatUser
from tests.conftest import AES_KEY, TOKEN, enroll, make_settings
from tests.harness import Clock, Service, running_service


class Recorder:
    """A dispatcher that echoes what it was given, so tests see the typed message the endpoint produced."""

    def __init__(self) -> None:
        self.seen: list[tuple[Kind, str, str, str]] = []

    def handle(self, ctx: Context) -> str:
        incoming = ctx.incoming
        self.seen.append((incoming.kind, incoming.text, incoming.event_key, incoming.media_id))
        return f"echo:{incoming.kind}:{incoming.text}"


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def echo_service(settings: Settings, recorder: Recorder) -> Iterator[Service]:
    with running_service(settings, dispatcher=Dispatcher([], fallback=recorder.handle)) as running:
        yield running


def test_url_verification_returns_echostr_with_wechatpy_vector(database_url: str) -> None:
    # TV-1 from wechatpy's tests/test_utils.py: token "test".
    settings = make_settings(database_url, "http://127.0.0.1:9", wechat_token="test")
    params = {"signature": "f21891de399b4e33a1a93c9a7b8a8fffb5a443ff", "timestamp": "1410685589", "nonce": "test"}
    with running_service(settings) as svc:
        ok = svc.client.get("/wechat", params={**params, "echostr": "5927782489442352469"})
        bad = svc.client.get("/wechat", params={**params, "signature": params["signature"][:-1] + "e"})
        missing = svc.client.get("/wechat", params={"echostr": "x"})
    assert (ok.status_code, ok.text) == (200, "5927782489442352469")
    assert bad.status_code == 403
    assert missing.status_code == 400


def test_text_message_gets_help_reply_addressed_back(service: Service) -> None:
    reply = service.wechat.text("chair-1", "你好")
    fields = reply.fields
    assert fields["ToUserName"] == "chair-1"
    assert fields["FromUserName"] == "gh_unionbot"
    assert fields["MsgType"] == "text"
    assert "月报" in fields["Content"] and "绑定" in fields["Content"]


def test_every_post_checks_the_signature(service: Service) -> None:
    signed, body = service.wechat.signer.sign(text_xml("u", "hi", new_msg_id()))
    tampered = {**signed, "signature": "0" * 40}
    assert service.wechat.post(body, params=tampered, sign=False).status_code == 403
    assert service.wechat.post(body, params={}, sign=False).status_code == 400
    with service.services.db.transaction() as session:
        assert session.exec(select(InboundMessage)).all() == []


@pytest.mark.parametrize("age", [-400, 400, 3600])
def test_stale_or_future_timestamps_are_rejected_as_replays(service: Service, clock: Clock, age: int) -> None:
    response = service.wechat.post(text_xml("u", "hi", new_msg_id()), timestamp=int(clock().timestamp()) - age)
    assert response.status_code == 403


def test_replay_window_is_configurable(database_url: str, fake_url: str) -> None:
    settings = make_settings(database_url, fake_url, replay_window_seconds=7200)
    with running_service(settings) as svc:
        reply = svc.wechat.text("u", "hi")
        an_hour_ago = int(svc.services.clock().timestamp()) - 3600
        old = svc.wechat.post(text_xml("u", "hi", new_msg_id()), timestamp=an_hour_ago)
    assert reply.content and old.status_code == 200


@pytest.fixture
def fake_url(fake: object) -> str:
    return str(fake.url)  # type: ignore[attr-defined]


def test_safe_mode_decrypts_wechatpy_vector_and_encrypts_the_reply(database_url: str, fake_url: str) -> None:
    # TV-2/TV-5 from wechatpy's tests/test_crypto.py.
    settings = make_settings(
        database_url,
        fake_url,
        wechat_token="123456",
        wechat_aes_key=AES_KEY,
        wechat_appid="wx49f0ab532d5d035a",
        replay_window_seconds=10**10,
    )
    encrypted = (
        "RgqEoJj5A4EMYlLvWO1F86ioRjZfaex/gePD0gOXTxpsq5Yj4GNglrBb8I2BAJVODGajiFnXBu7mCPatfjsu6IHCrsTyeDXzF6Bv283dGymzxh6"
        "ydJRvZsryDyZbLTE7rhnus50qGPMfp2wASFlzEgMW9z1ef/RD8XzaFYgm7iTdaXpXaG4+BiYyolBug/gYNx410cvkKR2/nPwBiT+P4hIiOAQqGp"
        "/TywZBtDh1yCF2KOd0gpiMZ5jSw3e29mTvmUHzkVQiMS6td7vXUaWOMZnYZlF3So2SjHnwh4jYFxdgpkHHqIrH/54SNdshoQgWYEvccTKe7FS70"
        "9/5t6NMxuGhcUGAPOQipvWTT4dShyqio7mlsl5noTrb++x6En749zCpQVhDpbV6GDnTbcX2e8K9QaNWHp91eBdCRxthuL0="
    )
    body = (
        "<xml><ToUserName><![CDATA[wx49f0ab532d5d035a]]></ToUserName>\n"
        f"<Encrypt><![CDATA[{encrypted}]]></Encrypt>\n<AgentID><![CDATA[1]]></AgentID>\n</xml>"
    )
    timestamp, nonce = "1411525903", "461056294"
    params = {
        "signature": Signer("123456").sign("", timestamp=int(timestamp), nonce=nonce)[0]["signature"],
        "timestamp": timestamp,
        "nonce": nonce,
        "encrypt_type": "aes",
        "msg_signature": "74d92dfeb87ba7c714f89d98870ae5eb62dff26d",
    }
    with running_service(settings) as svc:
        response = svc.wechat.post(body.encode(), params=params, sign=False)
        wrong = svc.wechat.post(body.encode(), params={**params, "msg_signature": "0" * 40}, sign=False)
        with svc.services.db.transaction() as session:
            stored = session.get(InboundMessage, "msg:4363689963896700987")
    assert response.status_code == 200
    envelope = xmltodict.parse(response.text)["xml"]
    assert set(envelope) == {"Encrypt", "MsgSignature", "TimeStamp", "Nonce"}
    inner = xmltodict.parse(svc.wechat.signer.open_reply(response.text))["xml"]
    assert inner["ToUserName"] == "messense" and "月报" in inner["Content"]
    assert wrong.status_code == 403
    assert stored is not None and stored.openid == "messense"


@pytest.fixture
def safe_settings(database_url: str, fake_url: str) -> Settings:
    return make_settings(database_url, fake_url, wechat_aes_key=AES_KEY)


def test_safe_mode_round_trip_through_the_signer(safe_settings: Settings) -> None:
    with running_service(safe_settings) as svc:
        reply = svc.wechat.text("chair-safe", "你好")
    assert reply.fields["ToUserName"] == "chair-safe" and "月报" in (reply.content or "")


def test_safe_mode_rejects_undecryptable_body_and_wrong_appid(safe_settings: Settings) -> None:
    with running_service(safe_settings) as svc:
        other_app = Signer(TOKEN, "wxffffffffffffffff", AES_KEY, clock=svc.wechat.signer.clock)
        params, body = other_app.sign(text_xml("u", "hi", new_msg_id()))
        wrong_appid = svc.wechat.post(body, params=params, sign=False)
        garbage = body.replace(b"<Encrypt><![CDATA[", b"<Encrypt><![CDATA[AAAA")
        params_garbage = {**params, "msg_signature": _msg_signature(params, garbage)}
        undecryptable = svc.wechat.post(garbage, params=params_garbage, sign=False)
        no_msg_signature = svc.wechat.post(
            body, params={k: v for k, v in params.items() if k != "msg_signature"}, sign=False
        )
    assert wrong_appid.status_code == 400
    assert undecryptable.status_code == 400
    assert no_msg_signature.status_code == 400


def _msg_signature(params: dict[str, str], envelope: bytes) -> str:
    from bot.channel.wechat import signature_of

    encrypted = xmltodict.parse(envelope)["xml"]["Encrypt"]
    return signature_of(TOKEN, params["timestamp"], params["nonce"], encrypted)


def test_encrypted_delivery_without_a_configured_key_is_rejected(service: Service) -> None:
    safe_mode = Signer(TOKEN, "wx1234567890abcdef", AES_KEY, clock=service.wechat.signer.clock)
    params, body = safe_mode.sign(text_xml("u", "hi", new_msg_id()))
    assert service.wechat.post(body, params=params, sign=False).status_code == 400


BAD_BODIES = {
    "malformed": "<xml><ToUserName>gh</ToUserName><FromUserName>u",
    "not xml root": "<note><FromUserName>u</FromUserName></note>",
    "json": '{"touser": "u", "msgtype": "text"}',
    "doctype": '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaa">]><xml><Content>&a;</Content></xml>',
    "entity only": '<!ENTITY x SYSTEM "file:///etc/passwd"><xml></xml>',
    "no sender": "<xml><ToUserName>gh</ToUserName><CreateTime>1</CreateTime><MsgType>text</MsgType></xml>",
    "bad create time": "<xml><FromUserName>u</FromUserName><CreateTime>soon</CreateTime><MsgType>text</MsgType></xml>",
    "empty": "",
}


@pytest.mark.parametrize("name", sorted(BAD_BODIES))
def test_bad_bodies_get_400_and_store_nothing(service: Service, name: str) -> None:
    response = service.wechat.post(BAD_BODIES[name])
    assert response.status_code == 400, response.text
    with service.services.db.transaction() as session:
        assert session.exec(select(InboundMessage)).all() == []


def test_oversized_body_gets_413(service: Service) -> None:
    huge = text_xml("u", "好" * 30_000, new_msg_id())
    assert len(huge.encode()) > 64 * 1024
    assert service.wechat.post(huge).status_code == 413


def test_oversized_chunked_body_without_length_gets_413(service: Service) -> None:
    params, body = service.wechat.signer.sign(text_xml("u", "好" * 30_000, new_msg_id()))
    chunks = (body[i : i + 4096] for i in range(0, len(body), 4096))
    response = service.client.post("/wechat", params=params, content=chunks)
    assert response.status_code == 413


def test_a_caller_hanging_up_mid_body_gets_400_and_a_log_line_not_a_traceback(
    service: Service, caplog: pytest.LogCaptureFixture
) -> None:
    params, body = service.wechat.signer.sign(text_xml("u", "你好", new_msg_id()))
    arriving: list[Message] = [
        {"type": "http.request", "body": body[:20], "more_body": True},
        {"type": "http.disconnect"},
    ]
    answered: list[Message] = []

    async def receive() -> Message:
        return arriving.pop(0)

    async def send(message: Message) -> None:
        answered.append(message)

    with caplog.at_level(logging.WARNING):
        asyncio.run(service.client.app(asgi_scope(params, len(body)), receive, send))
    assert answered[0]["status"] == 400
    assert "connection closed after 20 bytes" in caplog.text and "Traceback" not in caplog.text
    with service.services.db.transaction() as session:
        assert session.exec(select(InboundMessage)).all() == []


@pytest.mark.parametrize("msg_type", ["voice", "video", "location", "link", "notsure"])
def test_unknown_message_types_get_a_polite_reply(service: Service, db: Database, msg_type: str) -> None:
    enroll(db, "u")
    xml = (
        f"<xml><ToUserName>gh</ToUserName><FromUserName>u</FromUserName><CreateTime>{int(time.time())}</CreateTime>"
        f"<MsgType>{msg_type}</MsgType><MediaId>m</MediaId><MsgId>{new_msg_id()}</MsgId></xml>"
    )
    reply = service.wechat.deliver(xml)
    assert "文字" in (reply.content or "")


@pytest.mark.parametrize(
    "text",
    [
        "a]]>b",
        "]]>]]>",
        "表情😀👍🏽",
        "长" * 10_000,
        "ctl\x01\x02\x0b\x1fend",
        "<xml>&amp;</xml>",
        "  换行\n\r\t制表  ",
    ],
)
def test_any_text_round_trips_into_a_valid_xml_reply(echo_service: Service, recorder: Recorder, text: str) -> None:
    reply = echo_service.wechat.text("u", text)
    # XML drops the control characters it cannot carry and normalises line ends (XML 1.0, 2.11).
    expected = "".join(c for c in text if c in "\t\n\r" or ord(c) >= 0x20).replace("\r\n", "\n").replace("\r", "\n")
    assert reply.content == f"echo:text:{expected.strip()}"
    assert recorder.seen[0][1] == expected.strip()


def test_menu_click_subscribe_and_image_reach_the_dispatcher_typed(echo_service: Service, recorder: Recorder) -> None:
    echo_service.wechat.event("u", "CLICK", "MONTHLY_REPORT")
    echo_service.wechat.event("u", "subscribe")
    echo_service.wechat.event("u", "subscribe", "qrscene_42")
    echo_service.wechat.image("u", "media-1")
    echo_service.wechat.event("u", "unsubscribe")
    kinds = [(kind, key, media) for kind, _text, key, media in recorder.seen]
    assert kinds == [
        (Kind.CLICK, "MONTHLY_REPORT", ""),
        (Kind.SUBSCRIBE, "", ""),
        (Kind.SUBSCRIBE, "42", ""),
        (Kind.IMAGE, "", "media-1"),
        (Kind.UNSUBSCRIBE, "", ""),
    ]
    with echo_service.services.db.transaction() as session:
        user = session.get(WechatUser, "u")
        assert user is not None and user.subscribed is False and user.messages_handled == 5


def test_default_answers_to_events(service: Service) -> None:
    assert "欢迎" in (service.wechat.event("new", "subscribe").content or "")
    assert "月报" in (service.wechat.event("new", "CLICK", "ANY").content or "")
    assert "月报" in (service.wechat.image("new", "m-1").content or "")
    assert service.wechat.event("new", "unsubscribe").content is None
    assert service.wechat.event("new", "VIEW", "https://example.org").content is None


def test_healthz_reports_database_state(service: Service) -> None:
    ok = service.client.get("/healthz")
    assert ok.status_code == 200 and ok.json()["database"] == "ok"
    from storage.db import Database

    reachable = service.services.db
    service.services.db = Database("postgresql+psycopg://nobody@127.0.0.1:1/none")
    try:
        down = service.client.get("/healthz")
    finally:
        service.services.db.dispose()
        service.services.db = reachable
    assert down.status_code == 503 and "UNIONBOT_DATABASE_URL" in down.json()["database"]

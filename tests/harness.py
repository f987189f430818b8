"""WeChat's side of the conversation, for tests: signed (and encrypted) deliveries to the real endpoint."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import xmltodict
from fastapi.testclient import TestClient

from bot.app import create_app
from bot.channel.endpoint import Services
from bot.channel.signing import Signer, event_xml, image_xml, new_msg_id, text_xml, voice_xml
from bot.routing.dispatch import Dispatcher
from config.settings import Settings

ACCOUNT = "gh_unionbot"
# The tests' "today": Wednesday 2026-11-25, 10:00 in Ningbo (October's reports are being collected).
NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


class Clock:
    """The service's notion of now, set or moved by the test."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Delivery:
    """One HTTP answer of our endpoint, opened as WeChat would open it."""

    status: int
    body: str
    xml: str

    @property
    def fields(self) -> dict[str, str]:
        parsed: dict[str, str] = xmltodict.parse(self.xml)["xml"]
        return parsed

    @property
    def content(self) -> str | None:
        """The text reply, or None when the endpoint answered `success`."""
        if self.xml == "success":
            return None
        return self.fields["Content"]


class WechatSide:
    def __init__(self, client: TestClient, signer: Signer) -> None:
        self.client = client
        self.signer = signer

    def post(
        self,
        body: str | bytes,
        *,
        params: dict[str, str] | None = None,
        sign: bool = True,
        timestamp: int | None = None,
        nonce: str | None = None,
    ) -> httpx.Response:
        """Sign `body` (str) like WeChat; raw bytes and explicit params go out untouched."""
        if sign and isinstance(body, str):
            signed, payload = self.signer.sign(body, timestamp=timestamp, nonce=nonce)
            params = {**signed, **(params or {})}
            return self.client.post("/wechat", params=params, content=payload)
        return self.client.post("/wechat", params=params or {}, content=body)

    def deliver(self, xml: str, **kwargs: object) -> Delivery:
        response = self.post(xml, **kwargs)  # type: ignore[arg-type]
        assert response.status_code == 200, response.text
        return Delivery(response.status_code, response.text, self.signer.open_reply(response.text))

    def text(self, openid: str, content: str, msg_id: int | None = None) -> Delivery:
        return self.deliver(text_xml(openid, content, msg_id or new_msg_id(), ACCOUNT))

    def image(self, openid: str, media_id: str, msg_id: int | None = None) -> Delivery:
        return self.deliver(image_xml(openid, media_id, msg_id or new_msg_id(), ACCOUNT))

    def voice(self, openid: str, recognition: str | None, msg_id: int | None = None) -> Delivery:
        """A voice message; `recognition` is what WeChat heard (None: speech recognition is off)."""
        msg_id = msg_id or new_msg_id()
        return self.deliver(voice_xml(openid, f"voice-{msg_id}", msg_id, recognition, ACCOUNT))

    def event(self, openid: str, event: str, key: str = "", created: int | None = None) -> Delivery:
        return self.deliver(event_xml(openid, event, key, ACCOUNT, created))


@dataclass
class Service:
    client: TestClient
    services: Services
    wechat: WechatSide


@contextmanager
def running_service(
    settings: Settings,
    dispatcher: Dispatcher | None = None,
    clock: Callable[[], datetime] | None = None,
) -> Iterator[Service]:
    """The service on `clock` (a `Clock` at NOW unless given); WeChat's side signs its requests on the same clock."""
    now = clock or Clock()
    app = create_app(settings, dispatcher=dispatcher, clock=now)
    signer = Signer(
        settings.wechat_token, settings.wechat_appid, settings.wechat_aes_key, clock=lambda: now().timestamp()
    )
    with TestClient(app) as client:
        yield Service(client, app.state.services, WechatSide(client, signer))


class Chat:
    """One user's conversation, read as a dialogue: `chat.say("月报")`, then assert on `chat.last`."""

    def __init__(self, wechat: WechatSide, openid: str) -> None:
        self.wechat = wechat
        self.openid = openid
        self.replies: list[str] = []

    def _keep(self, delivery: Delivery) -> str:
        reply = delivery.content or ""
        self.replies.append(reply)
        return reply

    def say(self, text: str) -> str:
        return self._keep(self.wechat.text(self.openid, text))

    def send_image(self, media_id: str) -> str:
        return self._keep(self.wechat.image(self.openid, media_id))

    def speak(self, heard: str | None) -> str:
        """A voice message that WeChat heard as `heard` (None: WeChat gave no text for it)."""
        return self._keep(self.wechat.voice(self.openid, heard))

    def click(self, key: str) -> str:
        return self._keep(self.wechat.event(self.openid, "CLICK", key))

    @property
    def last(self) -> str:
        return self.replies[-1]

    def dialogue(self, turns: list[tuple[str, str]]) -> None:
        """Each turn: what the user says, and a phrase the reply must contain."""
        for said, expected in turns:
            reply = self.say(said)
            assert expected in reply, f"after {said!r} expected {expected!r} in:\n{reply}"

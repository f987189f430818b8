"""The fake WeChat API must speak the real protocol (proven with wechatpy's own client) and record every call."""

from __future__ import annotations

import json
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from typer.testing import CliRunner
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException

from bot.cli.main import app as cli_app
from bot.devtools import fake_wechat
from bot.devtools.fake_wechat import (
    CUSTOM_SEND_PATH,
    MEDIA_GET_PATH,
    MENU_CREATE_PATH,
    MENU_DELETE_PATH,
    MENU_GET_PATH,
    TEMPLATE_SEND_PATH,
    TOKEN_PATH,
    Call,
    FakeState,
    FakeWechatServer,
    create_app,
    png_for,
)

APPID = "wx0000000000000000"
SECRET = "unionbot-dev-secret"
TOKEN_PARAMS = {"grant_type": "client_credential", "appid": APPID, "secret": SECRET}
MENU: dict[str, Any] = {
    "button": [
        {"type": "click", "name": "月报", "key": "MONTHLY_REPORT"},
        {
            "name": "预警",
            "sub_button": [
                {"type": "click", "name": "劳动争议预警", "key": "DISPUTE"},
                {"type": "view", "name": "填表", "url": "https://example.org/form"},
            ],
        },
    ]
}


class FakeClient(WeChatClient):  # type: ignore[misc]
    """wechatpy hard-codes https://api.weixin.qq.com/cgi-bin/token in fetch_access_token, so redirect that too."""

    def fetch_access_token(self) -> dict[str, Any]:
        params = {"grant_type": "client_credential", "appid": self.appid, "secret": self.secret}
        result: dict[str, Any] = self._fetch_access_token(url=self.API_BASE_URL + "token", params=params)
        return result


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def server() -> Iterator[FakeWechatServer]:
    with FakeWechatServer() as srv:
        yield srv


@pytest.fixture(scope="module")
def module_http(server: FakeWechatServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=5) as client:
        yield client


@pytest.fixture
def clean(server: FakeWechatServer) -> FakeWechatServer:
    """The shared server, as if new: this module's own, so resetting it cannot disturb other tests."""
    server.state.reset()
    server.state.latency_seconds = 0.0
    server.state.rate_limit = None
    return server


@pytest.fixture
def state(clean: FakeWechatServer) -> FakeState:
    return clean.state


@pytest.fixture
def http(clean: FakeWechatServer, module_http: httpx.Client) -> httpx.Client:
    return module_http


@pytest.fixture
def wx(clean: FakeWechatServer) -> Iterator[FakeClient]:
    client = FakeClient(APPID, SECRET)
    client.API_BASE_URL = clean.url + "/cgi-bin/"
    yield client
    client._http.close()


def fetch_token(http: httpx.Client | TestClient) -> str:
    token: str = http.get(TOKEN_PATH, params=TOKEN_PARAMS).json()["access_token"]
    return token


def send_text(
    http: httpx.Client | TestClient, token: str | None, content: str = "hi", touser: str = "o-user"
) -> dict[str, Any]:
    params = {"access_token": token} if token is not None else {}
    body = {"touser": touser, "msgtype": "text", "text": {"content": content}}
    result: dict[str, Any] = http.post(CUSTOM_SEND_PATH, params=params, json=body).json()
    return result


def post(http: httpx.Client, path: str, token: str, body: Any) -> dict[str, Any]:
    result: dict[str, Any] = http.post(path, params={"access_token": token}, json=body).json()
    return result


def png_pixels(data: bytes) -> tuple[int, int, bytes]:
    """Parse a PNG strictly enough to prove it is valid: signature, chunk CRCs, IHDR and inflated IDAT size."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, payload = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert zlib.crc32(kind + payload) == crc
        chunks[kind] = payload
        pos += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert (depth, colour) == (8, 2)
    assert list(chunks) == [b"IHDR", b"IDAT", b"IEND"]
    rows = zlib.decompress(chunks[b"IDAT"])
    assert len(rows) == height * (1 + width * 3)
    return width, height, rows


# --- access_token -----------------------------------------------------------------------------------------------


def test_token_fetch_returns_long_token_and_is_recorded(http: httpx.Client, state: FakeState) -> None:
    answer = http.get(TOKEN_PATH, params=TOKEN_PARAMS).json()

    assert set(answer) == {"access_token", "expires_in"}
    assert len(answer["access_token"]) >= 100
    assert answer["expires_in"] == 7200
    assert state.token_fetches == 1
    [call] = state.snapshot()
    assert (call.path, call.errcode, call.body) == (TOKEN_PATH, 0, None)
    assert call.params == TOKEN_PARAMS


@pytest.mark.parametrize(
    ("params", "errcode", "errmsg"),
    [
        ({**TOKEN_PARAMS, "appid": "wx1111111111111111"}, 40013, "invalid appid"),
        ({**TOKEN_PARAMS, "secret": "wrong"}, 40125, "invalid appsecret"),
        ({**TOKEN_PARAMS, "grant_type": "authorization_code"}, 40002, "invalid grant_type"),
        ({"appid": APPID, "secret": SECRET}, 40002, "invalid grant_type"),
        ({"grant_type": "client_credential", "secret": SECRET}, 41002, "appid missing"),
        ({"grant_type": "client_credential", "appid": APPID}, 41004, "appsecret missing"),
    ],
)
def test_token_fetch_errors(
    http: httpx.Client, state: FakeState, params: dict[str, str], errcode: int, errmsg: str
) -> None:
    response = http.get(TOKEN_PATH, params=params)

    assert response.status_code == 200
    assert response.json() == {"errcode": errcode, "errmsg": errmsg}
    assert state.token_fetches == 0
    assert [c.errcode for c in state.snapshot()] == [errcode]


def test_each_fetch_issues_a_new_token_and_keeps_only_the_previous_one_valid(http: httpx.Client) -> None:
    first, second = fetch_token(http), fetch_token(http)
    assert first != second
    assert send_text(http, first)["errcode"] == 0
    assert send_text(http, second)["errcode"] == 0

    third = fetch_token(http)

    assert send_text(http, first) == {"errcode": 40001, "errmsg": "invalid credential"}
    assert send_text(http, second)["errcode"] == 0
    assert send_text(http, third)["errcode"] == 0


def test_previous_token_stops_working_when_the_overlap_ends() -> None:
    clock = Clock()
    state = FakeState(APPID, SECRET, token_overlap_seconds=300, clock=clock)
    with TestClient(create_app(state)) as client:
        old = fetch_token(client)
        clock.now += 100
        new = fetch_token(client)
        clock.now += 299.9
        assert send_text(client, old)["errcode"] == 0
        clock.now += 0.1
        assert send_text(client, old)["errcode"] == 40001
        assert send_text(client, new)["errcode"] == 0


def test_zero_overlap_invalidates_the_previous_token_at_once() -> None:
    state = FakeState(APPID, SECRET, token_overlap_seconds=0, clock=Clock())
    with TestClient(create_app(state)) as client:
        old = fetch_token(client)
        fetch_token(client)
        assert send_text(client, old)["errcode"] == 40001


def test_token_expires_after_expires_in() -> None:
    clock = Clock()
    state = FakeState(APPID, SECRET, clock=clock)
    with TestClient(create_app(state)) as client:
        token = fetch_token(client)
        clock.now += 7199
        assert send_text(client, token)["errcode"] == 0
        clock.now += 1
        assert send_text(client, token) == {"errcode": 42001, "errmsg": "access_token expired"}


def test_expire_tokens_makes_every_issued_token_answer_42001(http: httpx.Client, state: FakeState) -> None:
    old, current = fetch_token(http), fetch_token(http)

    state.expire_tokens()

    assert send_text(http, old)["errcode"] == 42001
    assert send_text(http, current)["errcode"] == 42001
    fresh = fetch_token(http)
    assert send_text(http, fresh)["errcode"] == 0
    assert send_text(http, current)["errcode"] == 42001


def test_missing_and_unknown_tokens(http: httpx.Client) -> None:
    assert send_text(http, None) == {"errcode": 41001, "errmsg": "access_token missing"}
    assert send_text(http, "") == {"errcode": 41001, "errmsg": "access_token missing"}
    assert send_text(http, "made-up")["errcode"] == 40001


def test_reset_forgets_tokens_calls_failures_windows_and_menu(http: httpx.Client, state: FakeState) -> None:
    stale = fetch_token(http)
    state.expire_tokens()
    token = fetch_token(http)
    assert post(http, MENU_CREATE_PATH, token, MENU)["errcode"] == 0
    state.fail_next(TOKEN_PATH, -1)
    state.close_window("o-user")

    state.reset()

    assert state.snapshot() == []
    assert state.token_fetches == 0
    assert state.menu is None
    assert send_text(http, token)["errcode"] == 40001
    assert send_text(http, stale)["errcode"] == 40001
    fresh = fetch_token(http)
    assert send_text(http, fresh)["errcode"] == 0
    assert [c.errcode for c in state.snapshot()] == [40001, 40001, 0, 0]


# --- wechatpy's own client against the fake ----------------------------------------------------------------------


def test_wechatpy_send_text(wx: FakeClient, state: FakeState) -> None:
    result = wx.message.send_text("o-chair", "本月报表已收到，谢谢！")

    assert result == {"errcode": 0, "errmsg": "ok"}
    assert state.texts("o-chair") == ["本月报表已收到，谢谢！"]
    assert state.token_fetches == 1
    token_call, send_call = state.snapshot()
    assert token_call.path == TOKEN_PATH
    assert send_call.path == CUSTOM_SEND_PATH
    assert send_call.body == {"touser": "o-chair", "msgtype": "text", "text": {"content": "本月报表已收到，谢谢！"}}
    assert send_call.touser == "o-chair"
    assert len(send_call.params["access_token"]) >= 100


def test_wechatpy_refreshes_and_retries_after_expire_tokens(wx: FakeClient, state: FakeState) -> None:
    wx.message.send_text("o-chair", "one")
    state.expire_tokens()

    wx.message.send_text("o-chair", "two")

    assert [(c.path, c.errcode) for c in state.snapshot()] == [
        (TOKEN_PATH, 0),
        (CUSTOM_SEND_PATH, 0),
        (CUSTOM_SEND_PATH, 42001),
        (TOKEN_PATH, 0),
        (CUSTOM_SEND_PATH, 0),
    ]
    assert state.token_fetches == 2
    assert state.texts("o-chair") == ["one", "two"]


def test_wechatpy_send_template_gets_increasing_msgids(wx: FakeClient, state: FakeState) -> None:
    data = {"thing1": {"value": "三月月报"}, "time2": {"value": "2025-03-31"}}
    mini = {"appid": "wx2222222222222222", "pagepath": "pages/report"}

    first = wx.message.send_template("o-chair", "TPL-REPORT", data, url="https://example.org/r", mini_program=mini)
    second = wx.message.send_template("o-chair", "TPL-REPORT", data)

    assert first["errcode"] == 0 and first["errmsg"] == "ok"
    assert isinstance(first["msgid"], int)
    assert second["msgid"] > first["msgid"]
    sent = state.sent("o-chair")
    assert [c.path for c in sent] == [TEMPLATE_SEND_PATH, TEMPLATE_SEND_PATH]
    assert sent[0].body == {
        "touser": "o-chair",
        "template_id": "TPL-REPORT",
        "url": "https://example.org/r",
        "miniprogram": mini,
        "data": data,
    }


def test_wechatpy_media_download_returns_a_valid_image(wx: FakeClient, state: FakeState) -> None:
    response = wx.media.download("MEDIA_abc")

    assert response.headers["Content-Type"] == "image/png"
    assert response.headers["Content-disposition"] == 'attachment; filename="MEDIA_abc.png"'
    assert response.content == png_for("MEDIA_abc")
    width, height, _ = png_pixels(response.content)
    assert (width, height) == (4, 4)
    [_, call] = state.snapshot()
    assert (call.path, call.params["media_id"], call.errcode) == (MEDIA_GET_PATH, "MEDIA_abc", 0)


def test_media_bytes_are_stable_per_id_and_distinct_between_ids(http: httpx.Client) -> None:
    token = fetch_token(http)

    def get(media_id: str) -> bytes:
        return http.get(MEDIA_GET_PATH, params={"access_token": token, "media_id": media_id}).content

    assert get("a") == get("a")
    assert png_pixels(get("a"))[2] != png_pixels(get("b"))[2]


def test_wechatpy_menu_create_keeps_the_menu(wx: FakeClient, state: FakeState) -> None:
    assert wx.menu.create(MENU) == {"errcode": 0, "errmsg": "ok"}
    assert state.menu == MENU


def test_wechatpy_reads_the_menu_back_as_wechat_shows_it_and_deletes_it(wx: FakeClient, state: FakeState) -> None:
    assert wx.menu.get() is None  # wechatpy's reading of 46003 "menu no exist"
    wx.menu.create(MENU)

    shown = wx.menu.get()

    [plain, folder] = shown["menu"]["button"]
    assert plain == {**MENU["button"][0], "sub_button": []}
    assert folder["sub_button"] == [{**sub, "sub_button": []} for sub in MENU["button"][1]["sub_button"]]
    assert wx.menu.delete() == {"errcode": 0, "errmsg": "ok"}
    assert state.menu is None and wx.menu.get() is None
    assert [c.path for c in state.snapshot() if "/menu/" in c.path] == [
        MENU_GET_PATH,
        MENU_CREATE_PATH,
        MENU_GET_PATH,
        MENU_DELETE_PATH,
        MENU_GET_PATH,
    ]


def test_menu_get_and_delete_need_a_token(http: httpx.Client, state: FakeState) -> None:
    for path in (MENU_GET_PATH, MENU_DELETE_PATH):
        assert http.get(path).json()["errcode"] == 41001
        assert http.get(path, params={"access_token": "not-a-token"}).json()["errcode"] == 40001
    token = fetch_token(http)
    assert post(http, MENU_CREATE_PATH, token, MENU)["errcode"] == 0
    assert http.get(MENU_DELETE_PATH, params={"access_token": "not-a-token"}).json()["errcode"] == 40001
    assert state.menu == MENU


def test_control_menu_shows_what_was_published(http: httpx.Client, state: FakeState) -> None:
    assert http.get("/_fake/menu").json() == {"menu": None}
    post(http, MENU_CREATE_PATH, fetch_token(http), MENU)
    assert http.get("/_fake/menu").json() == {"menu": MENU}


def test_wechatpy_raises_the_errcode_for_a_closed_window(wx: FakeClient, state: FakeState) -> None:
    state.close_window("o-gone")

    with pytest.raises(WeChatClientException) as caught:
        wx.message.send_text("o-gone", "hello")

    assert caught.value.errcode == 45015
    assert state.sent() == []


# --- custom/send -------------------------------------------------------------------------------------------------


def test_text_limit_is_2048_utf8_bytes(http: httpx.Client, state: FakeState) -> None:
    token = fetch_token(http)
    at_limit = "工" * 682 + "ab"  # 2046 + 2 bytes
    over = "工" * 683  # 2049 bytes

    assert send_text(http, token, at_limit)["errcode"] == 0
    assert send_text(http, token, over) == {"errcode": 45002, "errmsg": "content size out of limit"}
    assert state.texts("o-user") == [at_limit]


@pytest.mark.parametrize(
    ("body", "errcode"),
    [
        ({"msgtype": "text", "text": {"content": "x"}}, 40003),
        ({"touser": "", "msgtype": "text", "text": {"content": "x"}}, 40003),
        ({"touser": "o-user", "text": {"content": "x"}}, 40008),
        ({"touser": "o-user", "msgtype": "text", "text": {"content": ""}}, 44004),
        ({"touser": "o-user", "msgtype": "text"}, 44004),
        (["not", "an", "object"], 47001),
    ],
)
def test_custom_send_errors(http: httpx.Client, state: FakeState, body: Any, errcode: int) -> None:
    answer = post(http, CUSTOM_SEND_PATH, fetch_token(http), body)

    assert answer["errcode"] == errcode
    assert answer["errmsg"] == fake_wechat.ERRMSG[errcode]
    assert state.sent() == []


def test_custom_send_rejects_empty_and_malformed_bodies(http: httpx.Client) -> None:
    params = {"access_token": fetch_token(http)}

    assert http.post(CUSTOM_SEND_PATH, params=params, content=b"").json()["errcode"] == 44002
    assert http.post(CUSTOM_SEND_PATH, params=params, content=b"{not json").json()["errcode"] == 47001


def test_custom_send_accepts_other_message_types(http: httpx.Client, state: FakeState) -> None:
    body = {"touser": "o-user", "msgtype": "image", "image": {"media_id": "M1"}}

    assert post(http, CUSTOM_SEND_PATH, fetch_token(http), body) == {"errcode": 0, "errmsg": "ok"}
    assert [c.body for c in state.sent("o-user")] == [body]
    assert state.texts("o-user") == []


def test_close_and_open_window(http: httpx.Client, state: FakeState) -> None:
    token = fetch_token(http)
    state.close_window("o-user")

    assert send_text(http, token, "blocked") == {
        "errcode": 45015,
        "errmsg": "response out of time limit or subscription is canceled",
    }
    assert send_text(http, token, "other user", touser="o-other")["errcode"] == 0
    assert send_text(http, token, "")["errcode"] == 44004  # a malformed message reports its own error first
    state.open_window("o-user")
    assert send_text(http, token, "allowed")["errcode"] == 0
    assert state.texts("o-user") == ["allowed"]
    assert state.texts("o-other") == ["other user"]


def test_closed_window_does_not_block_template_messages(http: httpx.Client, state: FakeState) -> None:
    state.close_window("o-user")
    body = {"touser": "o-user", "template_id": "T", "data": {"k": {"value": "v"}}}

    assert post(http, TEMPLATE_SEND_PATH, fetch_token(http), body)["errcode"] == 0
    assert len(state.sent("o-user")) == 1


# --- template/send, media/get, menu/create errors ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "errcode"),
    [
        ({"template_id": "T", "data": {"k": {"value": "v"}}}, 40003),
        ({"touser": "o-user", "data": {"k": {"value": "v"}}}, 40037),
        ({"touser": "o-user", "template_id": "", "data": {"k": {"value": "v"}}}, 40037),
        ({"touser": "o-user", "template_id": "T"}, 47001),
        ({"touser": "o-user", "template_id": "T", "data": ["v"]}, 47001),
        ({"touser": "o-user", "template_id": "T", "data": {"k": "v"}}, 47001),
        ({"touser": "o-user", "template_id": "T", "data": {"k": {"color": "#000"}}}, 47001),
    ],
)
def test_template_send_errors(http: httpx.Client, state: FakeState, body: dict[str, Any], errcode: int) -> None:
    answer = post(http, TEMPLATE_SEND_PATH, fetch_token(http), body)

    assert answer == {"errcode": errcode, "errmsg": fake_wechat.ERRMSG[errcode]}
    assert state.sent() == []


@pytest.mark.parametrize("params", [{"media_id": "expired-123"}, {}])
def test_media_get_invalid_media_id(http: httpx.Client, params: dict[str, str]) -> None:
    response = http.get(MEDIA_GET_PATH, params={"access_token": fetch_token(http), **params})

    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"errcode": 40007, "errmsg": "invalid media_id"}


def _click(name: str = "x", key: str = "K") -> dict[str, Any]:
    return {"type": "click", "name": name, "key": key}


@pytest.mark.parametrize(
    ("menu", "errcode"),
    [
        ({"button": []}, 40016),
        ({"button": [_click()] * 4}, 40016),
        ({"button": [{"name": "x", "sub_button": []}]}, 40017),
        ({"button": [{"name": "x", "sub_button": [_click()] * 6}]}, 40017),
        ({"button": [_click(name="a" * 17)]}, 40018),
        ({"button": [_click(name="劳动争议预警")]}, 40018),  # 6 characters, 18 bytes
        ({"button": [_click(name="")]}, 40018),
        ({"button": [{"name": "x", "sub_button": [_click(name="b" * 61)]}]}, 40018),
        ({"button": [_click(key="k" * 129)]}, 40019),
        ({"button": [{"name": "x", "sub_button": [_click(key="k" * 129)]}]}, 40019),
        ({"button": [{"type": "view", "name": "x", "url": "https://e.org/" + "u" * 1011}]}, 40020),
        ({"button": [{"type": "teleport", "name": "x"}]}, 40015),
        ({"button": [{"name": "x"}]}, 40015),
        ({"button": "x"}, 47001),
        ({"menu": []}, 47001),
        ({"button": ["x"]}, 47001),
    ],
)
def test_menu_create_errors(http: httpx.Client, state: FakeState, menu: dict[str, Any], errcode: int) -> None:
    token = fetch_token(http)
    assert post(http, MENU_CREATE_PATH, token, MENU)["errcode"] == 0

    assert post(http, MENU_CREATE_PATH, token, menu) == {"errcode": errcode, "errmsg": fake_wechat.ERRMSG[errcode]}
    assert state.menu == MENU


def test_menu_limits_are_inclusive(http: httpx.Client, state: FakeState) -> None:
    subs = [_click(name="b" * 60, key="k" * 128)] * 5
    menu = {"button": [_click(name="a" * 16), {"name": "劳动争议", "sub_button": subs}, _click()]}

    assert post(http, MENU_CREATE_PATH, fetch_token(http), menu)["errcode"] == 0
    assert state.menu == menu


# --- fail_next, unknown APIs, recording --------------------------------------------------------------------------


def test_fail_next_answers_n_times_then_recovers(http: httpx.Client, state: FakeState) -> None:
    token = fetch_token(http)
    state.fail_next(CUSTOM_SEND_PATH, 45047, times=2)

    answers = [send_text(http, token, str(i)) for i in range(3)]

    assert answers[:2] == [{"errcode": 45047, "errmsg": "out of response count limit"}] * 2
    assert answers[2]["errcode"] == 0
    assert state.texts("o-user") == ["2"]


def test_fail_next_only_touches_its_path_and_comes_before_other_checks(http: httpx.Client, state: FakeState) -> None:
    token = fetch_token(http)
    state.fail_next(TEMPLATE_SEND_PATH, -1)

    assert send_text(http, token)["errcode"] == 0
    assert post(http, TEMPLATE_SEND_PATH, "not-a-token", {}) == {"errcode": -1, "errmsg": "system error"}
    assert post(http, TEMPLATE_SEND_PATH, "not-a-token", {})["errcode"] == 40001


def test_fail_next_on_the_token_endpoint(http: httpx.Client, state: FakeState) -> None:
    state.fail_next(TOKEN_PATH, 45009)
    state.fail_next(TOKEN_PATH, 12345)

    assert http.get(TOKEN_PATH, params=TOKEN_PARAMS).json() == {
        "errcode": 45009,
        "errmsg": "reach max api daily quota limit",
    }
    assert http.get(TOKEN_PATH, params=TOKEN_PARAMS).json() == {"errcode": 12345, "errmsg": "injected error"}
    assert len(fetch_token(http)) >= 100
    assert state.token_fetches == 1
    assert [c.errcode for c in state.snapshot()] == [45009, 12345, 0]


@pytest.mark.parametrize(("path", "times"), [("message/custom/send", 1), (CUSTOM_SEND_PATH, 0)])
def test_fail_next_rejects_bad_arguments(state: FakeState, path: str, times: int) -> None:
    with pytest.raises(ValueError):
        state.fail_next(path, -1, times)


def test_unknown_api_and_wrong_method(http: httpx.Client, state: FakeState) -> None:
    token = fetch_token(http)

    assert post(http, "/cgi-bin/message/subscribe/bizsend", token, {"touser": "o-user"}) == {
        "errcode": 48001,
        "errmsg": "api unauthorized",
    }
    assert http.get(CUSTOM_SEND_PATH, params={"access_token": token}).json() == {
        "errcode": 43002,
        "errmsg": "require POST method",
    }
    assert [(c.path, c.errcode) for c in state.snapshot()[1:]] == [
        ("/cgi-bin/message/subscribe/bizsend", 48001),
        (CUSTOM_SEND_PATH, 43002),
    ]


def test_calls_record_everything_in_order(http: httpx.Client, state: FakeState) -> None:
    before = time.time()
    token = fetch_token(http)
    send_text(http, token, "a", touser="o-1")
    send_text(http, "stale", "b", touser="o-2")
    post(http, TEMPLATE_SEND_PATH, token, {"touser": "o-2", "template_id": "T", "data": {}})

    calls = state.snapshot()

    assert [(c.path, c.touser, c.errcode) for c in calls] == [
        (TOKEN_PATH, None, 0),
        (CUSTOM_SEND_PATH, "o-1", 0),
        (CUSTOM_SEND_PATH, "o-2", 40001),
        (TEMPLATE_SEND_PATH, "o-2", 0),
    ]
    assert calls[2].params == {"access_token": "stale"}
    assert before <= calls[0].at <= calls[1].at <= calls[3].at <= time.time()
    assert [c.path for c in state.sent()] == [CUSTOM_SEND_PATH, TEMPLATE_SEND_PATH]
    assert [c.touser for c in state.sent("o-2")] == ["o-2"]


def test_snapshot_is_a_copy(http: httpx.Client, state: FakeState) -> None:
    copy = state.snapshot()
    fetch_token(http)

    assert copy == []
    assert len(state.snapshot()) == 1


def test_call_touser_is_none_without_a_string_touser() -> None:
    assert Call(path=CUSTOM_SEND_PATH, params={}, body=None, errcode=0, at=0.0).touser is None
    assert Call(path=CUSTOM_SEND_PATH, params={}, body={"touser": 7}, errcode=0, at=0.0).touser is None
    assert Call(path=CUSTOM_SEND_PATH, params={}, body={"touser": "o"}, errcode=0, at=0.0).touser == "o"


def test_concurrent_calls_are_all_recorded(http: httpx.Client, state: FakeState, clean: FakeWechatServer) -> None:
    token = fetch_token(http)

    def worker(n: int) -> None:
        with httpx.Client(base_url=clean.url, timeout=5) as client:
            for i in range(5):
                send_text(client, token, f"{n}-{i}", touser=f"o-{n}")

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert len(state.sent()) == 40
    assert all(state.texts(f"o-{n}") == [f"{n}-{i}" for i in range(5)] for n in range(8))


# --- control endpoints -------------------------------------------------------------------------------------------


def test_control_calls_filters_and_hides_credentials(http: httpx.Client) -> None:
    token = fetch_token(http)
    send_text(http, token, "first", touser="o-1")
    send_text(http, token, "second", touser="o-2")

    everything = http.get("/_fake/calls").json()
    assert [c["path"] for c in everything] == [TOKEN_PATH, CUSTOM_SEND_PATH, CUSTOM_SEND_PATH]
    assert everything[0]["params"] == {"grant_type": "client_credential", "appid": APPID}
    assert everything[1] == {
        "path": CUSTOM_SEND_PATH,
        "params": {},
        "body": {"touser": "o-1", "msgtype": "text", "text": {"content": "first"}},
        "errcode": 0,
        "at": everything[1]["at"],
        "started": everything[1]["started"],
    }
    assert [c["body"]["text"]["content"] for c in http.get("/_fake/calls", params={"touser": "o-2"}).json()] == [
        "second"
    ]
    since = http.get("/_fake/calls", params={"since": everything[1]["at"]}).json()
    assert [c["body"]["touser"] for c in since] == ["o-2"]
    assert token not in http.get("/_fake/calls").text


def test_control_fail(http: httpx.Client, state: FakeState) -> None:
    token = fetch_token(http)

    response = http.post("/_fake/fail", json={"path": CUSTOM_SEND_PATH, "errcode": 45015, "times": 2})

    assert response.json() == {"ok": True}
    assert [send_text(http, token)["errcode"] for _ in range(3)] == [45015, 45015, 0]
    assert http.post("/_fake/fail", json={"path": TOKEN_PATH, "errcode": -1}).status_code == 200
    assert http.get(TOKEN_PATH, params=TOKEN_PARAMS).json()["errcode"] == -1


@pytest.mark.parametrize(
    "spec",
    [
        {"path": "message/custom/send", "errcode": -1},
        {"path": CUSTOM_SEND_PATH, "errcode": -1, "times": 0},
        {"path": CUSTOM_SEND_PATH},
    ],
)
def test_control_fail_rejects_bad_specs(http: httpx.Client, state: FakeState, spec: dict[str, Any]) -> None:
    assert http.post("/_fake/fail", json=spec).status_code == 422
    assert send_text(http, fetch_token(http))["errcode"] == 0


def test_control_windows(http: httpx.Client) -> None:
    token = fetch_token(http)

    assert http.post("/_fake/close-window", json={"openid": "o-user"}).json() == {"ok": True}
    assert send_text(http, token)["errcode"] == 45015
    assert http.post("/_fake/open-window", json={"openid": "o-user"}).json() == {"ok": True}
    assert send_text(http, token)["errcode"] == 0
    assert http.post("/_fake/close-window", json={"openid": ""}).status_code == 422


def test_control_expire_tokens_and_reset(http: httpx.Client, state: FakeState) -> None:
    token = fetch_token(http)

    assert http.post("/_fake/expire-tokens").json() == {"ok": True}
    assert send_text(http, token)["errcode"] == 42001
    assert http.post("/_fake/reset").json() == {"ok": True}
    assert http.get("/_fake/calls").json() == []
    assert state.token_fetches == 0


def test_control_latency_delays_api_calls_only(http: httpx.Client, state: FakeState) -> None:
    assert http.post("/_fake/latency", json={"seconds": 0.5}).json() == {"ok": True}
    assert state.latency_seconds == 0.5

    started = time.monotonic()
    fetch_token(http)
    api_elapsed = time.monotonic() - started
    started = time.monotonic()
    http.get("/_fake/calls")
    control_elapsed = time.monotonic() - started

    assert api_elapsed >= 0.5
    assert control_elapsed < 0.5
    assert http.post("/_fake/latency", json={"seconds": -1}).status_code == 422


def fetch_tokens_at_once(url: str, callers: int) -> None:
    """`callers` clients each ask for a token, released together by a barrier, each on its own connection."""
    clients = [httpx.Client(base_url=url, timeout=10) for _ in range(callers)]
    barrier = threading.Barrier(callers)

    def fetch(client: httpx.Client) -> None:
        barrier.wait()
        fetch_token(client)

    threads = [threading.Thread(target=fetch, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for c in clients:
        c.close()


def test_latency_does_not_serialise_concurrent_calls(clean: FakeWechatServer, state: FakeState) -> None:
    state.latency_seconds = 0.5
    fetch_tokens_at_once(clean.url, 5)

    answered = [c.at for c in state.snapshot()]
    assert len(answered) == 5
    assert max(answered) - min(answered) < 0.5  # one after the other would take at least 2 s


def test_rate_limit_answers_45009_past_n_calls_in_any_second() -> None:
    clock = Clock()
    state = FakeState(APPID, SECRET, rate_limit=2, clock=clock)

    def send(content: str) -> int:
        body = json.dumps({"touser": "o-1", "msgtype": "text", "text": {"content": content}}).encode()
        answer = state.handle("POST", CUSTOM_SEND_PATH, {"access_token": token}, body)
        assert isinstance(answer, dict)
        return int(answer["errcode"])

    answer = state.handle("GET", TOKEN_PATH, dict(TOKEN_PARAMS), b"")
    assert isinstance(answer, dict)
    token = str(answer["access_token"])
    assert [send("1"), send("2"), send("3")] == [0, 0, 45009]
    clock.now += 0.5
    assert send("4") == 45009  # the window slides: both accepted calls are still within the last second
    clock.now += 0.5
    assert [send("5"), send("6"), send("7")] == [0, 0, 45009]
    assert [c.errcode for c in state.snapshot()] == [0, 0, 0, 45009, 45009, 0, 0, 45009]
    assert "access_token" in state.handle("GET", TOKEN_PATH, dict(TOKEN_PARAMS), b"")  # the token is not limited
    assert state.texts("o-1") == ["1", "2", "5", "6"]


def test_control_rate_limit_stats_and_offset(http: httpx.Client, state: FakeState) -> None:
    assert http.post("/_fake/rate-limit", json={"per_second": 1}).json() == {"ok": True}
    token = fetch_token(http)
    assert [send_text(http, token, "a")["errcode"], send_text(http, token, "b")["errcode"]] == [0, 45009]
    assert http.post("/_fake/rate-limit", json={"per_second": None}).json() == {"ok": True}
    assert send_text(http, token, "c")["errcode"] == 0
    assert http.post("/_fake/rate-limit", json={"per_second": 0}).status_code == 422

    assert http.get("/_fake/stats").json() == {"calls": 4, "peak_in_flight": 1}
    tail = http.get("/_fake/calls", params={"offset": 2}).json()
    assert [(c["body"]["text"]["content"], c["errcode"]) for c in tail] == [("b", 45009), ("c", 0)]
    assert http.get("/_fake/calls", params={"offset": 4}).json() == []


def test_overlapping_calls_are_counted_and_recorded_with_their_arrival(
    clean: FakeWechatServer, state: FakeState
) -> None:
    state.latency_seconds = 0.3
    fetch_tokens_at_once(clean.url, 4)

    calls = state.snapshot()
    assert state.peak_in_flight == 4
    # the sleep runs on the loop's monotonic clock, the log on the wall clock: they may disagree by a few ms
    assert all(c.started is not None and c.at - c.started >= 0.29 for c in calls)
    assert max(c.started or 0 for c in calls) < min(c.at for c in calls)  # all four were in flight together
    state.reset()
    assert state.peak_in_flight == 0


def test_fake_wechat_command_takes_a_latency_and_a_rate_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: seen.update(app=app, **kwargs))
    env = {"UNIONBOT_WECHAT_APPID": APPID, "UNIONBOT_WECHAT_SECRET": SECRET}

    result = CliRunner().invoke(cli_app, ["fake-wechat", "--latency-ms", "200", "--rate-limit", "1"], env=env)

    assert result.exit_code == 0, result.output
    with TestClient(seen["app"]) as client:
        started = time.monotonic()
        token = fetch_token(client)
        assert time.monotonic() - started >= 0.2
        assert [send_text(client, token)["errcode"], send_text(client, token)["errcode"]] == [0, 45009]
    refused = CliRunner().invoke(cli_app, ["fake-wechat", "--rate-limit", "0"], env=env)
    assert refused.exit_code == 2 and "rate-limit" in refused.output


# --- server lifecycle --------------------------------------------------------------------------------------------


def test_server_starts_on_a_free_port_and_stops_cleanly() -> None:
    server = FakeWechatServer(appid="wx9999999999999999", secret="s3cret")
    with pytest.raises(RuntimeError):
        _ = server.url

    with server:
        url = server.url
        assert url.startswith("http://127.0.0.1:")
        thread = server._thread
        answer = httpx.get(url + TOKEN_PATH, params={**TOKEN_PARAMS, "appid": "wx9999999999999999", "secret": "s3cret"})
        assert "access_token" in answer.json()

    assert thread is not None and not thread.is_alive()
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + TOKEN_PATH)
    server.stop()


def test_server_cannot_start_twice(server: FakeWechatServer) -> None:
    with pytest.raises(RuntimeError):
        server.start()


def test_serve_runs_uvicorn_with_a_fake_for_the_given_account(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    def fake_run(app: Any, **kwargs: Any) -> None:
        seen.update(app=app, **kwargs)

    monkeypatch.setattr(uvicorn, "run", fake_run)

    fake_wechat.serve("0.0.0.0", 8123, "wx5555555555555555", "demo-secret")

    assert (seen["host"], seen["port"]) == ("0.0.0.0", 8123)
    with TestClient(seen["app"]) as client:
        assert client.get(TOKEN_PATH, params={**TOKEN_PARAMS, "appid": "wx5555555555555555"}).json()["errcode"] == 40125
        ok = {"grant_type": "client_credential", "appid": "wx5555555555555555", "secret": "demo-secret"}
        assert "access_token" in client.get(TOKEN_PATH, params=ok).json()

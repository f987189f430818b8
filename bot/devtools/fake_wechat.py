"""A local stand-in for WeChat's HTTP API (api.weixin.qq.com), written from the public protocol.

Tests, the benchmark and the demo point the account at it instead of WeChat. It answers the way WeChat does
(HTTP 200 with a JSON body carrying errcode/errmsg) and records every call, so they can show exactly what the
account sent. The `/_fake/*` control endpoints let another process read the record and inject failures.
One module on purpose (past 400 lines): it mirrors WeChat's API surface, call by call, in one place.

Error codes answered (besides anything injected with `fail_next`):

* every API but token and showqrcode: 45009 past the rate limit (`rate_limit` calls a second, when set), then
  41001 access_token missing, 40001 token unknown or replaced more than the overlap ago,
  42001 token older than 7200 s or made stale by `expire_tokens`, 43002 GET on a POST-only API,
  44002 empty POST body, 47001 POST body that is not a JSON object, 48001 any API this fake does not implement;
* /cgi-bin/token: 40002 grant_type not client_credential, 41002 / 40013 appid missing / wrong,
  41004 / 40125 secret missing / wrong;
* message/custom/send: 40003 no touser, 40008 no msgtype, 44004 empty text, 45002 text over 2048 UTF-8 bytes,
  45015 the user's window is closed;
* message/template/send: 40003 no touser, 40037 no template_id, 47001 data is not {key: {"value": ...}};
* media/get: 40007 media_id missing or starting with "expired";
* qrcode/create: 40001-style token errors, 47001 action_name unknown or scene_str not 1-64 characters
  (QR_STR_SCENE) / scene_id not a positive integer (QR_SCENE); expire_seconds defaults to 60 and is capped at
  30 days, as WeChat does; showqrcode (no token) answers HTTP 404 for a ticket it never issued or that expired;
* menu/create: see `menu_error`; menu/get: 46003 while there is no menu (a plain button comes back with
  `sub_button: []`, as WeChat answers); menu/delete always succeeds.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import secrets
import socket
import struct
import threading
import time
import zlib
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from types import TracebackType
from typing import Any

import segno
import uvicorn
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

TOKEN_PATH = "/cgi-bin/token"
CUSTOM_SEND_PATH = "/cgi-bin/message/custom/send"
TEMPLATE_SEND_PATH = "/cgi-bin/message/template/send"
MEDIA_GET_PATH = "/cgi-bin/media/get"
MENU_CREATE_PATH = "/cgi-bin/menu/create"
MENU_GET_PATH = "/cgi-bin/menu/get"
MENU_DELETE_PATH = "/cgi-bin/menu/delete"
QRCODE_CREATE_PATH = "/cgi-bin/qrcode/create"
SHOW_QRCODE_PATH = "/cgi-bin/showqrcode"
QR_DEFAULT_SECONDS = 60
QR_MAX_SECONDS = 2_592_000
QR_ACTIONS = frozenset({"QR_SCENE", "QR_STR_SCENE", "QR_LIMIT_SCENE", "QR_LIMIT_STR_SCENE"})

_TOKEN_APIS = frozenset(
    {
        CUSTOM_SEND_PATH,
        TEMPLATE_SEND_PATH,
        MEDIA_GET_PATH,
        MENU_CREATE_PATH,
        MENU_GET_PATH,
        MENU_DELETE_PATH,
        QRCODE_CREATE_PATH,
    }
)

TOKEN_LIFETIME_SECONDS = 7200
TEXT_LIMIT_BYTES = 2048
MENU_BUTTON_TYPES = frozenset(
    {
        "click",
        "view",
        "scancode_push",
        "scancode_waitmsg",
        "pic_sysphoto",
        "pic_photo_or_album",
        "pic_weixin",
        "location_select",
        "media_id",
        "view_limited",
        "article_id",
        "article_view_limited",
        "miniprogram",
    }
)

# WeChat's wording; codes that only ever come from `fail_next` are here so injected errors read like real ones.
ERRMSG: dict[int, str] = {
    -1: "system error",
    0: "ok",
    40001: "invalid credential",
    40002: "invalid grant_type",
    40003: "invalid openid",
    40007: "invalid media_id",
    40008: "invalid message type",
    40013: "invalid appid",
    40015: "invalid button type",
    40016: "invalid button size",
    40017: "invalid sub button size",
    40018: "invalid button name size",
    40019: "invalid button key size",
    40020: "invalid button url size",
    40037: "invalid template_id",
    40125: "invalid appsecret",
    41001: "access_token missing",
    41002: "appid missing",
    41004: "appsecret missing",
    42001: "access_token expired",
    43002: "require POST method",
    44002: "empty post data",
    44004: "empty content",
    45002: "content size out of limit",
    45009: "reach max api daily quota limit",
    45015: "response out of time limit or subscription is canceled",
    46003: "menu no exist",
    45047: "out of response count limit",
    47001: "data format error",
    48001: "api unauthorized",
}

# Credentials never leave the fake through the control API, so the demo can print calls as they are.
_HIDDEN_PARAMS = frozenset({"access_token", "secret"})


def error(errcode: int) -> dict[str, Any]:
    """The JSON body WeChat answers for `errcode`."""
    return {"errcode": errcode, "errmsg": ERRMSG.get(errcode, "injected error")}


@dataclass(frozen=True)
class Call:
    """One request to the fake WeChat API and the errcode it was answered with: it arrived at `started` and was
    answered at `at` (after the latency), so overlapping calls can be told from the record."""

    path: str
    params: dict[str, str]
    body: dict[str, Any] | None
    errcode: int
    at: float
    started: float | None = None

    @property
    def touser(self) -> str | None:
        value = self.body.get("touser") if self.body is not None else None
        return value if isinstance(value, str) else None

    def public(self) -> dict[str, Any]:
        """JSON form for the control API, without credentials."""
        data = asdict(self)
        data["params"] = {k: v for k, v in self.params.items() if k not in _HIDDEN_PARAMS}
        return data


@dataclass
class _Token:
    value: str
    expires_at: float
    replaced_until: float = float("inf")


def png_for(media_id: str) -> bytes:
    """A small valid PNG whose pixels come from a hash of `media_id`: stable per id, distinct between ids."""
    width = height = 4
    seed = hashlib.sha256(media_id.encode()).digest()
    pixels = (seed + hashlib.sha256(seed).digest())[: width * height * 3]
    rows = b"".join(b"\x00" + pixels[y * width * 3 : (y + 1) * width * 3] for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def qr_png(text: str) -> bytes:
    """A real QR code of `text`, as WeChat's showqrcode serves it (a phone's camera can read it)."""
    buffer = io.BytesIO()
    segno.make_qr(text, error="m").save(buffer, kind="png", scale=8, border=4)
    return buffer.getvalue()


@dataclass(frozen=True)
class QrCode:
    """A parametric QR code the fake issued: its scene (str or int) and until when showqrcode serves it."""

    scene: str
    url: str
    expires_at: float


def _qr_scene(body: dict[str, Any]) -> str | None:
    """The scene a qrcode/create body asks for, or None when WeChat would answer 47001."""
    action = body.get("action_name")
    info = body.get("action_info")
    scene = info.get("scene") if isinstance(info, dict) else None
    if action not in QR_ACTIONS or not isinstance(scene, dict):
        return None
    if action.endswith("STR_SCENE"):
        value = scene.get("scene_str")
        return value if isinstance(value, str) and 1 <= len(value) <= 64 else None
    number = scene.get("scene_id")
    return str(number) if isinstance(number, int) and number > 0 else None


def _utf8_len(value: Any) -> int:
    return len(value.encode()) if isinstance(value, str) else 0


def menu_error(menu: dict[str, Any]) -> int:
    """Validate a menu/create body (§3.9); 0 when WeChat would accept it.

    47001 structure is not {"button": [{...}]}; 40016 not 1-3 top-level buttons; 40017 a sub_button list with
    not 1-5 entries; 40018 name empty or over 16 bytes (top level) / 60 bytes (sub-menu); 40015 a leaf without
    a known type; 40019 key over 128 bytes; 40020 url over 1024 bytes.
    """
    buttons = menu.get("button")
    if not isinstance(buttons, list):
        return 47001
    if not 1 <= len(buttons) <= 3:
        return 40016
    for button in buttons:
        if not isinstance(button, dict):
            return 47001
        if not 0 < _utf8_len(button.get("name")) <= 16:
            return 40018
        subs = button.get("sub_button")
        if subs is None:
            code = _leaf_error(button)
        elif not isinstance(subs, list) or not 1 <= len(subs) <= 5:
            code = 40017
        else:
            code = next((c for c in map(_sub_button_error, subs) if c), 0)
        if code:
            return code
    return 0


def _sub_button_error(button: Any) -> int:
    if not isinstance(button, dict):
        return 47001
    if not 0 < _utf8_len(button.get("name")) <= 60:
        return 40018
    return _leaf_error(button)


def _leaf_error(button: dict[str, Any]) -> int:
    if button.get("type") not in MENU_BUTTON_TYPES:
        return 40015
    if _utf8_len(button.get("key")) > 128:
        return 40019
    if _utf8_len(button.get("url")) > 1024:
        return 40020
    return 0


def _as_menu_get_answers(menu: dict[str, Any]) -> dict[str, Any]:
    """The stored menu as menu/get shows it: every button carries `sub_button`, an empty list for a plain one."""

    def shown(button: dict[str, Any]) -> dict[str, Any]:
        return {**button, "sub_button": [shown(sub) for sub in button.get("sub_button") or []]}

    return {"button": [shown(button) for button in menu["button"]]}


def _custom_send_error(body: dict[str, Any]) -> int:
    msgtype = body.get("msgtype")
    if not isinstance(msgtype, str) or not msgtype:
        return 40008
    if msgtype == "text":
        text = body.get("text")
        content = text.get("content") if isinstance(text, dict) else None
        if not isinstance(content, str) or not content:
            return 44004
        if len(content.encode()) > TEXT_LIMIT_BYTES:
            return 45002
    return 0


def _template_data_ok(data: Any) -> bool:
    return isinstance(data, dict) and all(isinstance(v, dict) and "value" in v for v in data.values())


class FakeState:
    """Everything the fake knows: issued tokens, injected failures, closed windows, the menu and the call log.

    Thread-safe: the server thread handles requests while tests and the demo read and steer from elsewhere.
    `clock` exists so tests can move time past the token overlap and lifetime without sleeping.
    """

    def __init__(
        self,
        appid: str,
        secret: str,
        *,
        token_overlap_seconds: float = 300.0,
        latency_seconds: float = 0.0,
        rate_limit: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.appid = appid
        self.secret = secret
        self.token_overlap_seconds = token_overlap_seconds
        self.latency_seconds = latency_seconds
        self.rate_limit = rate_limit  # API calls a second; past it WeChat answers 45009
        self._clock = clock
        self._lock = threading.Lock()
        self.calls: list[Call] = []
        self._admitted: deque[float] = deque()  # when the calls of the last second were let through
        self._in_flight = 0
        self._peak_in_flight = 0
        self.menu: dict[str, Any] | None = None
        self._failures: dict[str, deque[int]] = {}
        self._closed_windows: set[str] = set()
        self._current: _Token | None = None
        self._previous: _Token | None = None
        self._stale: set[str] = set()
        self._token_fetches = 0
        self._next_msgid = 1_000_000_001
        self.qr_codes: dict[str, QrCode] = {}  # by ticket

    @property
    def token_fetches(self) -> int:
        with self._lock:
            return self._token_fetches

    @property
    def peak_in_flight(self) -> int:
        """The most API calls the fake was answering at once (waiting out the latency included)."""
        with self._lock:
            return self._peak_in_flight

    def snapshot(self, offset: int = 0) -> list[Call]:
        """The calls so far; `offset` skips that many from the start (a poller passes how many it has)."""
        with self._lock:
            return self.calls[offset:]

    def arrive(self) -> float:
        """A call came in (before the latency): counted in flight until `leave`; returns when it arrived."""
        with self._lock:
            self._in_flight += 1
            self._peak_in_flight = max(self._peak_in_flight, self._in_flight)
            return self._clock()

    def leave(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def sent(self, touser: str | None = None) -> list[Call]:
        """Messages WeChat accepted (custom and template), in order; what a user would actually see."""
        return [
            c
            for c in self.snapshot()
            if c.path in (CUSTOM_SEND_PATH, TEMPLATE_SEND_PATH)
            and c.errcode == 0
            and (touser is None or c.touser == touser)
        ]

    def texts(self, touser: str) -> list[str]:
        return [
            c.body["text"]["content"]
            for c in self.sent(touser)
            if c.path == CUSTOM_SEND_PATH and c.body is not None and c.body.get("msgtype") == "text"
        ]

    def current_menu(self) -> dict[str, Any] | None:
        with self._lock:
            return self.menu

    def fail_next(self, path: str, errcode: int, times: int = 1) -> None:
        """Make the next `times` calls to `path` answer `errcode`, before any other check."""
        if not path.startswith("/cgi-bin/"):
            raise ValueError(f"path must be a full API path like {CUSTOM_SEND_PATH!r}, got {path!r}")
        if times < 1:
            raise ValueError("times must be at least 1")
        with self._lock:
            self._failures.setdefault(path, deque()).extend([errcode] * times)

    def close_window(self, openid: str) -> None:
        """Custom messages to `openid` now answer 45015, as when the 48 h window has passed."""
        with self._lock:
            self._closed_windows.add(openid)

    def open_window(self, openid: str) -> None:
        with self._lock:
            self._closed_windows.discard(openid)

    def expire_tokens(self) -> None:
        """Every token issued so far answers 42001, as when they outlive `expires_in`."""
        with self._lock:
            self._stale.update(t.value for t in (self._current, self._previous) if t is not None)
            self._current = self._previous = None

    def reset(self) -> None:
        """Forget calls, failures, tokens, windows and the menu; settings (latency, overlap, rate limit) stay."""
        with self._lock:
            self.calls.clear()
            self._admitted.clear()
            self._peak_in_flight = self._in_flight
            self._failures.clear()
            self._closed_windows.clear()
            self._current = self._previous = None
            self._stale.clear()
            self._token_fetches = 0
            self.menu = None
            self.qr_codes.clear()

    def handle(
        self, method: str, path: str, params: dict[str, str], raw_body: bytes, started: float | None = None
    ) -> dict[str, Any] | bytes:
        """Answer one API call like WeChat and record it: a JSON body, or the file bytes for media/get."""
        body: dict[str, Any] | None = None
        if method == "POST":
            try:
                parsed = json.loads(raw_body)
            except ValueError:
                parsed = None
            body = parsed if isinstance(parsed, dict) else None
        with self._lock:
            now = self._clock()
            answer = self._answer(method, path, params, body, raw_body, now)
            errcode = answer.get("errcode", 0) if isinstance(answer, dict) else 0
            call = Call(path=path, params=params, body=body, errcode=errcode, at=now, started=started or now)
            self.calls.append(call)
            return answer

    def _answer(
        self, method: str, path: str, params: dict[str, str], body: dict[str, Any] | None, raw_body: bytes, now: float
    ) -> dict[str, Any] | bytes:
        injected = self._failures.get(path)
        if injected:
            return error(injected.popleft())
        if path == TOKEN_PATH:
            return self._issue_token(params, now)
        if path == SHOW_QRCODE_PATH:
            issued = self.qr_codes.get(params.get("ticket", ""))
            return qr_png(issued.url) if issued is not None and now < issued.expires_at else error(40007)
        if self._too_fast(now):
            return error(45009)
        if path not in _TOKEN_APIS:
            return error(48001)
        code = self._token_error(params.get("access_token"), now)
        if code:
            return error(code)
        if path == MENU_GET_PATH:
            return error(46003) if self.menu is None else {"menu": _as_menu_get_answers(self.menu)}
        if path == MENU_DELETE_PATH:
            self.menu = None
            return error(0)
        if path == MEDIA_GET_PATH:
            media_id = params.get("media_id", "")
            if not media_id or media_id.startswith("expired"):
                return error(40007)
            return png_for(media_id)
        if method != "POST":
            return error(43002)
        if body is None:
            return error(44002 if not raw_body.strip() else 47001)
        if path == QRCODE_CREATE_PATH:
            return self._create_qr(body, now)
        if path == MENU_CREATE_PATH:
            code = menu_error(body)
            if code == 0:
                self.menu = body
            return error(code)
        touser = body.get("touser")
        if not isinstance(touser, str) or not touser:
            return error(40003)
        if path == CUSTOM_SEND_PATH:
            code = _custom_send_error(body)
            if code == 0 and touser in self._closed_windows:
                code = 45015
            return error(code)
        template_id = body.get("template_id")
        if not isinstance(template_id, str) or not template_id:
            return error(40037)
        if not _template_data_ok(body.get("data")):
            return error(47001)
        msgid = self._next_msgid
        self._next_msgid += 1
        return {**error(0), "msgid": msgid}

    def _too_fast(self, now: float) -> bool:
        """Past `rate_limit` calls in the last second (a sliding window); only calls let through count."""
        if self.rate_limit is None:
            return False
        while self._admitted and self._admitted[0] <= now - 1:
            self._admitted.popleft()
        if len(self._admitted) >= self.rate_limit:
            return True
        self._admitted.append(now)
        return False

    def _create_qr(self, body: dict[str, Any], now: float) -> dict[str, Any]:
        scene = _qr_scene(body)
        if scene is None:
            return error(47001)
        permanent = str(body["action_name"]).startswith("QR_LIMIT")
        requested = body.get("expire_seconds")
        seconds = requested if isinstance(requested, int) and requested > 0 else QR_DEFAULT_SECONDS
        seconds = min(seconds, QR_MAX_SECONDS)
        ticket = secrets.token_urlsafe(48)
        url = f"http://weixin.qq.com/q/{secrets.token_urlsafe(16)}"
        self.qr_codes[ticket] = QrCode(scene, url, float("inf") if permanent else now + seconds)
        answer: dict[str, Any] = {"ticket": ticket, "url": url}
        return answer if permanent else {**answer, "expire_seconds": seconds}

    def _issue_token(self, params: dict[str, str], now: float) -> dict[str, Any]:
        if params.get("grant_type") != "client_credential":
            return error(40002)
        if not params.get("appid"):
            return error(41002)
        if params["appid"] != self.appid:
            return error(40013)
        if not params.get("secret"):
            return error(41004)
        if params["secret"] != self.secret:
            return error(40125)
        if self._current is not None:
            self._current.replaced_until = now + self.token_overlap_seconds
        self._previous = self._current
        self._current = _Token(secrets.token_urlsafe(96), expires_at=now + TOKEN_LIFETIME_SECONDS)
        self._token_fetches += 1
        return {"access_token": self._current.value, "expires_in": TOKEN_LIFETIME_SECONDS}

    def _token_error(self, value: str | None, now: float) -> int:
        if not value:
            return 41001
        if value in self._stale:
            return 42001
        token = next((t for t in (self._current, self._previous) if t is not None and t.value == value), None)
        if token is None or now >= token.replaced_until:
            return 40001
        return 42001 if now >= token.expires_at else 0


class _Fail(BaseModel):
    path: str = Field(pattern=r"^/cgi-bin/")
    errcode: int
    times: int = Field(default=1, ge=1)


class _Window(BaseModel):
    openid: str = Field(min_length=1)


class _Latency(BaseModel):
    seconds: float = Field(ge=0)


class _RateLimit(BaseModel):
    per_second: int | None = Field(default=None, ge=1)


def create_app(state: FakeState) -> FastAPI:
    """The fake's ASGI app: WeChat's API under /cgi-bin/, the control API under /_fake/."""
    app = FastAPI(title="fake WeChat API", docs_url=None, redoc_url=None, openapi_url=None)
    ok = {"ok": True}

    @app.api_route("/cgi-bin/{endpoint:path}", methods=["GET", "POST"])
    async def cgi_bin(endpoint: str, request: Request) -> Response:
        started = state.arrive()
        try:
            if state.latency_seconds > 0:
                await asyncio.sleep(state.latency_seconds)
            raw_body = await request.body()
            path = f"/cgi-bin/{endpoint}"
            answer = state.handle(request.method, path, dict(request.query_params), raw_body, started)
        finally:
            state.leave()
        if isinstance(answer, dict):
            return JSONResponse(answer, status_code=404 if endpoint == "showqrcode" and answer["errcode"] else 200)
        if endpoint == "showqrcode":
            return Response(answer, media_type="image/png")
        filename = f"{request.query_params['media_id']}.png"
        headers = {"Content-disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-cache"}
        return Response(answer, media_type="image/png", headers=headers)

    @app.get("/_fake/calls")
    def calls(touser: str | None = None, since: float | None = None, offset: int = 0) -> Response:
        """The call log; `since` is exclusive so a poller can pass the last `at` it has seen, `offset` skips that
        many calls from the start of the log (exact, where times may tie). Serialised directly: the benchmark
        reads 100,000 calls here."""
        found = [
            c.public()
            for c in state.snapshot(max(offset, 0))
            if (touser is None or c.touser == touser) and (since is None or c.at > since)
        ]
        return Response(json.dumps(found, ensure_ascii=False), media_type="application/json")

    @app.get("/_fake/stats")
    def stats() -> dict[str, int]:
        """How many calls so far and the most answered at once, without the log itself."""
        return {"calls": len(state.snapshot()), "peak_in_flight": state.peak_in_flight}

    @app.get("/_fake/menu")
    def menu() -> dict[str, Any]:
        """The menu the account published (None before menu/create or after menu/delete), without a token."""
        return {"menu": state.current_menu()}

    @app.post("/_fake/fail")
    def fail(spec: _Fail) -> dict[str, bool]:
        state.fail_next(spec.path, spec.errcode, spec.times)
        return ok

    @app.post("/_fake/close-window")
    def close_window(window: _Window) -> dict[str, bool]:
        state.close_window(window.openid)
        return ok

    @app.post("/_fake/open-window")
    def open_window(window: _Window) -> dict[str, bool]:
        state.open_window(window.openid)
        return ok

    @app.post("/_fake/expire-tokens")
    def expire_tokens() -> dict[str, bool]:
        state.expire_tokens()
        return ok

    @app.post("/_fake/reset")
    def reset() -> dict[str, bool]:
        state.reset()
        return ok

    @app.post("/_fake/latency")
    def latency(spec: _Latency) -> dict[str, bool]:
        state.latency_seconds = spec.seconds
        return ok

    @app.post("/_fake/rate-limit")
    def rate_limit(spec: _RateLimit) -> dict[str, bool]:
        """API calls a second before 45009; null lifts the limit."""
        state.rate_limit = spec.per_second
        return ok

    return app


class FakeWechatServer:
    """The fake served over real HTTP on 127.0.0.1 from a daemon thread, for tests and the benchmark."""

    def __init__(
        self,
        appid: str = "wx0000000000000000",
        secret: str = "unionbot-dev-secret",
        port: int = 0,
        *,
        latency_seconds: float = 0.0,
        rate_limit: int | None = None,
    ) -> None:
        self.state = FakeState(appid, secret, latency_seconds=latency_seconds, rate_limit=rate_limit)
        self._port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._url: str | None = None

    @property
    def url(self) -> str:
        if self._url is None:
            raise RuntimeError("FakeWechatServer is not started")
        return self._url

    def start(self) -> FakeWechatServer:
        """Bind, serve, and return once the server accepts connections."""
        if self._thread is not None:
            raise RuntimeError("FakeWechatServer is already started")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self._port))
        port = sock.getsockname()[1]
        config = uvicorn.Config(
            create_app(self.state), log_level="warning", access_log=False, lifespan="off", ws="none"
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="fake-wechat", daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                server.should_exit = True
                thread.join(timeout=5)
                sock.close()
                raise RuntimeError("fake WeChat server did not start")
            time.sleep(0.01)
        self._server, self._thread, self._url = server, thread, f"http://127.0.0.1:{port}"
        return self

    def stop(self) -> None:
        """Ask uvicorn to exit and wait for its thread; safe to call twice."""
        if self._server is None or self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._server = self._thread = self._url = None

    def __enter__(self) -> FakeWechatServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def serve(
    host: str, port: int, appid: str, secret: str, *, latency_seconds: float = 0.0, rate_limit: int | None = None
) -> None:
    """Run the fake in the foreground until interrupted (`unionbot fake-wechat`)."""
    state = FakeState(appid, secret, latency_seconds=latency_seconds, rate_limit=rate_limit)
    uvicorn.run(create_app(state), host=host, port=port, log_level="info", access_log=False)

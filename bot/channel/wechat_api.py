"""WeChat's HTTP API as the outbox uses it; the one place that holds an access_token.

wechatpy has no async client and no lock around token refresh, so we call the few endpoints we need with
httpx and let `bot.channel.tokens` own the token.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from bot.channel.tokens import TokenCache

TOKEN_INVALID = frozenset({40001, 40014, 42001})
RATE_LIMITED = 45009  # "api freq out of limit" (also the daily quota)
OUTSIDE_WINDOW = 45015
REPLY_QUOTA_USED = 45047  # "out of response count limit": this user's customer-service messages are used up
SYSTEM_BUSY = -1
NO_MENU = 46003  # menu/get on an account that has no menu
QR_IMAGE_BASE = "https://mp.weixin.qq.com"  # showqrcode lives here, not on the API host, and needs no token
QR_MAX_SECONDS = 2_592_000  # a temporary parametric QR code lives 30 days at most


@dataclass(frozen=True)
class QrTicket:
    """What `qrcode/create` answers: the ticket to fetch the image with, the URL the code encodes, its lifetime."""

    ticket: str
    url: str
    expire_seconds: int


class WechatApiError(Exception):
    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(f"{errcode} {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg


class WechatApi:
    def __init__(
        self,
        base_url: str,
        appid: str,
        secret: str,
        tokens: TokenCache,
        timeout: float = 5.0,
        qr_base: str = QR_IMAGE_BASE,
        connections: int = 20,
    ) -> None:
        """`connections`: kept open for reuse, at least as many as the outbox has sends in flight."""
        limits = httpx.Limits(max_connections=max(connections, 100), max_keepalive_connections=connections)
        self._http = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout, limits=limits)
        self._qr_base = qr_base.rstrip("/")
        self._appid = appid
        self._secret = secret
        self._tokens = tokens

    def close(self) -> None:
        self._http.close()

    def fetch_token(self) -> tuple[str, int]:
        params = {"grant_type": "client_credential", "appid": self._appid, "secret": self._secret}
        data = self._checked(self._http.get("/cgi-bin/token", params=params))
        return str(data["access_token"]), int(data["expires_in"])

    def _checked(self, response: httpx.Response) -> dict[str, Any]:
        response.raise_for_status()
        data: dict[str, Any] = response.json()
        errcode = int(data.get("errcode", 0))
        if errcode != 0:
            raise WechatApiError(errcode, str(data.get("errmsg", "")))
        return data

    def _request(self, method: str, path: str, params: dict[str, str] | None = None, **kwargs: Any) -> httpx.Response:
        """Call with the shared token; on 40001/42001 refresh it (once across workers) and retry once."""
        token = self._tokens.get(self.fetch_token)
        response = self._http.request(method, path, params={**(params or {}), "access_token": token}, **kwargs)
        if _is_json(response) and int(response.json().get("errcode", 0)) in TOKEN_INVALID:
            token = self._tokens.get(self.fetch_token, stale=token)
            response = self._http.request(method, path, params={**(params or {}), "access_token": token}, **kwargs)
        return response

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._checked(self._request("POST", path, json=body))

    def send_text(self, openid: str, content: str) -> None:
        self._post("/cgi-bin/message/custom/send", {"touser": openid, "msgtype": "text", "text": {"content": content}})

    def send_template(self, openid: str, template_id: str, data: dict[str, Any], url: str | None = None) -> int:
        body: dict[str, Any] = {"touser": openid, "template_id": template_id, "data": data}
        if url:
            body["url"] = url
        return int(self._post("/cgi-bin/message/template/send", body).get("msgid", 0))

    def download_media(self, media_id: str) -> tuple[bytes, str]:
        """The file's bytes and content type; WeChat answers errors as JSON even on this endpoint."""
        response = self._request("GET", "/cgi-bin/media/get", params={"media_id": media_id})
        if _is_json(response):
            self._checked(response)
        response.raise_for_status()
        return response.content, response.headers.get("content-type", "application/octet-stream")

    def create_qr(self, scene: str, expire_seconds: int) -> QrTicket:
        """A temporary QR code whose scan sends `scene` back in the SCAN or subscribe event (`qrscene_` + scene)."""
        body = {
            "expire_seconds": min(expire_seconds, QR_MAX_SECONDS),
            "action_name": "QR_STR_SCENE",
            "action_info": {"scene": {"scene_str": scene}},
        }
        data = self._post("/cgi-bin/qrcode/create", body)
        return QrTicket(str(data["ticket"]), str(data.get("url", "")), int(data.get("expire_seconds", 0)))

    def create_menu(self, menu: dict[str, Any]) -> None:
        """Replace the account's custom menu (followers see it within about 5 minutes)."""
        self._post("/cgi-bin/menu/create", menu)

    def get_menu(self) -> dict[str, Any] | None:
        """The menu WeChat shows now (menu/get's `menu`: a plain button has `sub_button: []`), None when none."""
        try:
            data = self._checked(self._request("GET", "/cgi-bin/menu/get"))
        except WechatApiError as exc:
            if exc.errcode == NO_MENU:
                return None
            raise
        menu = data.get("menu")
        return menu if isinstance(menu, dict) else None

    def delete_menu(self) -> None:
        """Remove the custom menu (and any conditional menus) from the account."""
        self._checked(self._request("GET", "/cgi-bin/menu/delete"))

    def qr_image(self, ticket: str) -> bytes:
        """The PNG of a ticket (`showqrcode`); WeChat answers an unknown or expired ticket with an HTTP error."""
        response = self._http.get(f"{self._qr_base}/cgi-bin/showqrcode", params={"ticket": ticket})
        response.raise_for_status()
        return response.content


def _is_json(response: httpx.Response) -> bool:
    return str(response.headers.get("content-type", "")).startswith(("application/json", "text/plain"))

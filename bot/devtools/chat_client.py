"""The terminal chat behind `unionbot chat`: a phone's conversation with the account, in a shell.

Lines are sent as signed text messages; `/图片 [media_id]`, `/语音 [TEXT]`, `/菜单 KEY|NAME`, `/关注`, `/取消关注` and
`/扫码 CODE` send the other kinds WeChat delivers. After each reply it shows what the account pushed to this user
through the stand-in.

`/菜单` alone lists the menu the account published at the stand-in (`unionbot menu publish`), as a phone shows it;
`/菜单 工作台` taps a button by its name, `/菜单 DESK` by its key. `/语音 TEXT` is a voice message that WeChat heard
as TEXT (its `Recognition`); `/语音` alone is one WeChat could not turn into text.

`/扫码 CODE` is a scan of the invitation's QR code: a user who has not followed yet in this session (nothing sent
but `/扫码`, or `/取消关注` last) follows by scanning, as WeChat reports it (`subscribe`, EventKey `qrscene_bind:CODE`);
a follower's scan is a `SCAN` event with EventKey `bind:CODE`.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import xmltodict

from bot.channel.signing import Signer, event_xml, image_xml, new_msg_id, text_xml, voice_xml
from config.menu import menu_lines
from config.settings import Settings

SCAN = "/扫码"
MENU = "/菜单"
VOICE = "/语音"


def _body_for(openid: str, line: str, following: bool, menu: dict[str, Any] | None) -> str:
    if line.startswith("/图片"):
        media_id = line.removeprefix("/图片").strip() or f"media-{new_msg_id()}"
        return image_xml(openid, media_id, new_msg_id())
    if line.startswith(VOICE):
        heard = line.removeprefix(VOICE).strip()
        return voice_xml(openid, f"voice-{new_msg_id()}", new_msg_id(), heard or None)
    if line.startswith(MENU):
        return event_xml(openid, "CLICK", _key_of(line.removeprefix(MENU).strip(), menu))
    if line == "/关注":
        return event_xml(openid, "subscribe")
    if line == "/取消关注":
        return event_xml(openid, "unsubscribe")
    if line.startswith(SCAN):
        scene = f"bind:{line.removeprefix(SCAN).strip().upper()}"
        return event_xml(openid, "SCAN", scene) if following else event_xml(openid, "subscribe", f"qrscene_{scene}")
    return text_xml(openid, line, new_msg_id())


def _key_of(pressed: str, menu: dict[str, Any] | None) -> str:
    """The click key of the button named `pressed` in the published menu; otherwise `pressed` is the key itself."""
    for button in (menu or {}).get("button") or []:
        for leaf in button.get("sub_button") or [button]:
            if leaf.get("name") == pressed and leaf.get("type") == "click":
                return str(leaf.get("key", pressed))
    return pressed


def _published_menu(client: httpx.Client, fake: str) -> dict[str, Any] | None:
    try:
        menu = client.get(f"{fake}/_fake/menu").json().get("menu")
    except (httpx.HTTPError, ValueError, AttributeError):
        return None
    return menu if isinstance(menu, dict) else None


def _show_menu(menu: dict[str, Any] | None) -> None:
    if menu is None:
        print("（公众号还没有发布菜单：unionbot menu publish）")
        return
    print("菜单（/菜单 名称 或 /菜单 KEY 点击）：")
    for line in menu_lines(menu):
        print(f"  {line}")


def _reply_text(signer: Signer, body: str) -> str:
    inner = signer.open_reply(body)
    if inner in ("success", ""):
        return "（无即时回复）"
    return str(xmltodict.parse(inner)["xml"].get("Content") or "")


def _pushes(client: httpx.Client, fake: str, openid: str, since: float) -> tuple[list[str], float]:
    try:
        calls = client.get(f"{fake}/_fake/calls", params={"touser": openid, "since": since}).json()
    except httpx.HTTPError:
        return [], since
    shown = []
    for call in calls:
        since = max(since, float(call["at"]))
        body = call.get("body") or {}
        if call["errcode"] != 0:
            continue
        if "text" in body:
            shown.append(f"【客服消息】{body['text']['content']}")
        elif "template_id" in body:
            values = "；".join(f"{k}: {v.get('value')}" for k, v in body.get("data", {}).items())
            shown.append(f"【模板消息】{values}")
    return shown, since


def run_chat(settings: Settings, openid: str, url: str, fake: str) -> int:
    signer = Signer(settings.wechat_token, settings.wechat_appid, settings.wechat_aes_key)
    since = time.time()
    following = False  # WeChat tells a first scan (subscribe) from a follower's (SCAN)
    print(f"以 {openid} 的身份与公众号对话（{'安全模式' if signer.aes_key else '明文模式'}）。Ctrl-D 退出。")
    with httpx.Client(timeout=10) as client:
        menu = _published_menu(client, fake)
        _show_menu(menu)
        while True:
            try:
                line = input("我> ").strip()
            except (EOFError, KeyboardInterrupt):
                print()
                return 0
            if line == MENU:
                menu = _published_menu(client, fake)
                _show_menu(menu)
                continue
            if line:
                params, body = signer.sign(_body_for(openid, line, following, menu))
                following = line != "/取消关注"
                try:
                    response = client.post(url, params=params, content=body)
                except httpx.HTTPError as exc:
                    print(f"连接服务失败：{exc}")
                    continue
                if response.status_code != 200:
                    print(f"服务返回 {response.status_code}：{response.text}")
                    continue
                print(f"公众号> {_reply_text(signer, response.text)}")
            time.sleep(0.3)
            shown, since = _pushes(client, fake, openid, since)
            for push in shown:
                print(f"公众号> {push}")

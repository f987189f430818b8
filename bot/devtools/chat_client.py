"""The terminal chat behind `unionbot chat`: a phone's conversation with the account, in a shell.

Lines are sent as signed text messages; `/图片 [media_id]`, `/菜单 KEY`, `/关注`, `/取消关注` and `/扫码 CODE` send
the other kinds WeChat delivers. After each reply it shows what the account pushed to this user through the stand-in.

`/扫码 CODE` is a scan of the invitation's QR code: a user who has not followed yet in this session (nothing sent
but `/扫码`, or `/取消关注` last) follows by scanning, as WeChat reports it (`subscribe`, EventKey `qrscene_bind:CODE`);
a follower's scan is a `SCAN` event with EventKey `bind:CODE`.
"""

from __future__ import annotations

import time

import httpx
import xmltodict

from bot.channel.signing import Signer, event_xml, image_xml, new_msg_id, text_xml
from config.settings import Settings

SCAN = "/扫码"


def _body_for(openid: str, line: str, following: bool) -> str:
    if line.startswith("/图片"):
        media_id = line.removeprefix("/图片").strip() or f"media-{new_msg_id()}"
        return image_xml(openid, media_id, new_msg_id())
    if line.startswith("/菜单"):
        return event_xml(openid, "CLICK", line.removeprefix("/菜单").strip())
    if line == "/关注":
        return event_xml(openid, "subscribe")
    if line == "/取消关注":
        return event_xml(openid, "unsubscribe")
    if line.startswith(SCAN):
        scene = f"bind:{line.removeprefix(SCAN).strip().upper()}"
        return event_xml(openid, "SCAN", scene) if following else event_xml(openid, "subscribe", f"qrscene_{scene}")
    return text_xml(openid, line, new_msg_id())


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
        while True:
            try:
                line = input("我> ").strip()
            except (EOFError, KeyboardInterrupt):
                print()
                return 0
            if line:
                params, body = signer.sign(_body_for(openid, line, following))
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

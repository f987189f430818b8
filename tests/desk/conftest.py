"""The desk as a staff member reaches it: `登录` through the signed WeChat endpoint, then the link in a browser."""

from __future__ import annotations

import re

from tests.harness import Chat, Service

LINK = re.compile(r"https?://\S+/desk/login/(\S+)")


def link_path(reply: str) -> str:
    """The path of the one-time link in the reply to `登录`."""
    found = LINK.search(reply)
    assert found, reply
    return f"/desk/login/{found[1]}"


def sign_in(service: Service, openid: str) -> str:
    """Sign `openid` in as they would: send 登录, open the link. Returns the CSRF token of the session."""
    path = link_path(Chat(service.wechat, openid).say("登录"))
    opened = service.client.get(path, follow_redirects=False)
    assert opened.status_code == 303, opened.text
    page = service.client.get("/desk")
    assert page.status_code == 200, page.text
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token
    return token[1]

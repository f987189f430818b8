"""The account's custom menu: an operator publishes `config/menu.yaml`, reads back what WeChat shows and removes it;
a file WeChat would refuse, or with a click nobody answers, is named line by line; every button answers a user."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import Result
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from bot.cli.main import app
from bot.devtools.fake_wechat import (
    MENU_CREATE_PATH,
    MENU_DELETE_PATH,
    MENU_GET_PATH,
    TOKEN_PATH,
    FakeWechatServer,
    menu_error,
)
from bot.routing.routes import build_dispatcher
from config.menu import MenuError, load_menu, menu_lines, menu_problems
from storage.db import Database
from tests.conftest import APPID, SECRET, enroll
from tests.harness import Chat, Service

runner = CliRunner()
ANSWERED = build_dispatcher(menu_file=None).menu_keys
MENU_PATHS = (MENU_CREATE_PATH, MENU_GET_PATH, MENU_DELETE_PATH)


@pytest.fixture
def env(database_url: str, fake: FakeWechatServer) -> dict[str, str | None]:
    """The operator's shell: the service's database and account, WeChat replaced by the stand-in."""
    return {
        "UNIONBOT_DATABASE_URL": database_url,
        "UNIONBOT_WECHAT_API_BASE": fake.url,
        "UNIONBOT_WECHAT_APPID": APPID,
        "UNIONBOT_WECHAT_SECRET": SECRET,
        "UNIONBOT_REDIS_URL": None,
    }


def menu(env: dict[str, str | None], *args: str) -> Result:
    return runner.invoke(app, ["menu", *args], env=env)


def menu_calls(fake: FakeWechatServer) -> list[tuple[str, int]]:
    return [(call.path, call.errcode) for call in fake.state.snapshot() if call.path in MENU_PATHS]


def test_an_operator_publishes_the_menu_reads_it_back_and_removes_it(
    env: dict[str, str | None], fake: FakeWechatServer
) -> None:
    before = menu(env, "show")
    assert before.exit_code == 0 and "has no custom menu" in before.stdout

    published = menu(env, "publish")

    assert published.exit_code == 0, published.stderr
    assert published.stdout.splitlines()[0] == "published menu.yaml: 3 buttons, 6 sub-buttons"
    assert fake.state.menu == load_menu()
    shown = menu(env, "show")
    assert shown.exit_code == 0
    assert shown.stdout.splitlines() == menu_lines(load_menu())
    assert "工作台  [click DESK]" in shown.stdout.splitlines()
    assert "  企业工会月报  [click MONTHLY_REPORT]" in shown.stdout.splitlines()

    removed = menu(env, "remove")

    assert removed.exit_code == 0 and fake.state.menu is None
    assert "has no custom menu" in menu(env, "show").stdout
    assert menu_calls(fake) == [
        (MENU_GET_PATH, 46003),
        (MENU_CREATE_PATH, 0),
        (MENU_GET_PATH, 0),
        (MENU_DELETE_PATH, 0),
        (MENU_GET_PATH, 46003),
    ]


def test_the_menu_goes_out_with_the_services_own_access_token(
    env: dict[str, str | None], fake: FakeWechatServer
) -> None:
    """A second token fetch would knock out the running service's token; the shared cache prevents it."""
    assert menu(env, "publish").exit_code == 0
    assert menu(env, "show").exit_code == 0
    assert menu(env, "publish").exit_code == 0
    assert fake.state.token_fetches == 1


@pytest.mark.parametrize(
    ("path", "errcode", "explained"),
    [
        (MENU_CREATE_PATH, 48001, "个人订阅号和未认证的公众号不能通过接口设置菜单"),
        (MENU_CREATE_PATH, 40018, "一级菜单不超过 16 字节，二级菜单不超过 60 字节"),
        (MENU_CREATE_PATH, 45009, "接口调用已达今日上限"),
        (MENU_CREATE_PATH, -1, "微信系统繁忙，请稍后重试"),
        (MENU_CREATE_PATH, 61999, "微信没有说明原因"),
        (TOKEN_PATH, 40164, "本机出口 IP 不在白名单"),
        (TOKEN_PATH, 40125, "AppSecret 无效：请核对 UNIONBOT_WECHAT_SECRET"),
    ],
)
def test_a_refusal_by_wechat_is_explained_in_chinese_in_one_line(
    env: dict[str, str | None], fake: FakeWechatServer, path: str, errcode: int, explained: str
) -> None:
    fake.state.fail_next(path, errcode)

    result = menu(env, "publish")

    assert result.exit_code == 2
    [line] = result.stderr.splitlines()
    assert line.startswith(f"unionbot: 发布菜单失败：微信返回 errcode {errcode}（")
    assert explained in line
    assert fake.state.menu is None


def test_show_and_remove_explain_a_refusal_too(env: dict[str, str | None], fake: FakeWechatServer) -> None:
    fake.state.fail_next(MENU_GET_PATH, 48001)
    fake.state.fail_next(MENU_DELETE_PATH, -1)
    shown, removed = menu(env, "show"), menu(env, "remove")
    assert shown.exit_code == removed.exit_code == 2
    assert shown.stderr.startswith("unionbot: 读取菜单失败：微信返回 errcode 48001")
    assert removed.stderr.startswith("unionbot: 删除菜单失败：微信返回 errcode -1（system error）。微信系统繁忙")


def test_an_unreachable_wechat_is_named(env: dict[str, str | None]) -> None:
    result = menu({**env, "UNIONBOT_WECHAT_API_BASE": "http://127.0.0.1:9"}, "show")
    assert result.exit_code == 2
    assert result.stderr.startswith("unionbot: cannot reach WeChat at http://127.0.0.1:9")


NO_BUTTONS = "needs a `button:` list of 1 to 3 top-level buttons"
BAD_MENUS = [
    (
        """
button:
  - name: 企业工会工作台
    sub_button:
      - {type: click, name: 月报, key: MONTHLY_REPORTS}
      - {type: view, name: 网站, url: "http://example.org"}
      - {type: scancode_push, name: 扫码, key: SCAN}
  - {type: click, name: 工作台, key: DESK, nmae: 台}
  - {type: click, name: 帮助}
  - name: 更多
    sub_button: []
""",
        [
            "4 top-level buttons; WeChat allows 3",
            "button 1 “企业工会工作台”: name is 21 bytes; WeChat allows 16 for a top-level button (a Chinese "
            "character is 3)",
            "button 1.1 “月报”: key MONTHLY_REPORTS is answered by no route (answered: DEMO, DESK, HARDSHIP, HELP, "
            "MONTHLY_REPORT, PROFILE, WARNING)",
            "button 1.2 “网站”: a view needs an https:// url, got 'http://example.org'",
            "button 1.3 “扫码”: type must be one of click, view, got 'scancode_push'",
            "button 2 “工作台”: unknown fields ['nmae'] (known: key, name, sub_button, type, url)",
            "button 3 “帮助”: a click needs a key",
            "button 4 “更多”: sub_button must list 1 to 5 buttons",
        ],
    ),
    (
        """
button:
  - name: 填报
    type: click
    key: DESK
    sub_button:
      - {type: click, name: "", key: DESK}
      - {type: click, name: 一二三四五六七八九十一二三四五六七八九十一, key: DESK}
      - {type: view, name: 长链接, url: "https://example.org/LONG_PATH"}
      - {type: click, name: 长键, key: "LONG_KEY"}
      - {type: click, name: 五, key: DESK}
      - {type: click, name: 六, key: DESK}
""".replace("LONG_PATH", "u" * 1010).replace("LONG_KEY", "K" * 129),
        [
            "button 1 “填报”: a button with sub-buttons opens them; it takes no type, key or url",
            "button 1 “填报”: 6 sub-buttons; WeChat allows 5",
            "button 1.1: needs a name",
            "button 1.2 “一二三四五六七八九十一二三四五六七八九十一”: name is 63 bytes; WeChat allows 60 for a "
            "sub-button (a Chinese character is 3)",
            "button 1.3 “长链接”: url is 1030 bytes; WeChat allows 1024",
            "button 1.4 “长键”: key is 129 bytes; WeChat allows 128",
        ],
    ),
    ("button: []\n", [NO_BUTTONS]),
    ("menu:\n  - {type: click, name: 月报, key: MONTHLY_REPORT}\n", [NO_BUTTONS]),
    ("button: [\n", ["is not valid YAML at line 2"]),
]


@pytest.mark.parametrize(("text", "problems"), BAD_MENUS)
def test_a_menu_file_wechat_would_refuse_is_named_line_by_line_and_never_sent(
    env: dict[str, str | None], fake: FakeWechatServer, tmp_path: Path, text: str, problems: list[str]
) -> None:
    path = tmp_path / "menu.yaml"
    path.write_text(text, encoding="utf-8")

    result = menu(env, "publish", "--file", str(path))

    assert result.exit_code == 2
    assert result.stderr.splitlines() == [f"unionbot: menu.yaml: {problem}" for problem in problems]
    assert menu_calls(fake) == [] and fake.state.token_fetches == 0
    with pytest.raises(MenuError) as refused:  # and the service would not start on it
        build_dispatcher(menu_file=path)
    assert refused.value.problems == [f"menu.yaml: {problem}" for problem in problems]


def test_the_service_refuses_to_start_on_a_wrong_menu_naming_each_problem(tmp_path: Path) -> None:
    path = tmp_path / "menu.yaml"
    text, problems = BAD_MENUS[0]
    path.write_text(text, encoding="utf-8")
    env = {"UNIONBOT_MENU_FILE": str(path), "UNIONBOT_DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3"}

    result = runner.invoke(app, ["serve"], env=env)

    assert result.exit_code == 2
    assert result.stderr.splitlines() == [f"unionbot: menu.yaml: {problem}" for problem in problems]


def test_a_missing_menu_file_stops_start_up(tmp_path: Path) -> None:
    with pytest.raises(MenuError, match=r"menu\.yaml: cannot be read"):
        build_dispatcher(menu_file=tmp_path / "menu.yaml")


def test_the_shipped_menu_fits_wechats_rules_and_the_routes() -> None:
    assert menu_problems(load_menu(), ANSWERED) == []
    assert menu_error(load_menu()) == 0


_NAME = st.text(alphabet="月报预警ab", max_size=22)


@st.composite
def _button(draw: st.DrawFn, top: bool) -> dict[str, Any]:
    name = draw(_NAME)
    if top and draw(st.booleans()):
        return {"name": name, "sub_button": draw(st.lists(_button(top=False), max_size=6))}
    if draw(st.booleans()):
        return {"type": "click", "name": name, "key": draw(st.sampled_from(sorted(ANSWERED)))}
    return {"type": "view", "name": name, "url": "https://example.org/" + draw(st.text("ab/", max_size=3))}


@given(st.lists(_button(top=True), max_size=4))
def test_the_menu_check_agrees_with_the_stand_ins_own_reading_of_wechats_rules(buttons: list[dict[str, Any]]) -> None:
    """Two independent readings of the counts and byte limits: ours, and the stand-in's (a code per rule)."""
    body = {"button": buttons}
    assert (menu_problems(body, ANSWERED) == []) == (menu_error(body) == 0)


@pytest.mark.parametrize(
    ("role", "button", "answer"),
    [
        ("chair", "企业工会月报", "「企业工会月报」"),
        ("chair", "劳动争议预警", "「劳动争议预警」"),
        ("chair", "困难职工帮扶", "困难职工帮扶"),
        ("chair", "练习填报", "「演示表单」"),
        ("chair", "工作台", "工作台仅供街道总工会工作人员使用"),
        ("staff", "工作台", "/desk/login/"),
        ("warner", "我的信息", "「个人信息」"),
        ("warner", "使用帮助", "发送“预警”上报"),
        ("staff", "企业工会月报", "「企业工会月报」只能由企业工会主席填写"),
    ],
)
def test_each_button_of_the_shipped_menu_answers_the_user_who_taps_it(
    service: Service, db: Database, role: str, button: str, answer: str
) -> None:
    enroll(db, "tapper", role=role, enterprise=None if role == "staff" else "宁波示例纺织有限公司")
    keys = {leaf["name"]: leaf["key"] for top in load_menu()["button"] for leaf in top.get("sub_button", [top])}

    reply = Chat(service.wechat, "tapper").click(keys[button])

    assert answer in reply


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_terminal_chat_lists_the_published_menu_and_taps_a_button_by_name(tmp_path: Path) -> None:
    """The demo: `serve --with-fake-wechat`, `menu publish` to the stand-in, then `/菜单`, `/菜单 使用帮助`, `/语音`."""
    fake_port, port = _free_port(), _free_port()
    env = {**os.environ, "UNIONBOT_DATABASE_URL": f"sqlite:///{tmp_path}/demo.sqlite3"}
    env.pop("UNIONBOT_WECHAT_AES_KEY", None)
    cli = [sys.executable, "-m", "bot.cli.main"]
    subprocess.run([*cli, "db", "upgrade"], env=env, check=True, capture_output=True)
    server = subprocess.Popen(
        [*cli, "serve", "--port", str(port), "--with-fake-wechat", str(fake_port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    fake = f"http://127.0.0.1:{fake_port}"
    try:
        deadline = time.monotonic() + 60  # the service imports every handler: slow on a busy 2-core machine
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "service did not start"
                time.sleep(0.2)
        published = subprocess.run(
            [*cli, "menu", "publish"],
            env={**env, "UNIONBOT_WECHAT_API_BASE": fake},
            capture_output=True,
            text=True,
            timeout=30,
        )
        chat = subprocess.run(
            [*cli, "chat", "--as", "newcomer", "--url", f"http://127.0.0.1:{port}/wechat", "--fake", fake],
            input="/菜单\n/菜单 使用帮助\n/语音 你好。\n",
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
        )
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert published.returncode == 0, published.stderr
    assert chat.returncode == 0, chat.stderr
    assert chat.stdout.count("  工作台  [click DESK]") == 2  # at the start and for `/菜单`
    assert "    使用帮助  [click HELP]" in chat.stdout
    assert "发送“绑定 邀请码”" in chat.stdout  # the tap reached the service: a newcomer is told how to bind
    assert "公众号> 您说的是：“你好”" in chat.stdout

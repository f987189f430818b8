"""The account's custom menu (`config/menu.yaml`), checked against WeChat's rules and against the routes.

The file is WeChat's own menu/create body in YAML. It is checked when the service starts (routing passes the
click keys it answers) and again before `unionbot menu publish`, with one line per problem, so a button WeChat
would refuse, or a click nobody answers, is named before it reaches a phone.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any

import yaml

MENU_FILE = Path(__file__).resolve().parent / "menu.yaml"
TOP_LEVEL_MAX = 3
SUB_BUTTONS_MAX = 5
TOP_NAME_BYTES = 16  # about 5 Chinese characters (WeChat shows about 4)
SUB_NAME_BYTES = 60  # about 20 Chinese characters (WeChat shows about 7)
KEY_BYTES = 128
URL_BYTES = 1024
BUTTON_TYPES = ("click", "view")  # the handlers answer clicks; a view opens a page
_LEAF_FIELDS = frozenset({"name", "type", "key", "url"})
_TOP_FIELDS = _LEAF_FIELDS | {"sub_button"}


class MenuError(Exception):
    """A menu that cannot be published; `problems` are its lines, each naming the button."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def load_menu(path: Path = MENU_FILE) -> Any:
    """The file as data, unchecked; a file that cannot be read or is not YAML is a MenuError."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise MenuError([f"{path.name}: cannot be read ({exc.strerror})"]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise MenuError([f"{path.name}: is not valid YAML{where}"]) from None


def checked_menu(answered: Collection[str], path: Path = MENU_FILE) -> dict[str, Any]:
    """The menu/create body from `path`, or a MenuError listing every problem."""
    menu = load_menu(path)
    problems = menu_problems(menu, answered)
    if problems:
        raise MenuError([f"{path.name}: {problem}" for problem in problems])
    assert isinstance(menu, dict)
    return menu


def menu_problems(menu: Any, answered: Collection[str]) -> list[str]:
    """Everything WeChat would refuse, and every click key no route answers; [] for a menu fit to publish."""
    buttons = menu.get("button") if isinstance(menu, dict) else None
    if not isinstance(buttons, list) or not buttons:
        return ["needs a `button:` list of 1 to 3 top-level buttons"]
    problems = []
    if len(buttons) > TOP_LEVEL_MAX:
        problems.append(f"{len(buttons)} top-level buttons; WeChat allows {TOP_LEVEL_MAX}")
    if isinstance(menu, dict) and set(menu) - {"button"}:
        problems.append(f"unknown fields {sorted(set(menu) - {'button'})} (only `button:`)")
    for i, button in enumerate(buttons, 1):
        problems.extend(_top_problems(button, i, answered))
    return problems


def _top_problems(button: Any, number: int, answered: Collection[str]) -> list[str]:
    if not isinstance(button, dict):
        return [f"button {number}: must be a mapping with a name"]
    where = _named(f"button {number}", button)
    problems = _name_problems(button, where, TOP_NAME_BYTES, "a top-level button")
    problems.extend(_unknown_fields(button, where, _TOP_FIELDS))
    subs = button.get("sub_button")
    if subs is None:
        return problems + _leaf_problems(button, where, answered)
    if any(field in button for field in ("type", "key", "url")):
        problems.append(f"{where}: a button with sub-buttons opens them; it takes no type, key or url")
    if not isinstance(subs, list) or not subs:
        return [*problems, f"{where}: sub_button must list 1 to {SUB_BUTTONS_MAX} buttons"]
    if len(subs) > SUB_BUTTONS_MAX:
        problems.append(f"{where}: {len(subs)} sub-buttons; WeChat allows {SUB_BUTTONS_MAX}")
    for j, sub in enumerate(subs, 1):
        problems.extend(_sub_problems(sub, f"button {number}.{j}", answered))
    return problems


def _sub_problems(button: Any, where: str, answered: Collection[str]) -> list[str]:
    if not isinstance(button, dict):
        return [f"{where}: must be a mapping with a name"]
    where = _named(where, button)
    problems = _name_problems(button, where, SUB_NAME_BYTES, "a sub-button")
    if "sub_button" in button:
        problems.append(f"{where}: a sub-button cannot have sub-buttons of its own")
    problems.extend(_unknown_fields(button, where, _TOP_FIELDS))
    return problems + _leaf_problems(button, where, answered)


def _leaf_problems(button: dict[str, Any], where: str, answered: Collection[str]) -> list[str]:
    kind = button.get("type")
    if kind not in BUTTON_TYPES:
        return [f"{where}: type must be one of {', '.join(BUTTON_TYPES)}, got {kind!r}"]
    if kind == "click":
        key = button.get("key")
        if not isinstance(key, str) or not key:
            return [f"{where}: a click needs a key"]
        if len(key.encode()) > KEY_BYTES:
            return [f"{where}: key is {len(key.encode())} bytes; WeChat allows {KEY_BYTES}"]
        if key not in answered:
            return [f"{where}: key {key} is answered by no route (answered: {', '.join(sorted(answered))})"]
        return []
    url = button.get("url")
    if not isinstance(url, str) or not url.startswith("https://") or len(url) == len("https://"):
        return [f"{where}: a view needs an https:// url, got {url!r}"]
    if len(url.encode()) > URL_BYTES:
        return [f"{where}: url is {len(url.encode())} bytes; WeChat allows {URL_BYTES}"]
    return []


def _name_problems(button: dict[str, Any], where: str, limit: int, what: str) -> list[str]:
    name = button.get("name")
    if not isinstance(name, str) or not name.strip():
        return [f"{where}: needs a name"]
    size = len(name.encode())
    if size > limit:
        return [f"{where}: name is {size} bytes; WeChat allows {limit} for {what} (a Chinese character is 3)"]
    return []


def _unknown_fields(button: dict[str, Any], where: str, known: frozenset[str]) -> list[str]:
    unknown = sorted(str(field) for field in set(button) - known)
    return [f"{where}: unknown fields {unknown} (known: {', '.join(sorted(known))})"] if unknown else []


def _named(where: str, button: dict[str, Any]) -> str:
    name = button.get("name")
    return f"{where} “{name}”" if isinstance(name, str) and name.strip() else where


def menu_lines(menu: dict[str, Any]) -> list[str]:
    """The menu as an operator or a tester reads it: one line per button, sub-buttons indented.

    Accepts both the menu/create body and what menu/get answers (where a plain button has `sub_button: []`).
    """
    lines = []
    for button in menu.get("button") or []:
        subs = button.get("sub_button") or []
        lines.append(str(button.get("name", "")) if subs else _leaf_line(button, ""))
        lines.extend(_leaf_line(sub, "  ") for sub in subs)
    return lines


def _leaf_line(button: dict[str, Any], indent: str) -> str:
    kind = str(button.get("type", ""))
    target = button.get("key") if kind == "click" else button.get("url", button.get("key", ""))
    return f"{indent}{button.get('name', '')}  [{kind} {target}]"

"""What every desk page shares: the layout's context (who is signed in, the CSRF token, the menu) and paging."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse

from bot.services import render
from bot.staff_desk.auth import services
from storage.desk_auth import Viewer

PAGE_SIZE = 50
NOTICE_COOKIE = "unionbot_desk_notice"

# The menu, in the order staff work: (path, label) — labels are the pages' Chinese names.
MENU = (
    ("/desk", "概览"),
    ("/desk/reports", "月报"),
    ("/desk/warnings", "预警"),
    ("/desk/hardship", "帮扶"),
    ("/desk/enterprises", "企业"),
    ("/desk/data", "数据与总结"),
    ("/desk/people", "人员"),
)


def show(request: Request, viewer: Viewer | None, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render `templates/desk/<name>` inside the layout, with the notice an action left for this page."""
    settings = services(request).settings
    notice = unquote(request.cookies.get(NOTICE_COOKIE, ""))
    body = render.page(
        f"desk/{name}",
        viewer=viewer,
        csrf=viewer.csrf if viewer else "",
        menu=MENU,
        here=request.url.path,
        zone=settings.zone,
        notice=notice,
        **context,
    )
    response = HTMLResponse(body, status_code=status_code)
    if notice:
        response.delete_cookie(NOTICE_COOKIE, path="/desk")
    return response


def not_found(request: Request, viewer: Viewer, what: str, back: str, name: str = "") -> HTMLResponse:
    """An id in the URL or a form that names nothing (`what`: 预警, 企业 …): a page that says so, and the way back."""
    return show(request, viewer, "not_found.html.j2", status_code=404, what=what, named=name, back=back)


def after_action(url: str, notice: str) -> RedirectResponse:
    """Post/redirect/get: the action's outcome (the same text the chat would answer) shows once on the next page."""
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(NOTICE_COOKIE, quote(notice), max_age=60, httponly=True, samesite="lax", path="/desk")
    return response


@dataclass(frozen=True)
class Pager:
    """Server-side paging: `?page=N` with every other filter of the query string kept in the links."""

    page: int
    total: int
    query: dict[str, str]
    size: int = PAGE_SIZE

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    def link(self, page: int) -> str:
        return "?" + urlencode({**self.query, "page": page})


def pager(request: Request, total: int, size: int = PAGE_SIZE) -> Pager:
    query = {key: value for key, value in request.query_params.items() if key != "page" and value}
    try:
        page = int(request.query_params.get("page", "1"))
    except ValueError:
        page = 1
    pages = max(1, -(-total // size))
    return Pager(min(max(page, 1), pages), total, query, size)

"""Every page of the desk, and what the desk answers when nobody is signed in or a form lacks its CSRF token."""

from __future__ import annotations

import logging

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from bot.staff_desk import assets, dashboard, data, enterprises, hardship, login, pages, people, reports, warnings
from bot.staff_desk.auth import CsrfRefused, SignInNeeded
from bot.staff_desk.security import DeskHeaders

log = logging.getLogger("unionbot.desk")
router = APIRouter()
for part in (assets, login, dashboard, reports, warnings, hardship, enterprises, data, people):
    router.include_router(part.router)


async def _sign_in_needed(_request: Request, _exc: Exception) -> Response:
    return RedirectResponse("/desk/signin", status_code=303)


async def _csrf_refused(request: Request, _exc: Exception) -> Response:
    log.warning("refused %s %s: no or wrong CSRF token", request.method, request.url.path)
    return pages.show(request, None, "csrf_refused.html.j2", status_code=403)


def install(app: FastAPI) -> None:
    app.include_router(router)
    app.add_exception_handler(SignInNeeded, _sign_in_needed)
    app.add_exception_handler(CsrfRefused, _csrf_refused)
    app.add_middleware(DeskHeaders)

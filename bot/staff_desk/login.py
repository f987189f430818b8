"""Signing in with a one-time link from the chat, the page that explains how to get one, and signing out."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from bot.staff_desk import pages
from bot.staff_desk.auth import COOKIE, Acting, services
from storage import desk_auth

router = APIRouter()


@router.get("/desk/login/{token}")
def sign_in(request: Request, token: str) -> Response:
    found = services(request)
    now = found.clock()
    with found.db.transaction() as session:
        outcome = desk_auth.redeem_link(session, token, now)
    if not isinstance(outcome, desk_auth.SignedIn):
        return pages.show(request, None, "link_refused.html.j2", status_code=403, reason=outcome)
    response = RedirectResponse("/desk", status_code=303)
    response.set_cookie(
        COOKIE,
        outcome.token,
        max_age=int(desk_auth.SESSION_TTL.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=found.settings.public_base_url.startswith("https://"),
        path="/desk",
    )
    return response


@router.get("/desk/signin")
def how_to_sign_in(request: Request) -> Response:
    return pages.show(request, None, "signin.html.j2", status_code=401)


@router.post("/desk/logout")
def sign_out(request: Request, viewer: Acting) -> Response:
    found = services(request)
    with found.db.transaction() as session:
        desk_auth.end_session(session, viewer.session_hash, found.clock())
    response = RedirectResponse("/desk/signin", status_code=303)
    response.delete_cookie(COOKIE, path="/desk")
    return response

"""Who is asking: the session cookie read into a `Viewer`, and the CSRF check on every state-changing request."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Form, Request

from bot.channel.endpoint import Services
from storage import desk_auth
from storage.desk_auth import Viewer

COOKIE = "unionbot_desk"


class SignInNeeded(Exception):
    """No valid session: the desk answers with the page that explains `登录`."""


class CsrfRefused(Exception):
    """A state-changing request without this session's CSRF token."""


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


def _viewer(request: Request) -> Viewer:
    cookie = request.cookies.get(COOKIE, "")
    if not cookie:
        raise SignInNeeded
    found = services(request)
    with found.db.transaction() as session:
        viewer = desk_auth.viewer(session, cookie, found.clock())
    if viewer is None:
        raise SignInNeeded
    return viewer


def _checked(viewer: Annotated[Viewer, Depends(_viewer)], csrf: Annotated[str, Form()] = "") -> Viewer:
    if not hmac.compare_digest(csrf.encode(), viewer.csrf.encode()):
        raise CsrfRefused
    return viewer


Staff = Annotated[Viewer, Depends(_viewer)]
Acting = Annotated[Viewer, Depends(_checked)]

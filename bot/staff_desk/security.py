"""The headers every desk response carries: no inline script, no framing, no referrer outside the site."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request, Response

PREFIX = "/desk"
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    ),
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


async def desk_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    response = await call_next(request)
    if request.url.path == PREFIX or request.url.path.startswith(PREFIX + "/"):
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
    return response

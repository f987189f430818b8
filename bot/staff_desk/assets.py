"""The desk's stylesheet and icons, served from the repository: the desk works on a network with no internet."""

from __future__ import annotations

import mimetypes
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import Response

from bot.channel.wechat import RejectedRequest

STATIC = Path(__file__).resolve().parent / "static"
router = APIRouter()


@router.get("/desk/static/{name}")
def asset(name: str) -> Response:
    target = (STATIC / name).resolve()
    if target.parent != STATIC or not target.is_file():
        raise RejectedRequest(404, f"no desk asset {name!r}")
    media_type = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
    return Response(target.read_bytes(), media_type=media_type, headers={"Cache-Control": "max-age=3600"})

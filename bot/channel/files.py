"""`GET /files/<path>`: documents, exports and stored photos behind signed, expiring links (`bot.services.links`).

Files under `UNIONBOT_FILES_DIR` ending in `.enc` are encrypted at rest and decrypted on the way out; who was
given a link is audited where the link is issued.
"""

from __future__ import annotations

import logging
import mimetypes
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import Response

from bot.channel.wechat import RejectedRequest
from bot.services import links
from storage import crypto

log = logging.getLogger("unionbot.files")
router = APIRouter()


def resolve(root: Path, path: str) -> Path | None:
    """The file `path` names inside `root`, or None (missing, or an attempt to leave the folder)."""
    base = root.resolve()
    target = (base / path).resolve()
    if not target.is_relative_to(base) or not target.is_file():
        return None
    return target


@router.get("/files/{path:path}")
async def download(request: Request, path: str, expires: int = 0, sig: str = "") -> Response:
    services = request.app.state.services
    settings = services.settings
    if not links.check(settings, path, expires, sig, services.clock()):
        raise RejectedRequest(403, f"link to {path!r} is expired or not signed")
    target = resolve(settings.files_dir, path)
    if target is None:
        raise RejectedRequest(404, f"no file {path!r}")
    data = target.read_bytes()
    name = target.name
    if name.endswith(".enc"):
        data = crypto.decrypt_bytes(settings.data_key, data)
        name = name.removesuffix(".enc")
    media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    log.info("served %s (%d bytes)", path, len(data))
    return Response(data, media_type=media_type, headers={"Content-Disposition": f'inline; filename="{name}"'})

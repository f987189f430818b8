"""`GET /files/<path>`: documents, exports and stored photos behind signed, expiring links (`bot.services.links`).

Files come from the configured file store (`storage.filestore`: the database, so any service machine serves any
link, or `UNIONBOT_FILES_DIR`); those ending in `.enc` are encrypted at rest and decrypted on the way out. Who was
given a link is audited where the link is issued.
"""

from __future__ import annotations

import logging
import mimetypes
from pathlib import PurePosixPath

from fastapi import APIRouter, Request
from fastapi.responses import Response

from bot.channel.wechat import RejectedRequest
from bot.services import links
from storage import filestore

log = logging.getLogger("unionbot.files")
router = APIRouter()


@router.get("/files/{path:path}")
def download(request: Request, path: str, expires: int = 0, sig: str = "") -> Response:
    services = request.app.state.services
    settings = services.settings
    if not links.check(settings, path, expires, sig, services.clock()):
        raise RejectedRequest(403, f"link to {path!r} is expired or not signed")
    with services.db.transaction() as session:
        data = filestore.load(filestore.open_store(settings, session), settings.data_key, path)
    if data is None:
        raise RejectedRequest(404, f"no file {path!r}")
    name = PurePosixPath(path).name.removesuffix(filestore.ENCRYPTED)
    media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    log.info("served %s (%d bytes)", path, len(data))
    return Response(data, media_type=media_type, headers={"Content-Disposition": f'inline; filename="{name}"'})

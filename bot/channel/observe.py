"""What operators see of the traffic: one log line per message from WeChat, its counters, and `GET /metrics`.

The line replaces uvicorn's access log (off by default in `unionbot serve`), which says nothing useful about a
message and prints its signature. It names the sender by a pseudonym, never the openid: HMAC-SHA256 of the openid
keyed with `UNIONBOT_DATA_KEY`, 12 hex digits, stable across processes and restarts, so an operator who knows an
openid (and the key) can find that user's lines and a log reader who does not cannot. The call is cheap on the
hot path: no database, one HMAC, one log call, two metric updates.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from functools import lru_cache

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST

from bot.channel.inbox import Delivery
from bot.services import metrics
from domain.messages import Incoming

log = logging.getLogger("unionbot.messages")
router = APIRouter()
PSEUDONYM_HEX = 12


@lru_cache(maxsize=4)
def _keyed(key: str) -> hmac.HMAC:
    return hmac.new(key.encode(), digestmod=hashlib.sha256)


def pseudonym(key: str, openid: str) -> str:
    """The name a user goes by in the logs."""
    mac = _keyed(key).copy()
    mac.update(openid.encode())
    return mac.hexdigest()[:PSEUDONYM_HEX]


def message_answered(key: str, incoming: Incoming, delivery: Delivery, seconds: float) -> None:
    log.info(
        "message user=%s type=%s route=%s ms=%.1f outcome=%s",
        pseudonym(key, incoming.openid),
        incoming.kind.value,
        delivery.route,
        seconds * 1000,
        delivery.outcome.value,
    )
    metrics.MESSAGES.labels(outcome=delivery.outcome.value).inc()
    metrics.MESSAGE_SECONDS.observe(seconds)


def message_rejected() -> None:
    """A request to /wechat refused before it was a message (its log line is the rejection's own)."""
    metrics.MESSAGES.labels(outcome="rejected").inc()


@router.get("/metrics")
async def scrape(request: Request) -> Response:
    """Prometheus text format, for a scraper on the machine or the private network: the reverse proxy in front
    must not pass `/metrics` on from the internet."""
    services = request.app.state.services
    body = await anyio.to_thread.run_sync(metrics.exposition, services.db, services.clock)
    return Response(body, media_type=CONTENT_TYPE_LATEST)

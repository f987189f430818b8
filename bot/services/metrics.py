"""The service's Prometheus metrics: what the endpoint and the scheduler count as they go, and the background
backlog read from the database when `/metrics` is scraped.

Several uvicorn workers are several processes, each counting on its own. With `PROMETHEUS_MULTIPROC_DIR` set
before the process starts, prometheus-client keeps every process's values in files in that folder and a scrape,
whichever worker answers it, adds them up (`unionbot serve --workers N` makes a fresh folder when it is not set).
The database gauges need none of that: every worker reads the same rows.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from datetime import datetime

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError

from storage import queries
from storage.db import Database

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"

MESSAGES = Counter("unionbot_messages", "Deliveries from WeChat to /wechat, by how they were answered.", ["outcome"])
MESSAGE_SECONDS = Histogram(
    "unionbot_message_seconds",
    "Time to answer a delivery to /wechat (WeChat gives up after 5 s).",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 5.0),
)
REMINDERS = Counter(
    "unionbot_reminders_queued",
    "Reminders, escalations and digests the scheduler queued for the outbox, by job.",
    ["job"],
)


class BacklogCollector(Collector):
    """Gauges computed at scrape time from one query (`storage.queries.backlog`)."""

    def __init__(self, db: Database, clock: Callable[[], datetime]) -> None:
        self._db = db
        self._clock = clock

    def describe(self) -> Iterable[Metric]:
        return []  # nothing to read when registered: the database is asked only at scrape time

    def collect(self) -> Iterable[Metric]:
        try:
            with self._db.transaction() as session:
                found = queries.backlog(session)
        except SQLAlchemyError:
            yield GaugeMetricFamily("unionbot_database_up", "1 when the scrape could read the database.", value=0)
            return
        now = self._clock()
        yield GaugeMetricFamily("unionbot_database_up", "1 when the scrape could read the database.", value=1)
        yield GaugeMetricFamily(
            "unionbot_outbox_pending", "Outbox messages waiting to be delivered (pending or sending).", found.waiting
        )
        yield GaugeMetricFamily("unionbot_outbox_failed", "Outbox messages that failed for good.", found.failed)
        oldest = (now - found.oldest_waiting_at).total_seconds() if found.oldest_waiting_at else 0.0
        yield GaugeMetricFamily(
            "unionbot_outbox_oldest_pending_age_seconds", "Age of the oldest message still waiting (0: none).", oldest
        )
        if found.last_tick is not None:
            yield GaugeMetricFamily(
                "unionbot_scheduler_last_tick_timestamp_seconds",
                "When the scheduler leader last finished a round (Unix time).",
                found.last_tick.timestamp(),
            )


def exposition(db: Database, clock: Callable[[], datetime]) -> bytes:
    """The text of one scrape: this process's metrics (or every process's, in multiprocess mode), then the backlog."""
    backlog = CollectorRegistry(auto_describe=False)
    backlog.register(BacklogCollector(db, clock))
    if os.environ.get(MULTIPROCESS_ENV):
        counted = CollectorRegistry()
        MultiProcessCollector(counted)  # type: ignore[no-untyped-call]
    else:
        counted = REGISTRY
    return generate_latest(counted) + generate_latest(backlog)

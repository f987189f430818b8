"""What an operator sees: one log line per message under a pseudonym, and `/metrics` as Prometheus reads it."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import select
from typer.testing import CliRunner

from bot.channel.observe import pseudonym
from bot.channel.signing import new_msg_id, text_xml
from bot.cli.main import app
from bot.services.scheduler import Scheduler
from config.settings import Settings
from storage import outbox
from storage.models import OutboxKind, OutboxMessage, OutboxStatus
from tests.harness import ACCOUNT, Clock, Service

OPENID = "oUnionChair-7f3c9a2b"


def scrape(service: Service) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = service.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_a_message_is_counted_timed_and_logged_under_a_pseudonym(
    service: Service, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    before = scrape(service)
    caplog.set_level(logging.INFO)
    reply = service.wechat.text(OPENID, "你好")
    assert reply.content is not None and "绑定" in reply.content
    after = scrape(service)

    replied = ("unionbot_messages_total", {"outcome": "replied"})
    assert value(after, replied[0], **replied[1]) == value(before, replied[0], **replied[1]) + 1
    assert value(after, "unionbot_message_seconds_count") == value(before, "unionbot_message_seconds_count") + 1

    lines = [record.getMessage() for record in caplog.records if record.name == "unionbot.messages"]
    assert len(lines) == 1
    fields = dict(part.split("=", 1) for part in lines[0].split()[1:])
    assert fields["user"] == pseudonym(settings.data_key, OPENID)
    assert len(fields["user"]) == 12
    assert fields["type"] == "text"
    assert fields["route"] == "binding.how_to_bind"
    assert fields["outcome"] == "replied"
    assert float(fields["ms"]) > 0
    assert not [record for record in caplog.records if OPENID in record.getMessage()]


def test_a_retry_and_a_forged_request_are_counted_apart(service: Service, caplog: pytest.LogCaptureFixture) -> None:
    before = scrape(service)
    caplog.set_level(logging.INFO)
    xml = text_xml(OPENID, "你好", new_msg_id(), ACCOUNT)
    service.wechat.deliver(xml)
    service.wechat.deliver(xml)
    signed, body = service.wechat.signer.sign(xml)
    assert service.wechat.post(body, params={**signed, "signature": "0" * 40}, sign=False).status_code == 403
    after = scrape(service)

    for outcome in ("replied", "retry", "rejected"):
        grew = value(after, "unionbot_messages_total", outcome=outcome) - value(
            before, "unionbot_messages_total", outcome=outcome
        )
        assert grew == 1, outcome
    outcomes = [
        record.getMessage().rsplit("outcome=", 1)[1] for record in caplog.records if record.name.endswith("messages")
    ]
    assert outcomes == ["replied", "retry"]


def test_the_backlog_and_the_scheduler_are_read_at_scrape_time(
    service: Service, settings: Settings, clock: Clock
) -> None:
    samples = scrape(service)
    assert value(samples, "unionbot_database_up") == 1
    assert value(samples, "unionbot_outbox_pending") == 0
    assert ("unionbot_scheduler_last_tick_timestamp_seconds", ()) not in samples

    db = service.services.db
    with db.transaction() as session:
        outbox.enqueue_text(session, key="t:1", openid="u1", content="一", now=clock() - timedelta(minutes=3))
        outbox.enqueue_text(session, key="t:2", openid="u2", content="二", now=clock())
        outbox.enqueue(session, key="t:3", openid="u3", kind=OutboxKind.TEXT, payload={"content": "三"}, now=clock())
        failed = session.exec(select(OutboxMessage).where(OutboxMessage.idempotency_key == "t:3")).one()
        failed.status = OutboxStatus.FAILED
    scheduler = Scheduler(db, settings, clock)
    scheduler.tick()
    scheduler.shutdown()

    samples = scrape(service)
    assert value(samples, "unionbot_outbox_pending") == 2
    assert value(samples, "unionbot_outbox_failed") == 1
    assert value(samples, "unionbot_outbox_oldest_pending_age_seconds") == 180
    assert value(samples, "unionbot_scheduler_last_tick_timestamp_seconds") == clock().timestamp()


COUNT_AND_MAYBE_SCRAPE = """
import sys
from bot.services import metrics
from storage.db import Database, utcnow

metrics.MESSAGES.labels(outcome="replied").inc()
if len(sys.argv) > 1:
    db = Database(sys.argv[1])
    sys.stdout.write(metrics.exposition(db, utcnow).decode())
    db.dispose()
"""


def test_with_several_workers_a_scrape_adds_up_every_process(tmp_path: Path, database_url: str) -> None:
    """Two processes count one message each; the second one's scrape shows both (PROMETHEUS_MULTIPROC_DIR)."""
    folder = tmp_path / "metrics"
    folder.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder)}
    run: dict[str, Any] = {"env": env, "cwd": tmp_path, "capture_output": True, "text": True, "check": True}
    subprocess.run([sys.executable, "-c", COUNT_AND_MAYBE_SCRAPE], **run)
    scraped = subprocess.run([sys.executable, "-c", COUNT_AND_MAYBE_SCRAPE, database_url], **run).stdout
    assert 'unionbot_messages_total{outcome="replied"} 2.0' in scraped
    assert "unionbot_outbox_pending 0.0" in scraped


def test_serve_leaves_uvicorns_access_log_off_and_gives_workers_a_metrics_folder(
    monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    calls: list[dict[str, Any]] = []

    def run(_app: str, **options: Any) -> None:
        calls.append({**options, "folder": os.environ.get("PROMETHEUS_MULTIPROC_DIR")})

    monkeypatch.setattr("bot.cli.serve.uvicorn.run", run)
    monkeypatch.setattr("logging.config.dictConfig", lambda _config: None)
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    runner = CliRunner()
    env = {"UNIONBOT_DATABASE_URL": database_url}
    assert runner.invoke(app, ["serve"], env=env).exit_code == 0
    pair_run = runner.invoke(app, ["serve", "--access-log", "--workers", "2"], env=env)
    if database_url.startswith("sqlite"):  # one process only: the scheduler's leader election needs PostgreSQL
        assert pair_run.exit_code == 2 and "SQLite serves one process" in pair_run.output and len(calls) == 1
        return
    assert pair_run.exit_code == 0

    single, pair = calls
    assert single["access_log"] is False and single["folder"] is None
    assert pair["access_log"] is True and pair["workers"] == 2
    assert pair["folder"] is not None and not Path(pair["folder"]).exists()  # made for the run, removed after
    assert "PROMETHEUS_MULTIPROC_DIR" not in os.environ
    assert single["log_config"]["root"]["handlers"] == ["unionbot"]  # workers log our lines too

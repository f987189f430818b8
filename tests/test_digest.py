"""The monthly staff digest: after the due day, once per staff member per period, with the month's figures."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlmodel import col, select

from bot.devtools.fake_wechat import FakeWechatServer
from bot.services.digest import send_monthly_digest
from config.settings import Settings
from storage.db import Database
from storage.identity import add_staff
from storage.models import OutboxMessage, WechatUser
from tests import staff_factories as f
from tests.harness import Service, running_service

# Ningbo: due day is 10 November for October's reports.
ON_DUE_DAY = datetime(2026, 11, 10, 15, 59, tzinfo=UTC)  # 23:59 local on the 10th
AFTER_DUE_DAY = datetime(2026, 11, 10, 16, 0, tzinfo=UTC)  # 00:00 local on the 11th
OCT = datetime(2026, 10, 15, 2, tzinfo=UTC)


@pytest.fixture
def svc(settings: Settings) -> Iterator[Service]:
    with running_service(settings, clock=lambda: AFTER_DUE_DAY) as running:
        yield running


@pytest.fixture
def staffed(db: Database) -> None:
    with db.transaction() as s:
        add_staff(s, "staff-a", name="甲干事", admin=False, now=OCT)
        add_staff(s, "staff-b", name="乙干事", admin=False, now=OCT)
        add_staff(s, "admin-1", name="管理员", admin=True, now=OCT)
        gone = add_staff(s, "staff-gone", name="离职", admin=False, now=OCT)
        gone.active = False
        company = f.enterprise(s, "甲公司")
        f.chair(s, company, "张主席")
        s.add(WechatUser(openid="staff-a", first_seen_at=OCT, last_message_at=AFTER_DUE_DAY - timedelta(hours=1)))


def seed(db: Database, settings: Settings) -> None:
    with db.transaction() as s:
        a = f.enterprise(s, "乙公司")
        f.enterprise(s, "丙公司")
        f.report(s, a, "2026-09", employees=90, members=80, new_members=2, dues_accrued=Decimal("1000"))
        f.report(s, a, "2026-10", employees=100, members=80, new_members=5, dues_accrued=Decimal("1000"))
        f.warning(s, a, OCT, state="resolved", level="较大", workers=9)
        f.warning(s, a, OCT - timedelta(days=40), state="verifying")
        f.application(s, a, OCT, data_key=settings.data_key, worker_name="赵六")


def _digests(db: Database) -> list[OutboxMessage]:
    with db.transaction() as s:
        query = select(OutboxMessage).where(col(OutboxMessage.idempotency_key).startswith("digest:"))
        return list(s.exec(query.order_by(col(OutboxMessage.id))).all())


@pytest.mark.usefixtures("staffed")
def test_nothing_before_the_due_day_has_passed(db: Database, settings: Settings) -> None:
    with db.transaction() as s:
        assert send_monthly_digest(s, settings, ON_DUE_DAY) == 0
    assert _digests(db) == []


@pytest.mark.usefixtures("staffed")
def test_queued_once_per_staff_member_per_period(db: Database, settings: Settings) -> None:
    with db.transaction() as s:
        assert send_monthly_digest(s, settings, AFTER_DUE_DAY) == 3
    for minute in range(1, 4):
        with db.transaction() as s:
            assert send_monthly_digest(s, settings, AFTER_DUE_DAY + timedelta(minutes=minute)) == 0
    keys = sorted(m.idempotency_key for m in _digests(db))
    assert keys == ["digest:2026-10:admin-1", "digest:2026-10:staff-a", "digest:2026-10:staff-b"]
    with db.transaction() as s:
        add_staff(s, "staff-new", name="新干事", admin=False, now=AFTER_DUE_DAY)
        assert send_monthly_digest(s, settings, AFTER_DUE_DAY + timedelta(hours=1)) == 1
    with db.transaction() as s:
        assert send_monthly_digest(s, settings, datetime(2026, 12, 10, 16, tzinfo=UTC)) == 4  # November's
    assert len(_digests(db)) == 8


@pytest.mark.usefixtures("staffed")
def test_the_digest_carries_the_months_figures(
    db: Database, settings: Settings, svc: Service, fake: FakeWechatServer
) -> None:
    seed(db, settings)
    with db.transaction() as s:
        send_monthly_digest(s, settings, AFTER_DUE_DAY)
    svc.services.outbox.drain()
    text = "\n".join(fake.state.texts("staff-a"))  # inside the 48-hour window: customer-service text
    assert "【2026年10月工作简报】" in text
    assert "已报 1 份 / 应报 3 份（截止时在册的已建会企业），报送率 33.3%，按时率 33.3%" in text
    assert "逾期未报 2 家" in text
    assert "甲公司（主席：张主席）" in text and "丙公司（主席：未绑定）" in text
    assert "月末职工人数：100人（+10人）" in text
    assert "月末会员人数：80人（持平）" in text
    assert "新增会员：5人（+3人）" in text
    assert "计提经费：1,000.00元（持平）" in text
    assert "应缴" not in text and "实缴" not in text  # the form asks 计提 and 上缴
    assert "受理 1 件，已调处 1 件，已化解 1 件" in text
    assert "调处率 100.0%（已调处 ÷ 受理），成功率 100.0%（已化解 ÷ 已调处）" in text
    assert "目前未办结 1 件，其中超过15天 1 件" in text
    assert "本月申请 1 件，目前待审 1 件" in text
    assert "2026年11月月报：12月10日前报送" in text
    assert "赵六" not in text and "330211" not in text  # no personal data in pushes

    templates = [c.body for c in fake.state.sent("staff-b") if c.body and "template_id" in c.body]
    assert len(templates) == 1  # outside the window: the template message with the headline figures
    data = templates[0]["data"]
    assert data["thing1"]["value"] == "2026年10月工作简报"
    assert data["thing2"]["value"] == "报送率33.3% 预警1件 帮扶1件"
    assert data["time3"]["value"] == "2026-11-11 00:00"


@pytest.mark.usefixtures("staffed")
def test_a_long_digest_goes_in_parts(db: Database, settings: Settings, svc: Service, fake: FakeWechatServer) -> None:
    with db.transaction() as s:
        for i in range(60):
            company = f.enterprise(s, f"第{i:02d}号某某街道长名称示范制造有限责任公司")
            f.chair(s, company, f"主席{i:02d}")
        send_monthly_digest(s, settings, AFTER_DUE_DAY)
    svc.services.outbox.drain()
    parts = fake.state.texts("staff-a")
    assert len(parts) >= 2
    assert all(len(part.encode()) <= settings.reply_max_bytes for part in parts)
    assert f"（简报第1/{len(parts)}条）" in parts[0]
    joined = "\n".join(parts)
    assert "逾期未报 61 家（列出前 20 家，发送“未报”查看全部）" in joined
    assert len(re.findall(r"^\d+\. .*（主席：", joined, flags=re.MULTILINE)) == 20
    assert "四、困难职工帮扶" in joined

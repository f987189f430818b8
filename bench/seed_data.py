"""Set-based seeding for the benchmark: COPY on PostgreSQL, one executemany per chunk on SQLite.

Two jobs: the bound chairs the load generator speaks as (`seed_users`), and the scale data set
(`seed_scale`): N enterprises with a chair each, 24 months of monthly reports (about 92% filed each month,
the rest 未报), dispute warnings and hardship applications, all with their submission rows. Figures are
deterministic (seeded random) so two runs measure the same data. Hardship's encrypted columns hold a
placeholder, not ciphertext: the benchmark aggregates them, never opens them.

Run on its own: `python -m bench.seed_data --url sqlite:///var/bench.sqlite3 --enterprises 10000`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import create_engine, text

from storage.db import Database

# The server the benchmark makes its databases on (and drops them from).
PG_ADMIN_URL = os.environ.get("UNIONBOT_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def pg_admin(statement: str) -> None:
    """One statement on the server outside a transaction (CREATE or DROP DATABASE)."""
    engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text(statement))
    finally:
        engine.dispose()


CHUNK = 50_000
ON_ROSTER_SINCE = datetime(2020, 1, 1, tzinfo=UTC)  # before every month seeded: every enterprise owes its reports
FILED_SHARE = 0.92
COMMUNITIES = ("青峙社区", "岩东社区", "新碶社区", "大碶社区", "霞浦社区", "柴桥社区", "春晓社区", "白峰社区")
CATEGORIES = ("劳动合同", "工资(含欠薪)", "工伤", "社会保险", "其它")
LEVELS = ("一般", "较大", "重大")
WARNING_STATES = ("submitted", "acknowledged", "mediating", "resolved", "closed")
HARDSHIP_STATES = ("submitted", "visited", "approved", "paid")
HARDSHIP_CATEGORIES = ("深度困难", "相对困难", "意外致困")


@dataclass(frozen=True)
class Seeded:
    enterprises: int
    reports: int
    warnings: int
    hardship: int
    seconds: float
    last_period: str
    periods: list[str]


def _sqlite_value(value: Any) -> Any:
    """What SQLAlchemy itself would bind on SQLite: naive UTC text for datetimes, floats for decimals."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return value


def _pg_value(value: Any) -> Any:
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return value


def _chunks(rows: Iterable[Sequence[Any]], size: int = CHUNK) -> Iterator[list[Sequence[Any]]]:
    chunk: list[Sequence[Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _convert(rows: Iterable[Sequence[Any]], convert: Callable[[Any], Any]) -> Iterator[Sequence[Any]]:
    """Rows with `convert` applied to the columns that need it, found from the first row (the generators below
    give every column one type), so millions of plain ints and strings are passed through untouched."""
    columns: list[int] | None = None
    for row in rows:
        if columns is None:
            columns = [i for i, v in enumerate(row) if isinstance(v, datetime | Decimal | list | dict)]
        if columns:
            values = list(row)
            for i in columns:
                values[i] = convert(values[i])
            yield values
        else:
            yield row


def bulk_insert(db: Database, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Insert rows set-wise, in one transaction: COPY on PostgreSQL, executemany on SQLite."""
    names = ", ".join(columns)
    count = 0
    raw = db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        if db.is_postgres:
            with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in _convert(rows, _pg_value):
                    copy.write_row(row)
                    count += 1
        else:
            cursor.execute("BEGIN")
            marks = ", ".join("?" for _ in columns)
            for chunk in _chunks(_convert(rows, _sqlite_value)):
                cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", chunk)
                count += len(chunk)
            cursor.execute("COMMIT")
        raw.commit()
    finally:
        raw.close()
    return count


def _reset_sequences(db: Database, tables: Sequence[str]) -> None:
    """After COPY with explicit ids, PostgreSQL's sequences must continue after the highest id."""
    if not db.is_postgres:
        return
    with db.engine.begin() as connection:
        for table in tables:
            connection.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                    f" (SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
                )
            )


def _max_id(db: Database, table: str) -> int:
    with db.engine.connect() as connection:
        return int(connection.execute(text(f"SELECT coalesce(max(id), 0) FROM {table}")).scalar_one())


def _credit_code(number: int) -> str:
    return f"9133{number:014d}"


def seed_users(db: Database, openids: Sequence[str], role: str = "chair") -> None:
    """Bound users for the load generator, each chair with an enterprise of its own."""
    now = datetime.now(UTC)
    first = _max_id(db, "enterprise") + 1
    with_company = role in ("chair", "warner")
    if with_company:
        bulk_insert(
            db,
            "enterprise",
            ("id", "credit_code", "name", "employees", "community", "has_union", "created_at", "updated_at"),
            (
                (
                    first + i,
                    _credit_code(900_000_000 + first + i),
                    f"压测企业{first + i}",
                    120,
                    COMMUNITIES[0],
                    True,
                    ON_ROSTER_SINCE,
                    now,
                )
                for i in range(len(openids))
            ),
        )
    member_first = _max_id(db, "member") + 1
    bulk_insert(
        db,
        "member",
        ("id", "openid", "role", "enterprise_id", "name", "active", "on_duty", "bound_at"),
        (
            (member_first + i, openid, role, first + i if with_company else None, openid, True, True, now)
            for i, openid in enumerate(openids)
        ),
    )
    _reset_sequences(db, ("enterprise", "member"))


def periods_before(now: datetime, months: int) -> list[str]:
    """The `months` report periods before the current month, oldest first ("YYYY-MM")."""
    year, month = now.year, now.month
    found = []
    for _ in range(months):
        month -= 1
        if month == 0:
            year, month = year - 1, 12
        found.append(f"{year:04d}-{month:02d}")
    return found[::-1]


REPORT_COLUMNS = (
    "id", "submission_id", "enterprise_id", "period", "revision", "is_latest", "submitted_by", "submitted_at",
    "employees", "members", "new_members", "lost_members", "payroll", "dues_accrued", "dues_remitted",
    "activities", "activity_participants", "disputes", "dispute_workers", "dispute_amount", "has_risk",
    "hardship_workers", "care_visits", "care_amount",
)  # fmt: skip
SUBMISSION_COLUMNS = ("id", "form_id", "receipt", "draft_key", "openid", "enterprise_id", "answers", "submitted_at")


def _seed_submissions(
    db: Database, form_id: str, prefix: str, first: int, filed: Iterable[tuple[int, datetime]]
) -> int:
    """The generic submission row each seeded record points at: one per (enterprise, time), ids from `first`."""
    rows: Iterator[tuple[Any, ...]] = (
        (first + i, form_id, f"{prefix}{first + i}", f"seed:{first + i}", f"seed-chair-{e:06d}", e, {}, at)
        for i, (e, at) in enumerate(filed)
    )
    return bulk_insert(db, "submission", SUBMISSION_COLUMNS, rows)


def seed_scale(db: Database, enterprises: int, months: int = 24, now: datetime | None = None) -> Seeded:
    """The scale data set (see the module docstring); ids start after what the database already holds."""
    began = time.perf_counter()
    now = now or datetime.now(UTC)
    rng = random.Random(20261125)
    first_enterprise = _max_id(db, "enterprise") + 1
    first_member = _max_id(db, "member") + 1
    ids = range(first_enterprise, first_enterprise + enterprises)
    sizes = {e: rng.randint(8, 800) for e in ids}
    community = {e: COMMUNITIES[e % len(COMMUNITIES)] for e in ids}
    bulk_insert(
        db,
        "enterprise",
        ("id", "credit_code", "name", "employees", "community", "has_union", "created_at", "updated_at"),
        (
            (e, _credit_code(e), f"示例企业{e:06d}有限公司", sizes[e], community[e], True, ON_ROSTER_SINCE, now)
            for e in ids
        ),
    )
    bulk_insert(
        db,
        "member",
        ("id", "openid", "role", "enterprise_id", "name", "active", "on_duty", "bound_at"),
        ((first_member + i, f"seed-chair-{e:06d}", "chair", e, f"主席{e}", True, True, now) for i, e in enumerate(ids)),
    )
    bulk_insert(
        db,
        "wechat_user",
        ("openid", "subscribed", "first_seen_at", "last_message_at", "messages_handled"),
        # Half wrote within the last two days (customer-service window open), half long ago.
        (
            (f"seed-chair-{e:06d}", True, now - timedelta(days=400), now - timedelta(hours=1 if e % 2 else 100), 30)
            for e in ids
        ),
    )
    periods = periods_before(now, months)
    filed = [(e, p) for p in periods for e in ids if rng.random() < FILED_SHARE]
    submission_first = _max_id(db, "submission") + 1
    report_first = _max_id(db, "monthly_report") + 1

    def reports() -> Iterator[tuple[Any, ...]]:
        for i, (e, p) in enumerate(filed):
            staff = sizes[e]
            members = staff * 9 // 10
            payroll = Decimal(staff * 6500)
            disputes = 1 if (e + i) % 97 == 0 else 0
            yield (
                report_first + i, submission_first + i, e, p, 1, True, f"seed-chair-{e:06d}", now,
                staff, members, (e + i) % 3, (e + i) % 2, payroll, payroll * Decimal("0.02"),
                payroll * Decimal("0.008"), (e + i) % 4, ((e + i) % 4) * 20, disputes, disputes * 12,
                Decimal(disputes * 30000), disputes == 1, (e + i) % 5, (e + i) % 3, Decimal((e + i) % 3 * 500),
            )  # fmt: skip

    _seed_submissions(db, "monthly_report", "Y", submission_first, ((e, now) for e, _period in filed))
    reported = bulk_insert(db, "monthly_report", REPORT_COLUMNS, reports())
    warnings = _seed_warnings(db, rng, list(ids), now, months, submission_first + len(filed))
    hardship = _seed_hardship(db, rng, list(ids), now, months, submission_first + len(filed) + warnings)
    _reset_sequences(
        db, ("enterprise", "member", "submission", "monthly_report", "dispute_warning", "hardship_application")
    )
    with db.engine.begin() as connection:
        connection.execute(text("ANALYZE"))
    return Seeded(enterprises, reported, warnings, hardship, time.perf_counter() - began, periods[-1], periods)


def _seed_warnings(db: Database, rng: random.Random, ids: list[int], now: datetime, months: int, first_sub: int) -> int:
    """About one warning per 20 enterprises over the period, spread over the months."""
    count = max(1, len(ids) // 20)
    chosen = [(rng.choice(ids), now - timedelta(days=rng.randint(1, months * 30))) for _ in range(count)]
    _seed_submissions(db, "dispute_warning", "W-s", first_sub, chosen)
    first = _max_id(db, "dispute_warning") + 1
    columns = (
        "id", "submission_id", "receipt", "enterprise_id", "reporter", "found_at", "place", "category", "workers",
        "amount", "description", "demands", "signs", "measures", "photos", "phone", "level", "computed_level",
        "level_reasons", "state", "created_at",
    )  # fmt: skip
    rows: Iterator[tuple[Any, ...]] = (
        (
            first + i,
            first_sub + i,
            f"W{first + i}",
            e,
            f"seed-chair-{e:06d}",
            at,
            "厂区",
            CATEGORIES[i % 5],
            5 + i % 40,
            Decimal(10000 * (i % 9)),
            "拖欠工资",
            "补发工资",
            [],
            "",
            [],
            "13812345678",
            LEVELS[i % 3],
            LEVELS[i % 3],
            [],
            WARNING_STATES[i % 5],
            at,
        )
        for i, (e, at) in enumerate(chosen)
    )
    return bulk_insert(db, "dispute_warning", columns, rows)


def _seed_hardship(db: Database, rng: random.Random, ids: list[int], now: datetime, months: int, first_sub: int) -> int:
    """About one application per 30 enterprises over the period."""
    count = max(1, len(ids) // 30)
    chosen = [(rng.choice(ids), now - timedelta(days=rng.randint(1, months * 30))) for _ in range(count)]
    _seed_submissions(db, "hardship", "H-s", first_sub, chosen)
    first = _max_id(db, "hardship_application") + 1
    columns = (
        "id", "submission_id", "receipt", "enterprise_id", "chair", "worker_name", "id_number_enc", "id_digest",
        "id_masked", "phone_enc", "category", "causes", "household_enc", "household_size", "annual_income",
        "rigid_expenses", "per_capita_monthly", "help_kind", "amount_requested", "description_enc", "photos",
        "consent_version", "consent_at", "duplicate_of", "state", "created_at", "updated_at",
    )  # fmt: skip
    rows: Iterator[tuple[Any, ...]] = (
        (
            first + i,
            first_sub + i,
            f"H{first + i}",
            e,
            f"seed-chair-{e:06d}",
            "张三",
            "seeded",
            f"{i:064d}",
            "110101********4514",
            "seeded",
            HARDSHIP_CATEGORIES[i % 3],
            [],
            "seeded",
            3,
            Decimal(30000),
            Decimal(5000),
            Decimal(694),
            "生活救助",
            Decimal(2000),
            "seeded",
            [],
            "v1",
            at,
            [],
            HARDSHIP_STATES[i % 4],
            at,
            at,
        )
        for i, (e, at) in enumerate(chosen)
    )
    return bulk_insert(db, "hardship_application", columns, rows)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True, help="a migrated database (unionbot db upgrade)")
    parser.add_argument("--enterprises", type=int, default=100_000)
    parser.add_argument("--months", type=int, default=24)
    args = parser.parse_args(argv)
    db = Database(args.url)
    try:
        seeded = seed_scale(db, args.enterprises, args.months)
    finally:
        db.dispose()
    print(seeded)


if __name__ == "__main__":
    main()

"""The work summary's charts: the monthly series read from the database (report rate, warnings by level and by the
month they were reported in Ningbo), the PNG pictures, and the error that names the missing font package."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from PIL import Image

from bot.services import charts, figures
from domain.enums import WarningLevel
from domain.normalize import parse_period
from storage.db import Database
from tests.conftest import make_settings
from tests.staff_factories import enterprise, report, warning

ZONE = ZoneInfo("Asia/Shanghai")
H1 = parse_period("2024H1", today=date(2024, 8, 1))
PNG = b"\x89PNG\r\n\x1a\n"


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=ZONE).astimezone(UTC)


def test_the_series_count_reports_by_month_and_warnings_by_level_in_local_months(
    db: Database, database_url: str
) -> None:
    with db.transaction() as session:
        unions = [enterprise(session, f"企业{n}") for n in range(4)]
        late = enterprise(session, "四月入册企业")
        enterprise(session, "未建会企业", has_union=False)
        for company in unions:
            company.created_at = local(2023, 12, 1)
        late.created_at = local(2024, 4, 20)  # owes April's report (due 10 May) and later ones
        for month, filed in {"2024-01": 4, "2024-02": 3, "2024-03": 1, "2024-05": 2}.items():
            for company in unions[:filed]:
                report(session, company, month)
        for created, level in [
            (local(2024, 1, 15), "一般"),
            (local(2024, 1, 31, 23, 30), "重大"),  # 15:30 UTC: still January in Ningbo
            (local(2024, 2, 1, 0, 30), "较大"),  # 31 January in UTC, February in Ningbo
            (local(2024, 4, 2), "一般"),
            (local(2024, 4, 3), "一般"),
            (local(2024, 6, 30, 23, 59), "重大"),
            (local(2024, 7, 1, 0, 1), "重大"),  # July: outside the period
            (local(2023, 12, 31, 23, 59), "一般"),  # outside the period
        ]:
            warning(session, unions[0], created, level=level)
    settings = make_settings(database_url, "http://127.0.0.1:9")
    with db.transaction() as session:
        # On 12 June the May reports are being collected: June's have not been asked for yet.
        series = figures.monthly_series(session, H1, settings, today=date(2024, 6, 12))
    assert series.months == ("2024-01", "2024-02", "2024-03", "2024-04", "2024-05", "2024-06")
    assert series.report_rate == (
        Decimal("100.0"),
        Decimal("75.0"),
        Decimal("25.0"),
        Decimal("0.0"),
        Decimal("40.0"),
        None,
    )
    assert series.warnings == {
        WarningLevel.GENERAL: (1, 0, 0, 2, 0, 0),
        WarningLevel.SERIOUS: (0, 1, 0, 0, 0, 0),
        WarningLevel.MAJOR: (1, 0, 0, 0, 0, 1),
    }


SERIES = charts.MonthlySeries(
    months=("2024-01", "2024-02", "2024-03"),
    report_rate=(Decimal("100.0"), Decimal("66.6"), None),
    warnings={WarningLevel.GENERAL: (1, 0, 2), WarningLevel.SERIOUS: (0, 1, 0), WarningLevel.MAJOR: (0, 0, 1)},
)


@pytest.mark.parametrize("draw", [charts.report_rate_png, charts.warning_levels_png])
def test_charts_are_pngs_the_width_of_the_text_block(draw: Callable[[charts.MonthlySeries], bytes]) -> None:
    png = draw(SERIES)
    assert png.startswith(PNG)
    with Image.open(io.BytesIO(png)) as image:
        assert image.size == (int(charts.SIZE_INCHES[0] * charts.DPI), int(charts.SIZE_INCHES[1] * charts.DPI))


def test_a_missing_cjk_font_stops_the_chart_and_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(charts, "CJK_FAMILIES", ("No Such CJK Sans",))
    with pytest.raises(charts.MissingFont, match=r"No Such CJK Sans.*apt-get install -y fonts-noto-cjk"):
        charts.report_rate_png(SERIES)

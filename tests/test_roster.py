"""The roster as federation IT staff load it: `unionbot org import` and `org add`, on both databases."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from openpyxl import Workbook
from sqlmodel import select
from typer.testing import CliRunner

from bot.cli.admin import org_app
from storage.db import Database
from storage.models import Enterprise
from tests.test_binding import HONGQI, XINGHE, credit_code

DATA = Path(__file__).parent / "data"
LVZHOU = credit_code("52110000500012345")
BEICHEN = credit_code("91440101MA5CXK8N2")

runner = CliRunner()
cli = typer.Typer()
cli.add_typer(org_app, name="org")


def run(database_url: str, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(cli, list(args), env={"UNIONBOT_DATABASE_URL": database_url})
    return result.exit_code, result.stdout, result.stderr


def roster(db: Database) -> dict[str, tuple[str, int, str, bool]]:
    with db.transaction() as session:
        rows = session.exec(select(Enterprise)).all()
    return {row.credit_code: (row.name, row.employees, row.community, row.has_union) for row in rows}


def test_csv_import_reports_added_and_each_rejected_row_with_its_reason(db: Database, database_url: str) -> None:
    status, out, _ = run(database_url, "org", "import", str(DATA / "roster.csv"))
    assert status == 1
    assert out.splitlines() == [
        "ignored columns: 序号",
        "roster.csv: 3 added, 0 updated, 0 unchanged, 5 rejected",
        "row 4: 企业名称：未填写",
        "row 5: 统一社会信用代码：“91310115MA1H7XY038”校验位不对",
        "row 6: 职工人数：“约50人”不是整数",
        f"row 7: 统一社会信用代码：{XINGHE} 与第 2 行重复",
        "row 9: 是否建会：“不知道”应为“是”或“否”",
    ]
    assert roster(db) == {
        XINGHE: ("星河科技有限公司", 120, "幸福社区", True),
        HONGQI: ("红旗机械厂", 1350, "光明社区", False),
        LVZHOU: ("绿洲餐饮有限公司", 0, "", False),
    }


def test_importing_the_same_file_again_changes_nothing(db: Database, database_url: str) -> None:
    run(database_url, "org", "import", str(DATA / "roster.csv"))
    with db.transaction() as session:
        stamps = {row.credit_code: row.updated_at for row in session.exec(select(Enterprise)).all()}
    _, out, _ = run(database_url, "org", "import", str(DATA / "roster.csv"))
    assert "roster.csv: 0 added, 0 updated, 3 unchanged, 5 rejected" in out
    with db.transaction() as session:
        assert {row.credit_code: row.updated_at for row in session.exec(select(Enterprise)).all()} == stamps


def test_an_edited_file_updates_only_what_changed_and_empty_cells_keep_values(
    db: Database, database_url: str, tmp_path: Path
) -> None:
    run(database_url, "org", "import", str(DATA / "roster.csv"))
    edited = tmp_path / "roster.csv"
    edited.write_text(
        "企业名称,统一社会信用代码,职工人数,所属社区,是否建会\n"
        f"星河科技有限公司,{XINGHE},125,,\n"
        f"红旗机械厂,{HONGQI},,,是\n"
        f"绿洲餐饮有限公司,{LVZHOU},,,\n",
        encoding="utf-8",
    )
    status, out, _ = run(database_url, "org", "import", str(edited))
    assert status == 0 and out.strip() == "roster.csv: 0 added, 2 updated, 1 unchanged, 0 rejected"
    assert roster(db)[XINGHE] == ("星河科技有限公司", 125, "幸福社区", True)
    assert roster(db)[HONGQI] == ("红旗机械厂", 1350, "光明社区", True)


def test_csv_saved_by_excel_in_gb18030_is_read(db: Database, database_url: str, tmp_path: Path) -> None:
    path = tmp_path / "名册.csv"
    path.write_bytes(f"企业名称,统一社会信用代码,是否建会\n红旗机械厂,{HONGQI},是\n".encode("gb18030"))
    status, out, _ = run(database_url, "org", "import", str(path))
    assert status == 0 and "1 added" in out
    assert roster(db) == {HONGQI: ("红旗机械厂", 0, "", True)}


def test_xlsx_import_below_a_title_row_with_english_headers(db: Database, database_url: str, tmp_path: Path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["幸福街道企业名册（2026年）"])
    sheet.append(["name", "credit_code", "employees", "community", "has_union", "联系人"])
    sheet.append(["星河科技有限公司", XINGHE.lower(), 120, "幸福社区", True, "张三"])
    sheet.append(["绿洲餐饮有限公司", LVZHOU, 8.0, "光明社区", "否", None])
    sheet.append([None, None, None, None, None, None])
    sheet.append(["红旗机械厂", HONGQI, 12.5, "光明社区", "是", None])
    sheet.append(["北辰物业服务有限公司", float(LVZHOU), 60, "光明社区", "是", None])
    sheet.append(["", BEICHEN, 60, "光明社区", "是", None])
    path = tmp_path / "roster.xlsx"
    workbook.save(path)
    status, out, _ = run(database_url, "org", "import", str(path))
    assert status == 1
    assert out.splitlines() == [
        "ignored columns: 联系人",
        "roster.xlsx: 2 added, 0 updated, 0 unchanged, 3 rejected",
        "row 6: employees：“12.5”不是整数",
        "row 7: credit_code：被存成了数字，已丢失位数；请把这一列设为文本格式后重新导入",
        "row 8: name：未填写",
    ]
    assert roster(db) == {
        XINGHE: ("星河科技有限公司", 120, "幸福社区", True),
        LVZHOU: ("绿洲餐饮有限公司", 8, "光明社区", False),
    }
    assert "0 added, 0 updated, 2 unchanged, 3 rejected" in run(database_url, "org", "import", str(path))[1]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("roster.txt", "企业名称,统一社会信用代码\n", "roster.txt: expected a .csv or .xlsx file"),
        ("roster.csv", "名称,代码\n星河,1\n", "no header row with 企业名称 (name) and 统一社会信用代码 (credit_code)"),
        ("roster.csv", "企业名称,name,统一社会信用代码\n", "columns given twice: name"),
        ("roster.xlsx", "not a workbook", "roster.xlsx: not a readable .xlsx workbook"),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_whole(
    db: Database, database_url: str, tmp_path: Path, name: str, content: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    status, out, err = run(database_url, "org", "import", str(path))
    assert status == 2 and err.startswith("unionbot: ") and message in err and out == ""
    assert roster(db) == {}


def test_a_rejected_file_leaves_the_roster_untouched(db: Database, database_url: str, tmp_path: Path) -> None:
    (tmp_path / "roster.csv").write_bytes((DATA / "roster.csv").read_bytes() + b"\xff\xfe")
    status, _, err = run(database_url, "org", "import", str(tmp_path / "roster.csv"))
    assert status == 2 and "neither UTF-8 nor GB18030" in err
    assert roster(db) == {}


def test_org_add_adds_then_updates_only_what_is_given(db: Database, database_url: str) -> None:
    add = ["org", "add", "--name", "红旗机械厂", "--credit-code", HONGQI.lower()]
    status, out, _ = run(database_url, *add, "--employees", "300", "--community", "光明社区", "--has-union")
    assert status == 0 and out.strip() == f"added 红旗机械厂 ({HONGQI})"
    assert run(database_url, *add)[1].strip() == f"unchanged 红旗机械厂 ({HONGQI})"
    status, out, _ = run(database_url, *add, "--employees", "320", "--no-union")
    assert status == 0 and out.strip() == f"updated 红旗机械厂 ({HONGQI})"
    assert roster(db) == {HONGQI: ("红旗机械厂", 320, "光明社区", False)}


def test_org_add_refuses_a_wrong_credit_code(db: Database, database_url: str) -> None:
    status, _, err = run(database_url, "org", "add", "--name", "红旗机械厂", "--credit-code", HONGQI[:17])
    assert status == 2 and "统一社会信用代码：“91330106MA27WP0K1”有 17 位，应为 18 位" in err
    assert roster(db) == {}


def test_org_remove_takes_an_enterprise_off_the_roster_once(db: Database, database_url: str) -> None:
    run(database_url, "org", "add", "--name", "红旗机械厂", "--credit-code", HONGQI, "--has-union")
    status, out, _ = run(database_url, "org", "remove", "--enterprise", HONGQI)
    assert status == 0 and out.startswith(f"removed 红旗机械厂 ({HONGQI}) as of ")
    with db.transaction() as session:
        first = session.exec(select(Enterprise)).one().removed_at
    assert first is not None
    assert run(database_url, "org", "remove", "--enterprise", HONGQI)[1] == out  # the date it left is kept
    status, _, err = run(database_url, "org", "remove", "--enterprise", "91110108MA01ABCD2H")
    assert status == 2 and "no enterprise with credit code" in err

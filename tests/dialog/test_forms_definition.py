"""Form definitions are validated when the service starts, with a message naming the file and the field."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.dialog.expressions import ExpressionError, compile_expression
from bot.dialog.forms import FormError, load_forms, parse_form
from bot.services.pages import split


def demo_like(**changes: Any) -> dict[str, Any]:
    form: dict[str, Any] = {
        "id": "demo",
        "title": "演示表单",
        "receipt_prefix": "D",
        "roles": ["chair"],
        "fields": [
            {"id": "employees", "type": "integer", "label": "职工人数"},
            {"id": "members", "type": "integer", "label": "会员人数"},
        ],
    }
    form.update(changes)
    return form


def field(**values: Any) -> dict[str, Any]:
    return {"id": "members", "type": "integer", **values}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ([field(id="employees"), field(id="employees")], "duplicate field ids ['employees']"),
        ([field(id="employees", show_if="members > 0"), field()], "show_if names ['members'], not an earlier field"),
        ([field(id="employees"), field(default="payroll * 2")], "default names ['payroll']"),
        ([field(id="employees", type="choice", options=["一"])], "needs at least two options"),
        ([field(id="employees", type="date2")], "type must be one of"),
        ([field(id="employees", min=10, max=1)], "min is greater than max"),
        ([field(id="employees", colour="red")], "unknown keys ['colour']"),
        ([field(id="employees", show_if="__import__('os')")], "only ['abs', 'dec', 'len', 'max', 'min', 'round2']"),
        ([field(id="employees", show_if="employees.__class__")], "only `name.field`"),
        ([field(id="employees", show_if="lambda: 1")], "Lambda is not allowed"),
        ([field(id="employees"), field(id="nobody_wrote_a_prompt")], "missing templates"),
        ([], "at least one field"),
    ],
)
def test_broken_definitions_are_refused_with_a_precise_message(fields: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(FormError) as raised:
        parse_form(demo_like(fields=fields), "broken.yaml")
    assert str(raised.value).startswith("broken.yaml") and message in str(raised.value)


def test_missing_top_level_keys_are_named() -> None:
    data = demo_like()
    del data["receipt_prefix"]
    with pytest.raises(FormError, match=r"broken\.yaml: missing or malformed 'receipt_prefix'"):
        parse_form(data, "broken.yaml")


def test_computed_fields_may_only_name_known_answers() -> None:
    data = demo_like(computed=[{"id": "rate", "expr": "members / staff"}])
    with pytest.raises(FormError, match=r"computed 'rate' names unknown \['staff'\]"):
        parse_form(data, "broken.yaml")


def test_the_shipped_forms_load(tmp_path: Path) -> None:
    assert "demo" in load_forms()
    (tmp_path / "a.yaml").write_text("id: x\ntitle: t\nreceipt_prefix: X\nroles: [chair]\nfields: []\n", "utf-8")
    with pytest.raises(FormError, match=r"a\.yaml: a form needs at least one field"):
        load_forms(tmp_path)


@pytest.mark.parametrize(
    ("source", "values", "expected"),
    [
        ("members > employees", {"members": 5, "employees": 3}, True),
        ("members > employees", {"members": None, "employees": 3}, False),
        ("round2(payroll * 0.02)", {"payroll": Decimal("12345.67")}, Decimal("246.91")),
        ("payroll * 0.02", {"payroll": None}, None),
        ("a / b if b else None", {"a": 1, "b": 0}, None),
        ("last.members + new - lost != members", {"last": {"members": 10}, "new": 2, "lost": 1, "members": 11}, False),
        ("category in ['工资', '工伤']", {"category": "工伤"}, True),
        ("ctx.month in [12, 1, 2]", {"ctx": {"month": 1}}, True),
        ("not has_fund or balance > 0", {"has_fund": False}, True),
    ],
)
def test_expressions_compute_with_missing_values_as_none(source: str, values: dict[str, Any], expected: Any) -> None:
    assert compile_expression(source).evaluate(values) == expected


@pytest.mark.parametrize("source", ["open('x')", "[x for x in y]", "a.b.c", "x[0]", "f'{x}'", "a ** 9999999"])
def test_expressions_refuse_anything_but_arithmetic_and_logic(source: str) -> None:
    with pytest.raises(ExpressionError):
        compile_expression(source)


@given(
    st.text(alphabet=st.sampled_from("工会经费abc123\n😀 "), max_size=3000), st.integers(min_value=8, max_value=2000)
)
def test_paging_split_keeps_every_character_within_the_byte_budget(text: str, budget: int) -> None:
    pages = split(text, budget)
    assert all(len(page.encode()) <= budget for page in pages)
    assert "".join("".join(page.split()) for page in pages) == "".join(text.split())

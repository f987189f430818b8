"""The pure parts of the warning: level rules from `config/warning_levels.yaml`, commands, the mediation day.

The case's moves are table-tested with the other workflows in `tests/test_workflows.py`."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from bot.dialog.forms import load_forms
from config.warning_levels import Facts, assess, level_rules, parse_rules
from domain.commands import split_command
from domain.enums import WarningLevel
from domain.warning_rules import MEDIATION_DAYS, VERB_WORDS, Command, Verb, mediation_day, parse_level, read_command

G, M, J = WarningLevel.GENERAL, WarningLevel.SERIOUS, WarningLevel.MAJOR


def facts(
    workers: int = 3, amount: str | None = None, signs: tuple[str, ...] = (), category: str = "劳动合同"
) -> Facts:
    return Facts(workers, Decimal(amount) if amount else None, frozenset(signs), category)


@pytest.mark.parametrize(
    ("case", "level", "tests"),
    [
        (facts(), G, []),
        (facts(workers=9), G, []),
        (facts(workers=10), M, ["workers"]),
        (facts(workers=29), M, ["workers"]),
        (facts(workers=30), J, ["workers"]),
        (facts(amount="99999.99"), G, []),
        (facts(amount="100000"), M, ["amount"]),
        (facts(workers=12, amount="200000"), M, ["workers", "amount"]),
        (facts(amount="500000"), J, ["amount"]),
        (facts(signs=("堵路",)), J, ["signs"]),
        (facts(signs=("老板失联",)), J, ["signs"]),
        (facts(signs=("停工怠工", "聚集")), J, ["signs"]),
        (facts(signs=("网络舆情",)), J, ["signs"]),
        (facts(signs=("过激言行",)), J, ["signs"]),
        (facts(workers=40, signs=("堵路", "老板失联")), J, ["workers", "signs", "signs"]),
    ],
)
def test_the_configured_rules_give_the_level_and_every_reason_of_it(case: Facts, level: str, tests: list[str]) -> None:
    result = assess(level_rules(), case)
    assert result.level == level
    assert [reason.test for reason in result.reasons] == tests


def test_a_reason_says_what_matched() -> None:
    [collective, absconded] = assess(level_rules(), facts(signs=("老板失联", "堵路", "聚集"))).reasons
    assert collective.matched == ("聚集", "堵路") and absconded.matched == ("老板失联",)
    [workers] = assess(level_rules(), facts(workers=31)).reasons
    assert (workers.value, workers.at_least) == (31, 30)


def test_every_sign_a_rule_names_is_an_option_of_the_form() -> None:
    signs = load_forms()["dispute_warning"].field("signs")
    assert level_rules().sign_names() <= set(signs.options)


def test_a_category_rule_and_a_changed_threshold_are_data() -> None:
    rules = parse_rules(
        "default: 一般\nlevels:\n  - {level: 较大, rules: [{workers: {at_least: 20}}, {category: {any_of: [工伤]}}]}\n"
    )
    assert assess(rules, facts(workers=12)).level == G
    assert assess(rules, facts(category="工伤")).level == M
    assert assess(rules, facts(workers=30)).level == M


@pytest.mark.parametrize(
    "text",
    [
        "default: 一般\nlevels: [{level: 较大, rules: [{workers: {at_least: 10}, amount: {at_least: 1}}]}]",
        "default: 一般\nlevels: [{level: 较大, rules: []}]",
        "default: 一般\nlevels: [{level: 特大, rules: [{workers: {at_least: 10}}]}]",
        "default: 一般\nlevels: [{level: 一般, rules: [{workers: {at_least: 10}}]}]",
        "default: 一般\nlevels: [{level: 较大, rules: [{workers: {more_than: 10}}]}]",
        "default: 一般\nlevels: [{level: 较大, rules: [{signs: {any_of: []}}]}]",
    ],
)
def test_malformed_rules_are_refused_when_loaded(text: str) -> None:
    with pytest.raises(ValidationError):
        parse_rules(text)


@given(
    workers=st.integers(min_value=1, max_value=100_000),
    amount=st.none() | st.decimals(min_value=0, max_value=10**9, places=2),
    signs=st.frozensets(st.sampled_from(["停工怠工", "聚集", "集体上访", "网络舆情", "堵路", "过激言行", "老板失联"])),
)
def test_more_workers_money_or_signs_never_lower_the_level(
    workers: int, amount: Decimal | None, signs: frozenset[str]
) -> None:
    order = [G, M, J]
    base = assess(level_rules(), Facts(workers, amount, signs, "其它"))
    more = assess(level_rules(), Facts(workers + 10, (amount or Decimal(0)) + 1000, signs | {"聚集"}, "其它"))
    assert order.index(more.level) >= order.index(base.level)
    assert (base.level == G) == (not base.reasons)


@pytest.mark.parametrize(
    ("started", "today", "day"),
    [
        (date(2026, 11, 25), date(2026, 11, 25), 1),
        (date(2026, 11, 25), date(2026, 12, 9), 15),
        (date(2026, 11, 25), date(2026, 12, 12), 18),
    ],
)
def test_mediation_day(started: date, today: date, day: int) -> None:
    assert mediation_day(started, today) == day
    assert MEDIATION_DAYS == 15


@given(st.dates(), st.integers(min_value=0, max_value=400))
def test_mediation_day_counts_from_one(started: date, elapsed: int) -> None:
    try:
        today = started + timedelta(days=elapsed)
    except OverflowError:
        return
    assert mediation_day(started, today) == elapsed + 1


def parse_command(text: str) -> Command | None:
    """A staff message read as routing reads it: the verb split off, then the case and the note."""
    said = split_command(text, VERB_WORDS, attached=True)
    return None if said is None else read_command(said)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("签收 W12", Command(Verb.ACKNOWLEDGE, "W12", "")),
        ("签收w12", Command(Verb.ACKNOWLEDGE, "W12", "")),
        ("签收 Ｗ１２", Command(Verb.ACKNOWLEDGE, "W12", "")),
        ("  未化解  W3  转仲裁 ", Command(Verb.FAIL, "W3", "转仲裁")),
        ("化解 W12 双方达成协议", Command(Verb.RESOLVE, "W12", "双方达成协议")),
        ("定级 W7 重大 人数增加", Command(Verb.RELEVEL, "W7", "重大 人数增加")),
        ("重新打开 W1 老板没付钱", Command(Verb.REOPEN, "W1", "老板没付钱")),
        ("核实情况后向老板反映", Command(Verb.VERIFY, None, "情况后向老板反映")),
        ("查看", Command(Verb.VIEW, None, "")),
        ("你好", None),
        ("W12 签收", None),
    ],
)
def test_parse_command(text: str, expected: Command | None) -> None:
    assert parse_command(text) == expected


@given(
    verb=st.sampled_from(list(Verb)),
    number=st.integers(min_value=1, max_value=10**9),
    gap=st.sampled_from(["", " ", "  ", "\u3000"]),
    note=st.text(alphabet="说明转仲裁企业已付款，。 0123", max_size=20),
)
def test_parse_command_reads_back_what_was_typed(verb: Verb, number: int, gap: str, note: str) -> None:
    command = parse_command(f"{verb.value}{gap}w{number} {note}")
    assert command == Command(verb, f"W{number}", note.strip())


@pytest.mark.parametrize(
    ("word", "level"), [("重大", J), ("较大", M), ("一般", G), (" 重大 ", J), ("特大", None), ("", None)]
)
def test_parse_level(word: str, level: WarningLevel | None) -> None:
    assert parse_level(word) == level

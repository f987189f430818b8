"""Forgiving parsers for answers typed on a phone: full-width digits, Chinese numerals, units, relative months.

Every parser is pure and raises only `ParseError`. Its `reason` names `templates/input/<reason>.j2` and its
`params` are that template's variables, so all wording stays with the other user-facing text.

One module on purpose (past 400 lines): every parser shares the same folding of what phones type (full-width
forms, Chinese numerals, trailing punctuation), and a field type is found here by its parser's name.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Literal

import cn2an
from stdnum.cn import ric, uscc
from stdnum.exceptions import InvalidChecksum, InvalidFormat, InvalidLength, ValidationError

from domain.periods import Month, Period, half_year


class ParseError(Exception):
    """The one error the form engine catches: `reason` picks the template, `params` fill it."""

    def __init__(self, reason: str, **params: object) -> None:
        super().__init__(reason, params)
        self.reason = reason
        self.params: dict[str, object] = params


# After NFKC: 。stays, ！～，； become ASCII. Question marks are kept: "是？" is a question, not an answer.
_TRAILING_NOISE = re.compile(r"[\s。.!~,;、]+$")


def _clean(text: str, example: str) -> str:
    """NFKC turns full-width digits and letters and ①② into ASCII; trailing punctuation is typing noise."""
    cleaned = _TRAILING_NOISE.sub("", unicodedata.normalize("NFKC", text).strip())
    if not cleaned:
        raise ParseError("empty", example=example)
    return cleaned


# ---------------------------------------------------------------------------------------------------------
# Numbers

# No real answer is longer, and the cap bounds the work cn2an's regular expressions can be made to do.
_MAX_NUMBER_LENGTH = 24
# A form never asks for more; past this, Decimal quantize would need more precision than the default context.
_LARGEST = 10**15
_CENT = Decimal("0.01")
_MINUS_SIGNS = ("-", "负", "−")
_THOUSANDS_SEPARATOR = re.compile(r"(?<=[0-9]),(?=[0-9]{3}(?![0-9]))")
_ARABIC = re.compile(r"([0-9]+(?:\.[0-9]+)?)([十百千]?)")
_BIG_UNIT = re.compile(r"(.+?)([万亿])")
_SCALE = {"": 1, "十": 10, "百": 100, "千": 1000, "万": 10**4, "亿": 10**8}
_NUMERAL_CHARS = frozenset("0123456789.点零〇一二两三四五六七八九十百千万亿幺壹贰叁肆伍陆柒捌玖拾佰仟廿")
_COUNT_UNITS = ("人次", "人", "名", "个", "次", "件", "家", "期", "位", "户", "天")


def _magnitude(digits: str) -> Decimal | None:
    """Exact value of an unsigned numeral, or None.

    cn2an turns "1.23456万" into int(12345.6) and cannot read "一点五万", so a trailing 万/亿 and plain
    Arabic numbers are scaled here with Decimal; cn2an reads everything else.
    """
    if len(digits) > _MAX_NUMBER_LENGTH:
        return None
    big = _BIG_UNIT.fullmatch(digits)
    # "一亿零一万" must go to cn2an whole: splitting off its 万 would scale 一亿零一.
    if big and "亿" not in big[1] and (big[2] == "亿" or "万" not in big[1]):
        rest = _magnitude(big[1])
        return None if rest is None else rest * _SCALE[big[2]]
    arabic = _ARABIC.fullmatch(digits)
    if arabic:
        return Decimal(arabic[1]) * _SCALE[arabic[2]]
    if len(digits.partition("点")[2]) > 16:
        return None  # cn2an would truncate the fraction and emit a warning
    try:
        value = cn2an.cn2an(digits, "smart")
    except (ValueError, KeyError, IndexError):  # cn2an's own failures on malformed numerals
        return None
    return Decimal(str(value))


def _number(text: str, *, shown: str, example: str) -> Decimal:
    """Parse a non-negative number; a negative one is rejected for what it is, not as garbage.

    `shown` is what the user typed, echoed in the error rather than the text left after stripping units.
    """
    negative = text.startswith(_MINUS_SIGNS)
    body = text[1:].strip() if negative else text
    digits = _THOUSANDS_SEPARATOR.sub("", body)
    value = _magnitude(digits) if digits and set(digits) <= _NUMERAL_CHARS else None
    if value is None:
        raise ParseError("not_a_number", text=shown.strip(), example=example)
    if negative:
        raise ParseError("negative", example=example)
    return value


def _check_bounds(value: Decimal, minimum: Decimal | int | None, maximum: Decimal | int | None) -> None:
    if minimum is not None and value < minimum:
        raise ParseError("too_small", limit=minimum)
    if maximum is not None and value > maximum:
        raise ParseError("too_large", limit=maximum)
    if value > _LARGEST:
        raise ParseError("too_large", limit=_LARGEST)


def _plain(value: Decimal) -> Decimal:
    """15000 rather than 15000.0 for 1.5万, 12345.6 rather than 12345.60000, as the chair would write it."""
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


def _strip_count_unit(text: str) -> str:
    for unit in _COUNT_UNITS:
        if text.endswith(unit):
            return text.removesuffix(unit).rstrip()
    return text


def parse_integer(text: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """Counts of people, events and so on, however the chair writes them: 12, １２, 十二, 1.2万, 12人."""
    value = _number(_strip_count_unit(_clean(text, "12")), shown=text, example="12")
    if value != value.to_integral_value():
        raise ParseError("not_integer", text=text.strip())
    _check_bounds(value, minimum, maximum)
    return int(value)


# A length of time: 3个月, 三个月, 半年, 一年半, 两周, 10天. Each unit in days or months (a month is no fixed
# number of days, so a months question refuses 两周 rather than guess, and a days question refuses 3个月).
_DURATION = re.compile(r"^(?P<count>.*?)(?P<half>半)?(?P<unit>个?半?月|年|个?(?:星期|礼拜)|周|天|日)(?P<and_half>半)?$")
_DURATION_UNITS: dict[str, tuple[Literal["month", "day"], int]] = {
    "月": ("month", 1),
    "年": ("month", 12),
    "周": ("day", 7),
    "星期": ("day", 7),
    "礼拜": ("day", 7),
    "天": ("day", 1),
    "日": ("day", 1),
}


def _not_whole(unit: Literal["month", "day"], text: str, example: str) -> ParseError:
    if unit == "month":
        return ParseError("duration_in_months", text=text.strip(), example=example)
    return ParseError("duration_in_days", text=text.strip(), example=example)


def parse_duration(text: str, *, unit: Literal["month", "day"]) -> int:
    """Whole months (or days) in a length of time; a bare number is counted in `unit`."""
    example = "3个月、半年" if unit == "month" else "10天、两周"
    cleaned = _clean(text, example).replace(" ", "")
    found = _DURATION.fullmatch(cleaned)
    if found is None:
        value = _number(cleaned, shown=text, example=example)
    else:
        word = found["unit"].lstrip("个")
        half_unit = word.startswith("半")  # 半个月, 三个半月
        word = word.removeprefix("半")
        said, scale = _DURATION_UNITS[word]
        if said != unit:
            raise _not_whole(unit, text, example)
        count = found["count"]
        if count in ("", "半") and (found["half"] or half_unit) and not found["and_half"]:
            value = Decimal("0.5")  # 半年, 半个月
        else:
            value = _number(count, shown=text, example=example) if count else Decimal(1)
            if found["half"] or half_unit or found["and_half"]:
                value += Decimal("0.5")  # 一年半, 三个半月
        value *= scale
    if value != value.to_integral_value():
        raise _not_whole(unit, text, example)
    if value < 1:
        raise ParseError("too_small", limit=1)
    return int(value)


def parse_decimal(text: str, *, minimum: Decimal | None = None, maximum: Decimal | None = None) -> Decimal:
    """Like parse_integer but fractions are allowed; the result is exact, never a float."""
    value = _number(_strip_count_unit(_clean(text, "12.5")), shown=text, example="12.5")
    _check_bounds(value, minimum, maximum)
    return _plain(value)


_CURRENCY_PREFIX = re.compile(r"^(?:人民币|RMB)\s*", re.IGNORECASE)
_YUAN_MARK = re.compile(r"^¥\s*|\s*(?:元整|元|块钱|块)$")


def parse_money(text: str, *, unit: Literal["yuan", "wan"]) -> Decimal:
    """An amount in 元, to the cent.

    The field's unit only applies to a bare number: 3万 is 30000 元 anywhere, and ¥ or a 元/块 suffix means
    元 even in a field labelled （万元）, because the chair said so.
    """
    example = "1234.56" if unit == "yuan" else "1.5"
    cleaned = _CURRENCY_PREFIX.sub("", _clean(text, example))
    body = _YUAN_MARK.sub("", cleaned)
    in_yuan = body != cleaned
    value = _number(body.strip(), shown=text, example=example)
    if unit == "wan" and not in_yuan and "万" not in body and "亿" not in body:
        value *= 10**4
    _check_bounds(value, None, None)
    if value != value.quantize(_CENT):
        raise ParseError("too_many_decimals", text=text.strip())
    return value.quantize(_CENT)


def parse_percent(text: str) -> Decimal:
    """A rate in percent: 2%, 百分之二 and a bare 2 all mean Decimal("2")."""
    cleaned = _clean(text, "2%")
    value = _number(cleaned.removeprefix("百分之").removesuffix("%").strip(), shown=text, example="2%")
    _check_bounds(value, None, 100)
    return _plain(value)


# ---------------------------------------------------------------------------------------------------------
# Yes / no and choices

# Exact matches only: "不是" contains "是", and 取消/确认 are the engine's commands, never answers.
_NO_WORDS = frozenset(
    {
        "否",
        "不是",
        "不",
        "没有",
        "无",
        "不要",
        "不需要",
        "不用",
        "不对",
        "不同意",
        "不可以",
        "不行",
        "不愿意",
        "没",
        "没有的",
        "n",
        "no",
        "0",
        "×",
        "✗",
    }
)
_YES_WORDS = frozenset(
    {
        "是",
        "是的",
        "对",
        "对的",
        "有",
        "有的",
        "要",
        "要的",
        "好",
        "好的",
        "需要",
        "同意",
        "可以",
        "行",
        "愿意",
        "嗯",
        "嗯嗯",
        "y",
        "yes",
        "ok",
        "1",
        "√",
        "✓",
    }
)


def parse_yes_no(text: str) -> bool:
    """Whole answers only: a sentence that merely contains 是 is asked again rather than guessed at."""
    key = _clean(text, "是").casefold()
    if key in _NO_WORDS:
        return False
    if key in _YES_WORDS:
        return True
    raise ParseError("not_yes_no", text=text.strip())


_CHOICE_NUMBER = re.compile(r"(?:第|选)?([0-9]+|[一二两三四五六七八九十]+)(?:个|项|条|种|号)?")
_NEGATIONS = ("不", "没", "非", "无")


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().casefold()


def _mentions(text: str, label: str) -> bool:
    """'我选工会主席' names an option; '不是' and '不是副主席' do not."""
    before, found, _ = text.partition(label)
    return bool(found) and not any(negation in before for negation in _NEGATIONS)


def _resolve_choice(item: str, options: Sequence[str]) -> int:
    labels = [_fold(option) for option in options]
    key = _fold(item)
    if key in labels:
        return labels.index(key)
    numbered = _CHOICE_NUMBER.fullmatch(key)
    if numbered:
        number = _magnitude(numbered[1])
        if number is not None and 1 <= number <= len(options):
            return int(number) - 1
        raise ParseError("unknown_choice", text=item, options=list(options))
    matches = [i for i, label in enumerate(labels) if label and (key in label or _mentions(key, label))]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise ParseError("ambiguous_choice", text=item, options=list(options), matches=[i + 1 for i in matches])
    raise ParseError("unknown_choice", text=item, options=list(options))


def parse_choice(text: str, options: Sequence[str]) -> int:
    """The 0-based index of the option named by its number (2, 二, ②, 第2个) or by (part of) its label."""
    return _resolve_choice(_clean(text, "1"), options)


_LIST_SEPARATOR = re.compile(r"[\s,、;]+")


def parse_multi_choice(text: str, options: Sequence[str]) -> list[int]:
    """Sorted unique 0-based indices; "13" means options 1 and 3 only when there are fewer than ten."""
    cleaned = _clean(text, "1,3")
    labels = [_fold(option) for option in options]
    if _fold(cleaned) in labels:
        return [labels.index(_fold(cleaned))]
    items = [item for item in _LIST_SEPARATOR.split(cleaned) if item]
    if len(options) < 10:
        items = [part for item in items for part in (item if re.fullmatch("[0-9]{2,}", item) else [item])]
    return sorted({_resolve_choice(item, options) for item in items})


# ---------------------------------------------------------------------------------------------------------
# Months, dates, times and periods

_CHINESE_NUMERAL = re.compile("[零〇一二两三四五六七八九十百千]+")
_RELATIVE_YEARS = {"今": 0, "去": -1, "前": -2, "明": 1}
_YEAR = r"(?P<year>(?:19|20)[0-9]{2}|[0-9]{2}|[今去前明])年"
_RELATIVE_MONTHS = {"本月": 0, "这个月": 0, "这月": 0, "当月": 0, "上月": 1, "上个月": 1, "上上月": 2, "上上个月": 2}
_MONTH_FORMS = (
    re.compile(rf"(?:{_YEAR})?(?P<month>[0-9]{{1,2}})月"),
    re.compile(r"(?P<year>(?:19|20)[0-9]{2})[-/.](?P<month>[0-9]{1,2})"),
    re.compile(r"(?P<year>(?:19|20)[0-9]{2})(?P<month>[0-9]{2})"),
)
_RELATIVE_DAYS = {"今天": 0, "今日": 0, "昨天": 1, "昨日": 1, "前天": 2, "大前天": 3}
_DATE_FORMS = (
    re.compile(r"(?P<year>(?:19|20)[0-9]{2})[-/.](?P<month>[0-9]{1,2})[-/.](?P<day>[0-9]{1,2})"),
    re.compile(r"(?P<year>(?:19|20)[0-9]{2})(?P<month>[0-9]{2})(?P<day>[0-9]{2})"),
    re.compile(rf"(?:{_YEAR})?(?P<month>[0-9]{{1,2}})月(?P<day>[0-9]{{1,2}})日?"),
    re.compile(r"(?P<day>[0-9]{1,2})日"),
)
_TIME = re.compile(
    r"(?<![0-9])(?P<part>凌晨|早上|早晨|上午|中午|下午|傍晚|晚上|夜里)?\s*(?P<hour>[0-9]{1,2})"
    r"(?::(?P<minute>[0-9]{2})(?::[0-9]{2})?|[点时](?:(?P<half>半)|(?P<minutes>[0-9]{1,2})分?|整)?)$"
)
# Hours below the threshold are read as afternoon: 中午1点 is 13:00, 中午11点 stays 11:00.
_AFTERNOON = {"中午": 11, "下午": 12, "傍晚": 12, "晚上": 12, "夜里": 12}
_CLOCK_SKEW = timedelta(minutes=5)
_QUARTER_NAMES = "一二三四"
_PERIOD_YEAR = r"(?:(?P<year>(?:19|20)[0-9]{2}|[0-9]{2}|[今去前明])年?)?"
_QUARTER = re.compile(_PERIOD_YEAR + r"(?:第?(?P<quarter>[1-4])季度?|Q(?P<q>[1-4]))")
_HALF = re.compile(_PERIOD_YEAR + r"(?:(?P<half>[上下])半年|H(?P<h>[12]))")
_WHOLE_YEAR = (re.compile(r"(?P<year>(?:19|20)[0-9]{2})年?"), re.compile(r"(?P<year>[0-9]{2}|[今去前明])年"))


def _arabize(text: str) -> str:
    """Chinese numerals to digits run by run: 二〇二四年十二月 → 2024年12月, 下午三点半 → 下午3点半.

    Not cn2an.transform: it warns on every run it cannot read and takes 十四点三十分 for a decimal.
    """

    def arabic(match: re.Match[str]) -> str:
        value = _magnitude(match[0])
        return match[0] if value is None else str(int(value))

    return _CHINESE_NUMERAL.sub(arabic, text)


def _compact(text: str) -> str:
    return re.sub(r"\s+", "", _arabize(text))


def _year_of(word: str, today: date) -> int:
    if word in _RELATIVE_YEARS:
        return today.year + _RELATIVE_YEARS[word]
    year = int(word)
    return 2000 + year if year < 100 else year


def _match_month(text: str, today: date) -> Month | None:
    """A bare month (6月) is the latest one not after today's month: report months are in the past."""
    compact = _compact(text).removesuffix("份")
    if compact in _RELATIVE_MONTHS:
        return Month.of(today).shift(-_RELATIVE_MONTHS[compact])
    for form in _MONTH_FORMS:
        match = form.fullmatch(compact)
        if match:
            month = int(match["month"])
            if not 1 <= month <= 12:
                raise ParseError("invalid_month", month=month)
            if match["year"] is None:
                return Month(today.year if month <= today.month else today.year - 1, month)
            return Month(_year_of(match["year"], today), month)
    return None


def parse_month(text: str, *, today: date) -> Month:
    """A report month: 2024-06, 2024年6月, 六月, 上个月, 去年十二月."""
    found = _match_month(_clean(text, "2024年6月"), today)
    if found is None:
        raise ParseError("unknown_month", text=text.strip())
    if found > Month.of(today):
        raise ParseError("month_in_future", year=found.year, month=found.month)
    return found


def _build_date(match: re.Match[str], today: date) -> date:
    day = int(match["day"])
    month_word, year_word = match.groupdict().get("month"), match.groupdict().get("year")
    if month_word is None:  # "3号": this month, or last month if the 3rd is still ahead
        year, month = today.year, today.month
        if day > today.day:
            year, month = Month(year, month).shift(-1)
    else:
        month = int(month_word)
        if year_word is not None:
            year = _year_of(year_word, today)
        else:
            year = today.year if (month, day) <= (today.month, today.day) else today.year - 1
    try:
        return date(year, month, day)
    except ValueError:
        raise ParseError("invalid_date", year=year, month=month, day=day) from None


def _match_date(text: str, today: date) -> date | None:
    compact = _compact(text).replace("号", "日")
    if compact in _RELATIVE_DAYS:
        return today - timedelta(days=_RELATIVE_DAYS[compact])
    for form in _DATE_FORMS:
        match = form.fullmatch(compact)
        if match:
            return _build_date(match, today)
    return None


def parse_date(text: str, *, today: date) -> date:
    """A past or present day: 2024-06-03, 6月3号, 3号, 昨天. A date without a year is the latest such date."""
    found = _match_date(_clean(text, "2024年6月3日"), today)
    if found is None:
        raise ParseError("unknown_date", text=text.strip())
    if found > today:
        raise ParseError("date_in_future", value=found)
    return found


def parse_expiry_date(text: str, *, today: date) -> date:
    """A day that may lie ahead (a contract's or a term's expiry); the year must be given, as a guess misleads."""
    compact = _compact(_clean(text, "2027年6月30日")).replace("号", "日")
    for form in _DATE_FORMS:
        match = form.fullmatch(compact)
        if match and match.groupdict().get("year"):
            return _build_date(match, today)
    raise ParseError("date_needs_year", text=text.strip())


def _clock(match: re.Match[str]) -> time:
    hour = int(match["hour"])
    minute = 30 if match["half"] else int(match["minute"] or match["minutes"] or 0)
    if match["part"] in _AFTERNOON and hour < _AFTERNOON[match["part"]]:
        hour += 12
    if hour > 23 or minute > 59:
        raise ParseError("invalid_time", hour=int(match["hour"]), minute=minute)
    return time(hour, minute)


def parse_datetime(text: str, *, now: datetime) -> datetime:
    """A past moment: a date, a time (下午3点 is today), or both; with the same tzinfo as `now`.

    Up to five minutes ahead of `now` is accepted, since the user's clock and ours differ a little.
    """
    cleaned = _arabize(_clean(text, "2024年6月3日 14:30"))
    clock = _TIME.search(cleaned)
    date_text = cleaned[: clock.start()].strip() if clock else cleaned
    day = _match_date(date_text, now.date()) if date_text else now.date()
    if day is None:
        raise ParseError("unknown_datetime", text=text.strip())
    value = datetime.combine(day, _clock(clock) if clock else time(0), tzinfo=now.tzinfo)
    if value > now + _CLOCK_SKEW:
        raise ParseError("datetime_in_future", value=value)
    return value


def _quarter_period(year: int, quarter: int) -> Period:
    first, last = Month(year, quarter * 3 - 2), Month(year, quarter * 3)
    return Period(first.first_day, last.last_day, f"{year}年第{_QUARTER_NAMES[quarter - 1]}季度")


def _started(build: Callable[[int, int], Period], year_word: str | None, number: int, today: date) -> Period:
    """Without a year, the latest such quarter or half that has started: 下半年 in March is last year's."""
    if year_word is not None:
        return build(_year_of(year_word, today), number)
    period = build(today.year, number)
    return period if period.start <= today else build(today.year - 1, number)


def _match_period(text: str, today: date) -> Period | None:
    month = _match_month(text, today)
    if month is not None:
        return month.period
    compact = _compact(text).upper()
    quarter = _QUARTER.fullmatch(compact)
    if quarter:
        return _started(_quarter_period, quarter["year"], int(quarter["quarter"] or quarter["q"]), today)
    half = _HALF.fullmatch(compact)
    if half:
        first = half["half"] == "上" or half["h"] == "1"
        return _started(half_year, half["year"], 1 if first else 2, today)
    for form in _WHOLE_YEAR:
        whole = form.fullmatch(compact)
        if whole:
            year = _year_of(whole["year"], today)
            return Period(date(year, 1, 1), date(year, 12, 31), f"{year}年")
    return None


def parse_period(text: str, *, today: date, default: Period | None = None) -> Period:
    """A statistics period: a month (本月, 2024-06), a quarter (一季度, 2024Q1), a half (上半年) or a year.

    The one resolver of period phrases (chat, CLI, summaries); an empty text means `default` when one is given.
    """
    if default is not None and not text.strip():
        return default
    found = _match_period(_clean(text, "2024年6月"), today)
    if found is None:
        raise ParseError("unknown_period", text=text.strip())
    if found.start > today:
        raise ParseError("period_in_future", label=found.label)
    return found


# ---------------------------------------------------------------------------------------------------------
# Identifiers and free text

_MOBILE = re.compile(r"1[3-9][0-9]{9}")


def parse_mobile(text: str) -> str:
    """Eleven digits; +86, spaces and hyphens come along when a number is copied from the contacts app."""
    digits = re.sub(r"[\s\-()]", "", _clean(text, "13812345678"))
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    if re.fullmatch("[0-9]+", digits) and len(digits) != 11:
        raise ParseError("mobile_wrong_length", length=len(digits))
    if not _MOBILE.fullmatch(digits):
        raise ParseError("invalid_mobile", text=text.strip())
    return digits


def parse_id_number(text: str) -> str:
    """An 18-character resident ID, upper-case X.

    Not `ric.validate`: it also looks the region code up in stdnum's table, which would turn away a chair
    whose county was created after that table, and it reports that and a bad birth date as one error.
    """
    number = ric.compact(re.sub(r"[\s\-]", "", _clean(text, "11010519491231002X")))
    if len(number) != 18:
        raise ParseError("id_wrong_length", length=len(number))
    if not re.fullmatch("[0-9]{17}[0-9X]", number):
        raise ParseError("id_invalid_format")
    if ric.calc_check_digit(number) != number[-1]:
        raise ParseError("id_bad_checksum")
    try:
        ric.get_birth_date(number)
    except ValidationError:
        raise ParseError("id_bad_birth_date", birth=number[6:14]) from None
    return number


def parse_credit_code(text: str) -> str:
    """A unified social credit code, upper-cased."""
    number = uscc.compact(_clean(text, "91110000600037341L"))
    try:
        return str(uscc.validate(number))
    except InvalidLength:
        raise ParseError("uscc_wrong_length", length=len(number)) from None
    except InvalidFormat:
        raise ParseError("uscc_invalid_format", text=number) from None
    except InvalidChecksum:
        raise ParseError("uscc_bad_checksum", text=number) from None


def mask_id_number(value: str) -> str:
    """For echoing an ID number back in a chat without exposing it."""
    if len(value) != 18:
        raise ValueError("mask_id_number expects an 18-character ID number")
    return f"{value[:6]}{'*' * 8}{value[-4:]}"


def mask_mobile(value: str) -> str:
    """For a mobile number in a file that leaves the system: the operator prefix and the last four digits."""
    if len(value) != 11:
        raise ValueError("mask_mobile expects an 11-digit mobile number")
    return f"{value[:3]}****{value[-4:]}"


def parse_text(text: str, *, max_length: int, min_length: int = 1) -> str:
    """A narrative answer, kept as typed: NFKC would rewrite the chair's own punctuation and digits."""
    stripped = text.strip()
    if len(stripped) < min_length:
        raise ParseError("too_short", min_length=min_length, length=len(stripped))
    if len(stripped) > max_length:
        raise ParseError("too_long", max_length=max_length, length=len(stripped))
    return stripped

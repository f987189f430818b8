"""Form definitions: `config/forms/*.yaml` loaded into frozen dataclasses and validated at start-up.

A form that names an unknown field in a condition, lacks a prompt template or has a choice without options
is refused when the service starts, never discovered by a chair halfway through a report.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml

from bot.dialog.expressions import Expression, ExpressionError, compile_expression
from bot.dialog.fields import Field, FieldType
from bot.services import render

FORMS_DIR = Path(__file__).resolve().parents[2] / "config" / "forms"
CONTEXT_SCOPES = frozenset({"last", "ctx"})  # last period's answers; values the capability supplies


class FormError(Exception):
    """A form definition that cannot run; the message names the file and the field."""


@dataclass(frozen=True)
class Computed:
    id: str
    label: str
    expr: Expression
    type: FieldType

    @property
    def as_field(self) -> Field:
        """Computed values are stored and shown like answers of their type."""
        return Field(self.id, self.type, self.label)


@dataclass(frozen=True)
class Form:
    id: str
    title: str
    receipt_prefix: str
    roles: frozenset[str]
    start_words: tuple[str, ...]
    menu_keys: tuple[str, ...]
    fields: tuple[Field, ...]
    computed: tuple[Computed, ...] = ()

    def field(self, field_id: str) -> Field:
        return next(f for f in self.fields if f.id == field_id)

    def index(self, field_id: str) -> int:
        return next(i for i, f in enumerate(self.fields) if f.id == field_id)

    def template(self, field_id: str, kind: str) -> str:
        return f"forms/{self.id}/{field_id}.{kind}.j2"


def _expression(raw: Any, where: str) -> Expression | None:
    if raw is None:
        return None
    try:
        return compile_expression(str(raw))
    except ExpressionError as exc:
        raise FormError(f"{where}: {exc}") from None


def _decimal(raw: Any) -> Decimal | None:
    return None if raw is None else Decimal(str(raw))


_FIELD_KEYS = {
    "id", "type", "label", "required", "min", "max", "unit", "options", "max_length", "min_count", "max_count",
    "show_if", "default", "warn_if", "stop_if", "sensitive", "fields", "future", "otherwise",
}  # fmt: skip


_UNITS: dict[FieldType, tuple[Literal["yuan", "wan", "month", "day"], ...]] = {
    FieldType.MONEY: ("yuan", "wan"),
    FieldType.DURATION: ("month", "day"),
}


def _unit(kind: FieldType, raw: Any, where: str) -> Literal["yuan", "wan", "month", "day"]:
    """Money is counted in 元 or 万元, a duration in months or days; the first is the default."""
    units = _UNITS.get(kind, ("yuan",))
    if raw is None:
        return units[0]
    for unit in units:
        if raw == unit:
            return unit
    raise FormError(f"{where}: unit must be one of {list(units)}")


def _field(raw: dict[str, Any], where: str) -> Field:
    unknown = set(raw) - _FIELD_KEYS
    if unknown:
        raise FormError(f"{where}: unknown keys {sorted(unknown)}")
    try:
        kind = FieldType(raw["type"])
    except (KeyError, ValueError):
        raise FormError(f"{where}: type must be one of {[t.value for t in FieldType]}") from None
    return Field(
        id=str(raw["id"]),
        type=kind,
        label=str(raw.get("label") or raw["id"]),
        required=bool(raw.get("required", True)),
        minimum=_decimal(raw.get("min")),
        maximum=_decimal(raw.get("max")),
        unit=_unit(kind, raw.get("unit"), where),
        options=tuple(str(o) for o in raw.get("options", ())),
        max_length=int(raw.get("max_length", 500)),
        min_count=int(raw.get("min_count", 0)),
        max_count=int(raw.get("max_count", 9)),
        show_if=_expression(raw.get("show_if"), f"{where}.show_if"),
        default=_expression(raw.get("default"), f"{where}.default"),
        warn_if=_expression(raw.get("warn_if"), f"{where}.warn_if"),
        stop_if=_expression(raw.get("stop_if"), f"{where}.stop_if"),
        otherwise=_expression(raw.get("otherwise"), f"{where}.otherwise"),
        sensitive=bool(raw.get("sensitive", False)),
        future=bool(raw.get("future", False)),
        fields=tuple(_field(sub, f"{where}.{sub.get('id', i)}") for i, sub in enumerate(raw.get("fields", ()))),
    )


def parse_form(data: dict[str, Any], source: str) -> Form:
    try:
        form_id = str(data["id"])
        fields = tuple(_field(raw, f"{source}: field {raw.get('id', i)!r}") for i, raw in enumerate(data["fields"]))
        computed = tuple(
            Computed(
                id=str(raw["id"]),
                label=str(raw.get("label") or raw["id"]),
                expr=_expression(raw["expr"], f"{source}: computed {raw['id']!r}") or compile_expression("None"),
                type=FieldType(raw.get("type", "decimal")),
            )
            for raw in data.get("computed", ())
        )
        form = Form(
            id=form_id,
            title=str(data["title"]),
            receipt_prefix=str(data["receipt_prefix"]),
            roles=frozenset(str(r) for r in data["roles"]),
            start_words=tuple(str(w) for w in data.get("start", ())),
            menu_keys=tuple(str(k) for k in data.get("menu_keys", ())),
            fields=fields,
            computed=computed,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise FormError(f"{source}: missing or malformed {exc}") from None
    validate(form, source)
    return form


def validate(form: Form, source: str) -> None:
    """Everything that can be checked before the first message: ids, references, templates, bounds."""
    ids = [f.id for f in form.fields] + [c.id for c in form.computed]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        raise FormError(f"{source}: duplicate field ids {sorted(duplicates)}")
    if not form.fields:
        raise FormError(f"{source}: a form needs at least one field")
    for position, field in enumerate(form.fields):
        where = f"{source}: field {field.id!r}"
        earlier = {f.id for f in form.fields[:position]} | CONTEXT_SCOPES
        if field.otherwise and field.show_if is None:
            raise FormError(f"{where}: otherwise needs a show_if (it is the answer while the question is hidden)")
        for name, expr in (("show_if", field.show_if), ("default", field.default), ("otherwise", field.otherwise)):
            if expr and not expr.names <= earlier:
                raise FormError(f"{where}: {name} names {sorted(expr.names - earlier)}, not an earlier field")
        if field.warn_if and not field.warn_if.names <= earlier | {field.id}:
            raise FormError(f"{where}: warn_if names {sorted(field.warn_if.names - earlier - {field.id})}")
        if field.stop_if and not field.stop_if.names <= earlier | {field.id}:
            raise FormError(f"{where}: stop_if names {sorted(field.stop_if.names - earlier - {field.id})}")
        if field.type in (FieldType.CHOICE, FieldType.MULTI_CHOICE) and len(field.options) < 2:
            raise FormError(f"{where}: a {field.type} field needs at least two options")
        if field.minimum is not None and field.maximum is not None and field.minimum > field.maximum:
            raise FormError(f"{where}: min is greater than max")
        if field.type is FieldType.GROUP:
            _validate_group(form, field, where)
        elif field.fields:
            raise FormError(f"{where}: only a group field has sub-fields")
        required = [form.template(field.id, "prompt")] + ([form.template(field.id, "warn")] if field.warn_if else [])
        required += [form.template(field.id, "stop")] if field.stop_if else []
        missing = [name for name in required if not render.exists(name)]
        if missing:
            raise FormError(f"{where}: missing templates {missing}")
    known = set(ids) | CONTEXT_SCOPES
    for item in form.computed:
        if not item.expr.names <= known:
            raise FormError(f"{source}: computed {item.id!r} names unknown {sorted(item.expr.names - known)}")


def _validate_group(form: Form, group: Field, where: str) -> None:
    if not group.fields:
        raise FormError(f"{where}: a group needs sub-fields")
    for sub in group.fields:
        conditions = (sub.show_if, sub.default, sub.warn_if, sub.stop_if, sub.otherwise)
        if sub.type in (FieldType.GROUP, FieldType.ATTACHMENTS) or any(conditions):
            raise FormError(f"{where}.{sub.id}: a group's sub-field is a plain question (no nesting or conditions)")
        if sub.type in (FieldType.CHOICE, FieldType.MULTI_CHOICE) and len(sub.options) < 2:
            raise FormError(f"{where}.{sub.id}: a {sub.type} field needs at least two options")
        prompt = form.template(f"{group.id}.{sub.id}", "prompt")
        if not render.exists(prompt):
            raise FormError(f"{where}.{sub.id}: missing templates [{prompt!r}]")


def load_forms(directory: Path = FORMS_DIR) -> dict[str, Form]:
    forms: dict[str, Form] = {}
    for path in sorted(directory.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        form = parse_form(data, path.name)
        if form.id in forms:
            raise FormError(f"{path.name}: form id {form.id!r} is defined twice")
        forms[form.id] = form
    return forms


@lru_cache(maxsize=1)
def shipped_forms() -> dict[str, Form]:
    """The forms in `config/forms`, read and validated once per process (at start-up, by the routes)."""
    return load_forms()

"""A tiny, safe expression language for forms: conditions (`show_if`), defaults, computed fields, warnings.

Forms are data, so they must not carry Python. Expressions are parsed with `ast` and only arithmetic,
comparisons, boolean logic, `x if c else y`, `in`, literals, answer names and a few functions are allowed;
anything else is refused when the form is loaded, not when a chair is halfway through it.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any


class ExpressionError(Exception):
    """An expression a form definition may not use; raised at load time."""


_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Mod: operator.mod,
}
_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}


def _round2(value: Any) -> Decimal:
    return Decimal(value).quantize(Decimal("0.01"))


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "min": min,
    "max": max,
    "abs": abs,
    "len": len,
    "round2": _round2,
    "dec": lambda value: Decimal(str(value)),
}
_ALLOWED = (
    ast.Expression,
    ast.BoolOp,
    ast.And,
    ast.Or,
    ast.UnaryOp,
    ast.Not,
    ast.USub,
    ast.BinOp,
    ast.Compare,
    ast.IfExp,
    ast.Call,
    ast.Name,
    ast.Load,
    ast.Constant,
    ast.List,
    ast.Tuple,
    ast.Attribute,
    *_BINARY,
    *_COMPARE,
)


@dataclass(frozen=True)
class Expression:
    source: str
    names: frozenset[str]
    _tree: ast.Expression

    def evaluate(self, values: Mapping[str, Any]) -> Any:
        """Missing answers are None; arithmetic on None yields None instead of failing mid-dialogue."""
        try:
            return _eval(self._tree.body, values)
        except (TypeError, ZeroDivisionError, ArithmeticError):
            return None


def compile_expression(source: str) -> Expression:
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"{source!r}: {exc.msg}") from None
    names: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED):
            raise ExpressionError(f"{source!r}: {type(node).__name__} is not allowed")
        if isinstance(node, ast.Call) and not (isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS):
            raise ExpressionError(f"{source!r}: only {sorted(_FUNCTIONS)} may be called")
        if isinstance(node, ast.Attribute) and (not isinstance(node.value, ast.Name) or node.attr.startswith("_")):
            raise ExpressionError(f"{source!r}: only `name.field` attribute access is allowed")
        if isinstance(node, ast.Name) and node.id not in _FUNCTIONS:
            names.add(node.id)
    return Expression(source, frozenset(names), tree)


def _eval(node: ast.AST, values: Mapping[str, Any]) -> Any:
    match node:
        case ast.Constant(value=value):
            return Decimal(str(value)) if isinstance(value, float) else value
        case ast.Name(id=name):
            return values.get(name)
        case ast.Attribute(value=ast.Name(id=name), attr=attr):
            scope = values.get(name)
            return scope.get(attr) if isinstance(scope, Mapping) else None
        case ast.List(elts=items) | ast.Tuple(elts=items):
            return [_eval(item, values) for item in items]
        case ast.UnaryOp(op=ast.Not(), operand=operand):
            return not _eval(operand, values)
        case ast.UnaryOp(op=ast.USub(), operand=operand):
            return -_eval(operand, values)
        case ast.BoolOp(op=ast.And(), values=parts):
            return all(_eval(part, values) for part in parts)
        case ast.BoolOp(op=ast.Or(), values=parts):
            return any(_eval(part, values) for part in parts)
        case ast.BinOp(left=left, op=op, right=right):
            return _BINARY[type(op)](_number(_eval(left, values)), _number(_eval(right, values)))
        case ast.Compare(left=left, ops=ops, comparators=rights):
            current = _eval(left, values)
            for comparison, right in zip(ops, rights, strict=True):
                other = _eval(right, values)
                if current is None or other is None:
                    return False
                if not _COMPARE[type(comparison)](_number(current), _number(other)):
                    return False
                current = other
            return True
        case ast.IfExp(test=test, body=body, orelse=orelse):
            return _eval(body, values) if _eval(test, values) else _eval(orelse, values)
        case ast.Call(func=ast.Name(id=name), args=args):
            return _FUNCTIONS[name](*(_eval(arg, values) for arg in args))
    raise ExpressionError(f"cannot evaluate {ast.dump(node)}")


def _number(value: Any) -> Any:
    return Decimal(value) if isinstance(value, int) and not isinstance(value, bool) else value

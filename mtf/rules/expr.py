"""Arithmetic operands such as ``sma_21 + 2 * atr``: fields and numbers with + - * / and ().

Parsed with Python's `ast` restricted to those node types, then compiled to a closure over the
fields' values; nothing is ever `eval`-ed.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from mtf.rules.fields import FieldRef, UnknownFieldError, parse_field
from mtf.rules.frame import Missing, View

_Eval = Callable[[View, int], "float | Missing"]


class ExpressionError(ValueError):
    pass


@dataclass(frozen=True)
class Expr:
    text: str
    fields: tuple[FieldRef, ...]
    fn: _Eval

    def evaluate(self, view: View, shift: int = 0) -> float | Missing:
        return self.fn(view, shift)

    def refs(self) -> Iterator[FieldRef]:
        return iter(self.fields)


def looks_like_expression(text: str) -> bool:
    return any(ch in text for ch in "+-*/()") and not text.lstrip("-").replace(".", "", 1).isdigit()


def parse_expression(text: str) -> Expr:
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        raise ExpressionError(f"cannot parse expression {text!r}") from None
    fields: list[FieldRef] = []
    fn = _compile(tree.body, fields, text)
    return Expr(text, tuple(fields), fn)


_BINOPS: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b if b != 0 else float("nan"),
}


def _compile(node: ast.expr, fields: list[FieldRef], text: str) -> _Eval:
    if (
        isinstance(node, ast.Constant)
        and isinstance(node.value, int | float)
        and not isinstance(node.value, bool)
    ):
        value = float(node.value)
        return lambda view, shift: value
    if isinstance(node, ast.Name):
        try:
            ref = parse_field(node.id)
        except UnknownFieldError as exc:
            raise ExpressionError(str(exc)) from None
        fields.append(ref)
        return lambda view, shift: view.value(ref, shift)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _compile(node.operand, fields, text)

        def negate(view: View, shift: int) -> float | Missing:
            v = inner(view, shift)
            return v if isinstance(v, Missing) else -v

        return negate
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        op = _BINOPS[type(node.op)]
        left = _compile(node.left, fields, text)
        right = _compile(node.right, fields, text)

        def binop(view: View, shift: int) -> float | Missing:
            a = left(view, shift)
            if isinstance(a, Missing):
                return a
            b = right(view, shift)
            if isinstance(b, Missing):
                return b
            return op(a, b)

        return binop
    raise ExpressionError(
        f"unsupported element in {text!r}: only fields, numbers, + - * / and parentheses"
    )

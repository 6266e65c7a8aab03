"""Writing an expression tree back as text, with as few parentheses as the grammar allows."""

from __future__ import annotations

from hs3jax.expr._ast import (
    Binary,
    Call,
    Const,
    Expr,
    Num,
    Ternary,
    Unary,
    Var,
    else_chain,
    left_spine,
)

__all__ = ["PRECEDENCE", "to_string"]

PRECEDENCE: dict[str, int] = {
    "?:": 1,
    "||": 2,
    "&&": 3,
    "==": 4,
    "===": 4,
    "!=": 4,
    "!==": 4,
    "<": 5,
    "<=": 5,
    ">": 5,
    ">=": 5,
    "+": 6,
    "-": 6,
    "*": 7,
    "/": 7,
    "unary": 8,
    "^": 9,
}
"""Binding strength of each operator (higher binds tighter); atoms are 10."""

_ATOM = 10


def to_string(expr: Expr, *, ifelse: bool = False) -> str:
    """Write ``expr`` in HS3 syntax; ``parse(to_string(e)) == e`` for every tree ``e``.

    Conditionals are written ``c ? a : b``, or HS3's ``ifelse(c, a, b)`` with ``ifelse=True``.
    Functions are written by their canonical names (``exp``, ``pow``, ``TMath::Gaus``...).
    """
    return _Printer(ifelse).fmt(expr)[0]


def _number(value: float) -> str:
    text = str(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value)
    return f"({text})" if value < 0 or text.startswith("-") else text


def _binary(op: str, left: str, left_prec: int, right: str, right_prec: int) -> tuple[str, int]:
    prec = PRECEDENCE[op]
    if op == "^":  # right-associative; the exponent may be a prefix expression
        return (
            f"{_paren(left, left_prec <= prec)}^{_paren(right, right_prec < PRECEDENCE['unary'])}",
            prec,
        )
    return f"{_paren(left, left_prec < prec)} {op} {_paren(right, right_prec <= prec)}", prec


def _paren(text: str, parens: bool) -> str:
    return f"({text})" if parens else text


class _Printer:
    def __init__(self, ifelse: bool) -> None:
        self.ifelse = ifelse

    def fmt(self, expr: Expr) -> tuple[str, int]:
        if isinstance(expr, Num):
            return _number(expr.value), _ATOM
        if isinstance(expr, Const):
            return expr.name, _ATOM
        if isinstance(expr, Var):
            return expr.name, _ATOM
        if isinstance(expr, Call):
            return f"{expr.function}({', '.join(self.fmt(a)[0] for a in expr.args)})", _ATOM
        if isinstance(expr, Unary):
            prec = PRECEDENCE["unary"]
            text, inner = self.fmt(expr.operand)
            return expr.op + _paren(text, inner < prec), prec
        if isinstance(expr, Binary):  # fold the left chain in a loop: no deep recursion
            base, chain = left_spine(expr)
            text, prec = self.fmt(base)
            for node in chain:
                text, prec = _binary(node.op, text, prec, *self.fmt(node.right))
            return text, prec
        if isinstance(expr, Ternary):
            ladder, last = else_chain(expr)
            text = self.fmt(last)[0]
            if self.ifelse:
                for step in reversed(ladder):
                    cond, true = self.fmt(step.condition)[0], self.fmt(step.if_true)[0]
                    text = f"ifelse({cond}, {true}, {text})"
                return text, _ATOM
            level = PRECEDENCE["?:"]
            steps = []
            for step in ladder:
                cond, cond_prec = self.fmt(step.condition)
                true, true_prec = self.fmt(step.if_true)
                steps.append(
                    f"{_paren(cond, cond_prec <= level)} ? {_paren(true, true_prec <= level)}"
                )
            return " : ".join([*steps, text]), level
        raise TypeError(f"not an expression: {expr!r}")

"""Expression trees as sympy expressions (for symbolic derivatives and simplification).

Comparisons and logical operators become ``Piecewise((1, condition), (0, True))`` and the
conditional becomes ``Piecewise((a, condition), (b, True))``, so ``sympy.diff`` works on every
expression (the derivative of a comparison is zero). Variables are real sympy symbols.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sympy

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
from hs3jax.expr._functions import APPROX_EQUAL_ULPS

__all__ = ["diff_sympy", "symbol", "to_sympy"]

_EPS64 = 2.0**-52

_Sym = Any  # sympy is untyped


def symbol(name: str) -> _Sym:
    """The sympy symbol that stands for variable ``name`` (real-valued)."""
    return sympy.Symbol(name, real=True)


def to_sympy(expr: Expr) -> _Sym:
    """Convert an expression tree into a sympy expression (never parses text)."""
    return _value(expr)


def diff_sympy(expr: Expr | _Sym, variable: str) -> _Sym:
    """The derivative of ``expr`` (a tree or a sympy expression) with respect to ``variable``."""
    sym = to_sympy(expr) if isinstance(expr, Expr) else expr
    return sympy.diff(sym, symbol(variable))


def _indicator(condition: _Sym) -> _Sym:
    return sympy.Piecewise((sympy.Integer(1), condition), (sympy.Integer(0), True))


def _approx_equal(a: _Sym, b: _Sym) -> _Sym:
    tolerance = sympy.Float(APPROX_EQUAL_ULPS * _EPS64)
    return sympy.Le(sympy.Abs(a - b), tolerance * sympy.Max(sympy.Abs(a), sympy.Abs(b)))


def _boolean(expr: Expr) -> _Sym:
    """``expr`` as a sympy boolean (for conditions): comparisons directly, others ``!= 0``."""
    return _as_boolean(_pair(expr))


def _as_boolean(pair: tuple[_Sym, _Sym | None]) -> _Sym:
    value, condition = pair
    return sympy.Ne(value, 0) if condition is None else condition


_COMPARE: dict[str, Callable[[_Sym, _Sym], _Sym]] = {
    "==": _approx_equal,
    "===": sympy.Eq,
    "!=": lambda a, b: sympy.Not(_approx_equal(a, b)),
    "!==": sympy.Ne,
    "<": sympy.Lt,
    "<=": sympy.Le,
    ">": sympy.Gt,
    ">=": sympy.Ge,
}

_ARITHMETIC: dict[str, Callable[[_Sym, _Sym], _Sym]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
    "^": sympy.Pow,
}


def _gaus(*args: _Sym) -> _Sym:
    x = args[0]
    mean = args[1] if len(args) > 1 else sympy.Integer(0)
    sigma = args[2] if len(args) > 2 else sympy.Integer(1)
    value = sympy.exp(-(((x - mean) / sigma) ** 2) / 2)
    if len(args) < 4:
        return value
    normalised = value / (sympy.sqrt(2 * sympy.pi) * sigma)
    return sympy.Piecewise((normalised, sympy.Ne(args[3], 0)), (value, True))


_FUNCTIONS: dict[str, Callable[..., _Sym]] = {
    "exp": sympy.exp,
    "log": sympy.log,
    "sqrt": sympy.sqrt,
    "abs": sympy.Abs,
    "pow": sympy.Pow,
    "min": sympy.Min,
    "max": sympy.Max,
    "sin": sympy.sin,
    "cos": sympy.cos,
    "tan": sympy.tan,
    "asin": sympy.asin,
    "acos": sympy.acos,
    "atan": sympy.atan,
    "atan2": sympy.atan2,
    "erf": sympy.erf,
    "erfc": sympy.erfc,
    "log10": lambda x: sympy.log(x, 10),
    "cosh": sympy.cosh,
    "sinh": sympy.sinh,
    "tanh": sympy.tanh,
    "floor": sympy.floor,
    "ceil": sympy.ceiling,
    "TMath::Gaus": _gaus,
}

_CONSTANTS: dict[str, _Sym] = {
    "TRUE": sympy.Integer(1),
    "FALSE": sympy.Integer(0),
    "PI": sympy.pi,
    "EULER": sympy.E,
}


def _value(expr: Expr) -> _Sym:
    return _pair(expr)[0]


def _pair(expr: Expr) -> tuple[_Sym, _Sym | None]:
    """The sympy value of ``expr`` and, for comparisons and logic, the sympy condition."""
    if isinstance(expr, Num):
        v = expr.value
        return (sympy.Integer(int(v)) if v.is_integer() else sympy.Float(v)), None
    if isinstance(expr, Const):
        condition = {"TRUE": sympy.true, "FALSE": sympy.false}.get(expr.name)
        return _CONSTANTS[expr.name], condition
    if isinstance(expr, Var):
        return symbol(expr.name), None
    if isinstance(expr, Unary):
        operand = _pair(expr.operand)
        if expr.op == "!":
            condition = sympy.Not(_as_boolean(operand))
            return _indicator(condition), condition
        return (-operand[0] if expr.op == "-" else operand[0]), None
    if isinstance(expr, Binary):  # fold the left chain in a loop: no deep recursion
        base, chain = left_spine(expr)
        acc = _pair(base)
        logic: list[_Sym] = []  # operands of a run of one logical operator, joined at once
        for i, node in enumerate(chain):
            right = _pair(node.right)
            if node.op in ("&&", "||"):
                logic = logic or [_as_boolean(acc)]
                logic.append(_as_boolean(right))
                if i + 1 == len(chain) or chain[i + 1].op != node.op:
                    condition = (sympy.And if node.op == "&&" else sympy.Or)(*logic)
                    acc, logic = (_indicator(condition), condition), []
            elif node.op in _ARITHMETIC:
                acc = _ARITHMETIC[node.op](acc[0], right[0]), None
            else:
                condition = _COMPARE[node.op](acc[0], right[0])
                acc = _indicator(condition), condition
        return acc
    if isinstance(expr, Ternary):  # an else-if ladder is one Piecewise
        ladder, last = else_chain(expr)
        pieces = [(_value(node.if_true), _boolean(node.condition)) for node in ladder]
        return sympy.Piecewise(*pieces, (_value(last), True)), None
    if isinstance(expr, Call):
        return _FUNCTIONS[expr.function](*(_value(a) for a in expr.args)), None
    raise TypeError(f"not an expression: {expr!r}")

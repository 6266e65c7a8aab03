"""Lowering expression trees to pure JAX functions.

The result is a function of positional arrays, one per variable, that broadcasts them against
each other and returns an array of their broadcast shape in the default float dtype (float64 when
``jax_enable_x64`` is on). It uses only ``jax.numpy`` operations on traced values, so it works under
``jit``, ``grad`` and ``vmap``; conditionals are ``jnp.where``, never Python ``if`` on values.

NaN-free gradients under conditionals: a branch that is not taken still gets evaluated, and an
operation whose derivative is infinite or NaN there (``sqrt(0)``, ``log(-1)``, ``1/0``,
``asin(2)``) would poison the gradient with ``0 * inf``. Inside the branches of ``c ? a : b``
(and sympy's ``Piecewise``), the inputs of ``sqrt``, ``log``, ``log10``, ``pow``/``^``, ``/``,
``asin``, ``acos``, ``atan2`` and ``TMath::Gaus``'s sigma are replaced by a safe value (1 or 0)
where the branch is not taken (the "double where" trick). Outside conditionals nothing is
replaced, so the usual IEEE values (NaN, inf) appear where the mathematics says so.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import reduce
from typing import Any

import jax
import jax.numpy as jnp
import jax.scipy.special as jsp
import numpy as np
from jax import lax

from hs3jax.errors import ExpressionError
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
from hs3jax.expr._printer import to_string

__all__ = ["to_jax"]

Array = jax.Array
Mask = Array | None
_MAX_INTEGER_POWER = 64


# -- shared pieces ---------------------------------------------------------------------------
def _guard(x: Array, mask: Mask, safe: float) -> Array:
    """``x`` where the branch is taken, ``safe`` elsewhere (no-op outside conditionals)."""
    return x if mask is None else jnp.where(mask, x, safe)


def _within(mask: Mask, condition: Array) -> Array:
    return condition if mask is None else mask & condition


def _const(value: float) -> Array:
    return jnp.asarray(value, dtype=float)


def _indicator(condition: Array) -> Array:
    return jnp.where(condition, 1.0, 0.0)


def _truth(value: Array) -> Array:
    return value != 0


def _approx_equal(a: Array, b: Array) -> Array:
    diff = jnp.abs(a - b)
    eps = float(np.finfo(diff.dtype).eps)
    tolerance: Array = APPROX_EQUAL_ULPS * eps * jnp.maximum(jnp.abs(a), jnp.abs(b))
    return diff <= tolerance


def _power(base: Array, exponent: Array, constant: float | None, mask: Mask) -> Array:
    if constant is not None and constant.is_integer() and abs(constant) <= _MAX_INTEGER_POWER:
        n = int(constant)
        return lax.integer_pow(base if n >= 0 else _guard(base, mask, 1.0), n)
    if constant == 0.5:
        return jnp.sqrt(_guard(base, mask, 1.0))
    return jnp.power(_guard(base, mask, 1.0), exponent)


def _check_names(
    variables: Sequence[str], used: set[str] | frozenset[str], what: str
) -> tuple[str, ...]:
    if isinstance(variables, str):
        raise TypeError("variables must be a sequence of names, not one string")
    names = tuple(variables)
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"variables named more than once: {', '.join(duplicates)}")
    missing = sorted(used - set(names))
    if missing:
        raise ExpressionError(
            f"{what} uses variables that are not among the arguments",
            expected=f"only the variables {list(names)}",
            found=", ".join(missing),
        )
    return names


def _make_function(
    names: tuple[str, ...], evaluate: Callable[[dict[str, Array]], Array], text: str
) -> Callable[..., Array]:
    def function(*args: Any) -> Array:
        if len(args) != len(names):
            raise TypeError(
                f"expected {len(names)} arguments ({', '.join(names)}), got {len(args)}"
            )
        arrays = [jnp.asarray(a, dtype=float) for a in args]
        out = jnp.asarray(evaluate(dict(zip(names, arrays, strict=True))), dtype=float)
        shape = jnp.broadcast_shapes(out.shape, *(a.shape for a in arrays))
        return jnp.broadcast_to(out, shape)

    function.__name__ = "expression"
    function.__qualname__ = "expression"
    function.__doc__ = f"Evaluate ``{text}`` at ({', '.join(names)})."
    return function


# -- trees -------------------------------------------------------------------------------------
def to_jax(expr: Expr, variables: Sequence[str]) -> Callable[..., Array]:
    """Compile ``expr`` into a pure JAX function of the arrays of ``variables``, in that order.

    Every variable of ``expr`` must be in ``variables`` (extra ones are allowed and broadcast
    into the result's shape). Comparisons and logical operators give 1.0 or 0.0; ``c ? a : b``
    takes ``a`` where ``c != 0``, and gradients through the branch not taken are zero, not NaN
    (see the module docstring). Raises :class:`~hs3jax.errors.ExpressionError` for a variable
    that is not among ``variables``.
    """
    text = to_string(expr)
    names = _check_names(variables, expr.variables, f"expression {text!r}")

    def evaluate(env: dict[str, Array]) -> Array:
        return _TreeLowering(env).value(expr, None)

    return _make_function(names, evaluate, text)


def _constant_value(expr: Expr) -> float | None:
    if isinstance(expr, Num | Const):
        return expr.value
    if isinstance(expr, Unary) and expr.op in "+-":
        inner = _constant_value(expr.operand)
        if inner is not None:
            return -inner if expr.op == "-" else inner
    return None


def _min(args: list[Array], mask: Mask) -> Array:
    return reduce(jnp.minimum, args)


def _max(args: list[Array], mask: Mask) -> Array:
    return reduce(jnp.maximum, args)


def _gaus(args: list[Array], mask: Mask) -> Array:
    x = args[0]
    mean = args[1] if len(args) > 1 else _const(0.0)
    sigma = _guard(args[2], mask, 1.0) if len(args) > 2 else _const(1.0)
    value = jnp.exp(-0.5 * lax.integer_pow((x - mean) / sigma, 2))
    if len(args) < 4:
        return value
    normalised = value / (math.sqrt(2.0 * math.pi) * sigma)
    return jnp.where(_truth(args[3]), normalised, value)


def _unary(
    function: Callable[[Array], Array], safe: float | None = None
) -> Callable[[list[Array], Mask], Array]:
    def apply(args: list[Array], mask: Mask) -> Array:
        x = args[0] if safe is None else _guard(args[0], mask, safe)
        return function(x)

    return apply


_FUNCTIONS: dict[str, Callable[[list[Array], Mask], Array]] = {
    "exp": _unary(jnp.exp),
    "log": _unary(jnp.log, 1.0),
    "sqrt": _unary(jnp.sqrt, 1.0),
    "abs": _unary(jnp.abs),
    "min": _min,
    "max": _max,
    "sin": _unary(jnp.sin),
    "cos": _unary(jnp.cos),
    "tan": _unary(jnp.tan),
    "asin": _unary(jnp.arcsin, 0.0),
    "acos": _unary(jnp.arccos, 0.0),
    "atan": _unary(jnp.arctan),
    "atan2": lambda a, mask: jnp.arctan2(a[0], _guard(a[1], mask, 1.0)),
    "erf": _unary(jsp.erf),
    "erfc": _unary(jsp.erfc),
    "log10": _unary(jnp.log10, 1.0),
    "cosh": _unary(jnp.cosh),
    "sinh": _unary(jnp.sinh),
    "tanh": _unary(jnp.tanh),
    "floor": _unary(jnp.floor),
    "ceil": _unary(jnp.ceil),
    "TMath::Gaus": _gaus,
}

_COMPARE: dict[str, Callable[[Array, Array], Array]] = {
    "==": _approx_equal,
    "===": lambda a, b: a == b,
    "!=": lambda a, b: ~_approx_equal(a, b),
    "!==": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


class _TreeLowering:
    def __init__(self, env: dict[str, Array]) -> None:
        self.env = env

    def value(self, expr: Expr, mask: Mask) -> Array:
        if isinstance(expr, Num | Const):
            return _const(expr.value)
        if isinstance(expr, Var):
            return self.env[expr.name]
        if isinstance(expr, Unary):
            operand = self.value(expr.operand, mask)
            if expr.op == "-":
                return -operand
            if expr.op == "!":
                return _indicator(~_truth(operand))
            return operand
        if isinstance(expr, Binary):  # fold the left chain in a loop: no deep recursion
            base, chain = left_spine(expr)
            result = self.value(base, mask)
            for node in chain:
                result = self.binary(node, result, self.value(node.right, mask), mask)
            return result
        if isinstance(expr, Ternary):  # an else-if ladder in a loop: no deep recursion
            ladder, last = else_chain(expr)
            rest = mask
            steps: list[tuple[Array, Array]] = []
            for step in ladder:
                taken = _truth(self.value(step.condition, rest))
                steps.append((taken, self.value(step.if_true, _within(rest, taken))))
                rest = _within(rest, ~taken)
            result = self.value(last, rest)
            for taken, value in reversed(steps):
                result = jnp.where(taken, value, result)
            return result
        if isinstance(expr, Call):
            args = [self.value(a, mask) for a in expr.args]
            if expr.function == "pow":
                return _power(args[0], args[1], _constant_value(expr.args[1]), mask)
            return _FUNCTIONS[expr.function](args, mask)
        raise TypeError(f"not an expression: {expr!r}")  # pragma: no cover

    @staticmethod
    def binary(expr: Binary, left: Array, right: Array, mask: Mask) -> Array:
        op = expr.op
        if op == "+":
            return left + right
        if op == "-":
            return left - right
        if op == "*":
            return left * right
        if op == "/":
            return left / _guard(right, mask, 1.0)
        if op == "^":
            return _power(left, right, _constant_value(expr.right), mask)
        if op == "&&":
            return _indicator(_truth(left) & _truth(right))
        if op == "||":
            return _indicator(_truth(left) | _truth(right))
        return _indicator(_COMPARE[op](left, right))

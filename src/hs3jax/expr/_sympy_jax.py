"""Lowering sympy expressions (the derivatives of :func:`~hs3jax.expr.diff_sympy`) to pure JAX
functions, with the conventions of :mod:`hs3jax.expr._jax` (safe inputs inside ``Piecewise``
branches). Kept apart from the tree lowering so that ``import hs3jax`` does not import sympy
(0.23 s); models never need it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import reduce
from typing import Any

import jax.numpy as jnp
import jax.scipy.special as jsp
import sympy

from hs3jax.errors import ExpressionError
from hs3jax.expr._jax import (
    Array,
    Mask,
    _check_names,
    _const,
    _guard,
    _indicator,
    _make_function,
    _max,
    _min,
    _power,
    _truth,
    _unary,
    _within,
)

__all__ = ["to_jax_from_sympy"]


def to_jax_from_sympy(sym: Any, variables: Sequence[str]) -> Callable[..., Array]:
    """Compile a sympy expression (e.g. from :func:`diff_sympy`) into a pure JAX function.

    Walks the sympy tree and accepts only a whitelist of node types: numbers, symbols (matched to
    ``variables`` by name), ``Add``, ``Mul``, ``Pow``, ``Piecewise``, relations and ``And``/
    ``Or``/``Not``, and the functions of the expression language together with those their
    derivatives produce (``sign``, ``Heaviside``, ``DiracDelta`` taken as 0, ``sec``, ...).
    Anything else raises :class:`~hs3jax.errors.ExpressionError`.
    """
    if isinstance(sym, int | float) and not isinstance(sym, bool):
        sym = sympy.Float(sym)
    if not isinstance(sym, sympy.Basic):
        raise TypeError(f"expected a sympy expression, got {type(sym).__name__}")
    text = str(sym)
    used = {s.name for s in sym.free_symbols}
    names = _check_names(variables, used, f"sympy expression {text!r}")
    _SympyLowering.check(sym)

    def evaluate(env: dict[str, Array]) -> Array:
        return _SympyLowering(env).value(sym, None)

    return _make_function(names, evaluate, text)


_SYMPY_FUNCTIONS: dict[Any, Callable[[list[Array], Mask], Array]] = {
    sympy.exp: _unary(jnp.exp),
    sympy.log: _unary(jnp.log, 1.0),
    sympy.Abs: _unary(jnp.abs),
    sympy.sign: _unary(jnp.sign),
    sympy.sin: _unary(jnp.sin),
    sympy.cos: _unary(jnp.cos),
    sympy.tan: _unary(jnp.tan),
    sympy.cot: _unary(lambda x: 1.0 / jnp.tan(x)),
    sympy.sec: _unary(lambda x: 1.0 / jnp.cos(x)),
    sympy.csc: _unary(lambda x: 1.0 / jnp.sin(x)),
    sympy.asin: _unary(jnp.arcsin, 0.0),
    sympy.acos: _unary(jnp.arccos, 0.0),
    sympy.atan: _unary(jnp.arctan),
    sympy.atan2: lambda a, mask: jnp.arctan2(a[0], _guard(a[1], mask, 1.0)),
    sympy.sinh: _unary(jnp.sinh),
    sympy.cosh: _unary(jnp.cosh),
    sympy.tanh: _unary(jnp.tanh),
    sympy.asinh: _unary(jnp.arcsinh),
    sympy.acosh: _unary(jnp.arccosh, 2.0),
    sympy.atanh: _unary(jnp.arctanh, 0.0),
    sympy.erf: _unary(jsp.erf),
    sympy.erfc: _unary(jsp.erfc),
    sympy.floor: _unary(jnp.floor),
    sympy.ceiling: _unary(jnp.ceil),
    sympy.Min: _min,
    sympy.Max: _max,
    sympy.Heaviside: lambda a, mask: jnp.heaviside(a[0], a[1] if len(a) > 1 else 0.5),
    sympy.DiracDelta: lambda a, mask: jnp.zeros_like(a[0]),
}
_PIECEWISE_CONSTANT = (sympy.floor, sympy.ceiling, sympy.sign, sympy.Heaviside)

_RELATIONS: dict[str, Callable[[Array, Array], Array]] = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _is_zero_derivative(sym: Any) -> bool:
    """``Derivative(floor(x), x)`` and the like: zero almost everywhere."""
    return isinstance(sym, sympy.Derivative) and sym.expr.func in _PIECEWISE_CONSTANT


class _SympyLowering:
    def __init__(self, env: dict[str, Array]) -> None:
        self.env = env

    @staticmethod
    def check(sym: Any) -> None:
        """Refuse a tree with a node type outside the whitelist, before tracing anything."""
        stack = [sym]
        while stack:
            node = stack.pop()
            if _is_zero_derivative(node):
                continue
            if not _SympyLowering.allowed(node):
                raise ExpressionError(
                    "sympy expression contains an operation hs3jax cannot lower to JAX",
                    expected="numbers, symbols, + * ^, Piecewise, relations, And/Or/Not and "
                    "the functions " + ", ".join(sorted(f.__name__ for f in _SYMPY_FUNCTIONS)),
                    found=f"{type(node).__name__}: {node}",
                )
            stack.extend(node.args)

    @staticmethod
    def allowed(node: Any) -> bool:
        if node.is_Symbol or node.is_NumberSymbol:
            return True
        if node.is_Number:
            return bool(node.is_finite) or node is sympy.nan or node in (sympy.oo, -sympy.oo)
        if node.func in _SYMPY_FUNCTIONS:
            return True
        return isinstance(
            node,
            sympy.Add
            | sympy.Mul
            | sympy.Pow
            | sympy.Piecewise
            | sympy.core.relational.Relational
            | sympy.And
            | sympy.Or
            | sympy.Not
            | sympy.logic.boolalg.BooleanTrue
            | sympy.logic.boolalg.BooleanFalse
            | sympy.functions.elementary.piecewise.ExprCondPair,
        )

    def value(self, sym: Any, mask: Mask) -> Array:
        if sym.is_Symbol:
            return self.env[sym.name]
        if sym.is_Number or sym.is_NumberSymbol:
            return _const(float(sym))
        if _is_zero_derivative(sym):
            return jnp.zeros_like(self.value(sym.expr.args[0], mask))
        if isinstance(sym, sympy.Add):
            return reduce(lambda a, b: a + b, (self.value(a, mask) for a in sym.args))
        if isinstance(sym, sympy.Mul):
            return self.product(sym, mask)
        if isinstance(sym, sympy.Pow):
            return self.power(sym.base, sym.exp, mask)
        if isinstance(sym, sympy.Piecewise):
            return self.piecewise(sym, mask)
        if sym.func in _SYMPY_FUNCTIONS:
            args = [self.value(a, mask) for a in sym.args]
            return _SYMPY_FUNCTIONS[sym.func](args, mask)
        if isinstance(sym, sympy.logic.boolalg.Boolean):  # a relation used as a number
            return _indicator(self.boolean(sym, mask))
        raise ExpressionError(  # pragma: no cover (check() refuses these first)
            "cannot lower sympy node", expected="a whitelisted node", found=str(sym)
        )

    def product(self, sym: Any, mask: Mask) -> Array:
        numerator: list[Array] = []
        denominator: list[Array] = []
        for factor in sym.args:
            if factor.is_Pow and factor.exp.is_Number and factor.exp < 0:
                denominator.append(self.power(factor.base, -factor.exp, mask))
            else:
                numerator.append(self.value(factor, mask))
        num = reduce(lambda a, b: a * b, numerator) if numerator else _const(1.0)
        if not denominator:
            return num
        return num / _guard(reduce(lambda a, b: a * b, denominator), mask, 1.0)

    def power(self, base: Any, exponent: Any, mask: Mask) -> Array:
        b = self.value(base, mask)
        if exponent.is_Number:
            if exponent == sympy.Rational(1, 2):
                return jnp.sqrt(_guard(b, mask, 1.0))
            if exponent == sympy.Rational(-1, 2):
                return 1.0 / jnp.sqrt(_guard(b, mask, 1.0))
            value = float(exponent)
            return _power(b, _const(value), value, mask)
        return _power(b, self.value(exponent, mask), None, mask)

    def piecewise(self, sym: Any, mask: Mask) -> Array:
        conditions = [self.boolean(cond, mask) for _, cond in sym.args]
        values: list[Array] = []
        earlier: Array | None = None
        for (expr, _), cond in zip(sym.args, conditions, strict=True):
            taken = cond if earlier is None else cond & ~earlier
            values.append(self.value(expr, _within(mask, taken)))
            earlier = cond if earlier is None else earlier | cond
        result = jnp.where(conditions[-1], values[-1], jnp.nan)
        for value, cond in zip(values[-2::-1], conditions[-2::-1], strict=True):
            result = jnp.where(cond, value, result)
        return result

    def boolean(self, sym: Any, mask: Mask) -> Array:
        if sym is sympy.true or isinstance(sym, sympy.logic.boolalg.BooleanTrue):
            return jnp.asarray(True)
        if sym is sympy.false or isinstance(sym, sympy.logic.boolalg.BooleanFalse):
            return jnp.asarray(False)
        if isinstance(sym, sympy.core.relational.Relational):
            relation = _RELATIONS[sym.rel_op]
            return relation(self.value(sym.lhs, mask), self.value(sym.rhs, mask))
        if isinstance(sym, sympy.And):
            return reduce(lambda a, b: a & b, (self.boolean(a, mask) for a in sym.args))
        if isinstance(sym, sympy.Or):
            return reduce(lambda a, b: a | b, (self.boolean(a, mask) for a in sym.args))
        if isinstance(sym, sympy.Not):
            return ~self.boolean(sym.args[0], mask)
        return _truth(self.value(sym, mask))

"""Nodes defined by an expression string: ``generic_function`` and ``generic_dist``.

The expression is parsed by hs3jax's own parser (:mod:`hs3jax.expr`), never evaluated as
Python; its free names are the node's references (parameters, observables, functions).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, cast

import jax
import jax.numpy as jnp
from pydantic import PrivateAttr

from hs3jax.density import Scope, log_normalisation_nd
from hs3jax.errors import ExpressionError
from hs3jax.expr import Expr, parse, rename, to_jax, to_string
from hs3jax.registry import register
from hs3jax.schema.base import Distribution, Function, Node, Reference

__all__ = ["GenericDist", "GenericFunction"]


class _Expression:
    """Mixin: a parsed ``expression`` and its compiled JAX function (built once, lazily)."""

    expression: str
    _parsed: Expr | None
    _compiled: Callable[..., jax.Array] | None

    def parsed(self) -> Expr:
        if self._parsed is None:
            self._parsed = parse(self.expression, path=("expression",))
        return self._parsed

    def variables(self) -> list[str]:
        return sorted(self.parsed().variables)

    def compiled(self) -> Callable[..., jax.Array]:
        if self._compiled is None:
            self._compiled = to_jax(self.parsed(), self.variables())
        return self._compiled

    def expression_references(self) -> Iterator[Reference]:
        for name in self.variables():
            yield Reference(name, ("expression",))

    def renamed(self, names: Mapping[str, str]) -> Node:
        """A copy named ``names[name]`` whose expression refers to ``names[v]`` for each
        variable ``v``: renamed in the parsed tree and printed back, never by editing text."""
        node = cast(Node, self)
        source = node.to_dict()
        source["name"] = names.get(node.name, node.name)
        source["expression"] = to_string(rename(self.parsed(), names))
        return type(node).model_validate(source)


@register("generic_function")
class GenericFunction(_Expression, Function):
    """f = the value of ``expression`` (HS3 ``generic_function``; ROOT ``RooFormulaVar``)."""

    expression: str
    _parsed: Expr | None = PrivateAttr(default=None)
    _compiled: Callable[..., jax.Array] | None = PrivateAttr(default=None)

    def check(self) -> None:
        self.parsed()

    def references(self) -> Iterator[Reference]:
        return self.expression_references()

    def evaluate(self, scope: Scope) -> jax.Array:
        args = [scope.value(name) for name in self.variables()]
        return jnp.asarray(self.compiled()(*args), dtype=jnp.float64)


@register("generic_dist")
class GenericDist(_Expression, Distribution):
    r"""p(x) ∝ ``expression``, normalised over the observables' ranges by quadrature.

    HS3 ``generic_dist``; ROOT ``RooGenericPdf``. The expression must be non-negative on the
    range; its logarithm is the unnormalised log-density.
    """

    expression: str
    _parsed: Expr | None = PrivateAttr(default=None)
    _compiled: Callable[..., jax.Array] | None = PrivateAttr(default=None)

    def check(self) -> None:
        try:
            self.parsed()
        except ExpressionError:
            raise

    def references(self) -> Iterator[Reference]:
        return self.expression_references()

    def observables(self) -> tuple[str, ...]:
        # which of the variables are observables is known only against data (see log_prob)
        return tuple(self.variables())

    def log_prob(self, scope: Scope) -> jax.Array:
        names = self.variables()
        bound = [n for n in names if n in scope.observables]
        free = {n: scope.value(n) for n in names if n not in scope.observables}
        batch_ndim = max((jnp.ndim(v) for v in free.values()), default=0)
        fn = self.compiled()

        def log_f(obs: dict[str, Any]) -> jax.Array:
            args = [obs[n] if n in obs else free[n] for n in names]
            return jnp.log(fn(*args))

        log_d = log_f({n: scope.observables[n] for n in bound})
        if not bound:
            return log_d
        return log_d - log_normalisation_nd(log_f, bound, scope.ranges, batch_ndim)

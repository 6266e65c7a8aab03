"""Function nodes of polynomial type: ``polynomial`` (ROOT ``RooPolyVar``)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from pydantic import field_validator

from hs3jax.nodes.polynomials import literal_numbers
from hs3jax.registry import register
from hs3jax.schema.base import Function, Ref, RefList

__all__ = ["PolynomialFunction", "root_polyvar_coefficients"]


def root_polyvar_coefficients(values: Any) -> Any:
    """Coefficients of a ``polynomial`` function as ROOT 6.40 means them.

    ROOT's exporter writes ``RooPolyVar(x, coefs, lowestOrder=L)`` as ``L`` leading marker
    strings (``"1.0"`` then ``"0.0"``) before the coefficient names, and its importer reads the
    leading ``"1.0"``/``"1"`` (first position) and ``"0.0"``/``"0"`` strings back as
    ``lowestOrder``: those orders are *zero* for a ``RooPolyVar`` (no implicit constant, unlike
    ``RooPolynomial``). Leading marker *strings* therefore become the number 0.0 here; JSON
    numbers are literal coefficients, and other number-looking strings are literals.
    """
    if not isinstance(values, list):
        return values
    out: list[Any] = []
    leading = True
    for i, v in enumerate(values):
        marker = isinstance(v, str) and (
            (i == 0 and v.strip() in ("1.0", "1")) or v.strip() in ("0.0", "0")
        )
        if leading and marker:
            out.append(0.0)
            continue
        leading = False
        out.append(v)
    return literal_numbers(out)


@register("polynomial")
class PolynomialFunction(Function):
    r"""Polynomial function :math:`f = \sum_{i=0}^{k-1} c_i x^i` (lowest order first).

    HS3 ``polynomial`` as ROOT 6.40 writes ``RooPolyVar`` (keys ``x``, ``coefficients``;
    ``MathFuncs::polynomial`` without the pdf-mode constant). ROOT writes ``lowestOrder`` as
    leading ``"1.0"``/``"0.0"`` strings, which its importer reads as skipped (zero) orders; they
    are read the same way here (see :func:`root_polyvar_coefficients`).
    """

    x: Ref
    coefficients: RefList

    @field_validator("coefficients", mode="before")
    @classmethod
    def _root_markers(cls, value: Any) -> Any:
        return root_polyvar_coefficients(value)

    @staticmethod
    def value(x: jax.Array, coefficients: jax.Array) -> jax.Array:  # type: ignore[override]
        k = coefficients.shape[-1]
        acc = jnp.zeros(jnp.broadcast_shapes(coefficients.shape[:-1], jnp.shape(x)))
        for i in range(k - 1, -1, -1):
            acc = acc * x + coefficients[..., i]
        return acc

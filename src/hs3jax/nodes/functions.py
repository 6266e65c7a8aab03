"""Arithmetic function nodes: ``sum`` and ``product`` of parameters, functions and numbers."""

from __future__ import annotations

from typing import Annotated

import jax
import jax.numpy as jnp

from hs3jax.registry import register
from hs3jax.schema.base import Function, RefSpec

__all__ = ["ProductFunction", "SumFunction"]


@register("sum")
class SumFunction(Function):
    r""":math:`f = \sum_i s_i` (HS3 ``sum``; ROOT ``RooAddition``)."""

    summands: Annotated[list[str | float], RefSpec(many=True, pad=0.0)]

    @staticmethod
    def value(summands: jax.Array) -> jax.Array:  # type: ignore[override]
        return jnp.sum(summands, axis=-1)


@register("product")
class ProductFunction(Function):
    r""":math:`f = \prod_i f_i` (HS3 ``product``; ROOT ``RooProduct``)."""

    factors: Annotated[list[str | float], RefSpec(many=True, pad=1.0)]

    @staticmethod
    def value(factors: jax.Array) -> jax.Array:  # type: ignore[override]
        return jnp.prod(factors, axis=-1)

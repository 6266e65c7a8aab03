"""Composite densities built from other distributions."""

from __future__ import annotations

from typing import Annotated

from hs3jax.registry import register
from hs3jax.schema.base import Distribution, RefSpec

__all__ = ["ProductDist"]


@register("product_dist")
class ProductDist(Distribution):
    r"""Product of densities :math:`p(x) = \prod_i p_i(x_i)` (HS3 ``product_dist``; ROOT ``RooProdPdf``).

    In a likelihood, the factors whose observables are in the paired dataset give the event
    term; the other factors (constraints on parameters, whose random variable is a parameter
    or global observable) enter once, as ROOT's ``RooProdPdf`` constraint handling does.
    """

    factors: Annotated[list[str], RefSpec(many=True)]

"""Composite densities built from other distributions: products, mixtures, extended pdfs."""

from __future__ import annotations

from typing import Annotated

import jax
import jax.numpy as jnp
from jax.scipy.special import logsumexp

from hs3jax.density import Scope, depends_on, log_sum_exp
from hs3jax.registry import register
from hs3jax.schema.base import DistRef, DistRefList, Distribution, Ref, RefSpec

__all__ = ["EfficiencyProductDist", "ExtendPdf", "MixtureDist", "ProductDist"]

Coefficients = Annotated[list[str | float], RefSpec(many=True)]


@register("product_dist")
class ProductDist(Distribution):
    r"""Product of densities :math:`p(x) = \prod_i p_i(x_i)` (HS3 ``product_dist``; ROOT ``RooProdPdf``).

    In a likelihood, the factors whose observables are in the paired dataset give the event
    term; the other factors (constraints on parameters, whose random variable is a parameter
    or global observable) enter once, as ROOT's ``RooProdPdf`` constraint handling does.
    """

    factors: DistRefList

    def log_prob(self, scope: Scope) -> jax.Array:
        terms = [
            scope.log_prob(name)
            for name in self.factors
            if depends_on(scope.nodes[name], scope.observables, scope.nodes)
        ]
        return sum(terms[1:], terms[0]) if terms else jnp.zeros(())

    def expected_events(self, scope: Scope) -> jax.Array | None:
        for name in self.factors:
            n = scope.expected_events(name)
            if n is not None:
                return n
        return None


@register("mixture_dist")
class MixtureDist(Distribution):
    r"""Mixture :math:`p(x) = \sum_i c_i\,p_i(x)` (HS3 ``mixture_dist``; ROOT ``RooAddPdf``).

    With one coefficient fewer than summands they are fractions and the last one is
    :math:`1-\sum_i c_i` (or, with ``recursive``, :math:`c_i\prod_{j<i}(1-c_j)`); with as many,
    they are yields (``extended``): :math:`p = \sum_i \nu_i p_i / \sum_i \nu_i` and the
    expected number of events is :math:`\sum_i \nu_i`. Components are normalised over the
    observables' range before mixing, as ROOT does.
    """

    summands: DistRefList
    coefficients: Coefficients
    extended: bool | None = None
    recursive: bool | None = None

    def _weights(self, scope: Scope) -> list[jax.Array]:
        coefs = [scope.value(c) for c in self.coefficients]
        n = len(self.summands)
        if len(coefs) == n:
            total = sum(coefs[1:], coefs[0])
            return [c / total for c in coefs]
        if len(coefs) != n - 1:
            from hs3jax.errors import ModelError

            raise ModelError(
                f"mixture_dist {self.name!r} has {n} summands and {len(coefs)} coefficients; "
                f"expected {n - 1} fractions or {n} yields"
            )
        if self.recursive:
            out, remaining = [], jnp.ones(())
            for c in coefs:
                out.append(remaining * c)
                remaining = remaining * (1.0 - c)
            return [*out, remaining]
        return [*coefs, 1.0 - sum(coefs[1:], coefs[0])] if coefs else [jnp.ones(())]

    def log_prob(self, scope: Scope) -> jax.Array:
        weights = [jnp.asarray(w, dtype=jnp.float64) for w in self._weights(scope)]
        return log_sum_exp([scope.log_prob(name) for name in self.summands], weights)

    def expected_events(self, scope: Scope) -> jax.Array | None:
        if len(self.coefficients) != len(self.summands) or self.extended is False:
            return None
        coefs = [scope.value(c) for c in self.coefficients]
        return sum(coefs[1:], coefs[0])


@register("extend_pdf")
class ExtendPdf(Distribution):
    r"""p(x) = ``pdf``(x) with expected events :math:`\nu` = ``norm`` (ROOT ``RooExtendPdf``);
    paired with events it adds :math:`\nu - W\ln\nu`."""

    pdf: DistRef
    norm: Ref

    def log_prob(self, scope: Scope) -> jax.Array:
        return scope.log_prob(self.pdf)

    def expected_events(self, scope: Scope) -> jax.Array | None:
        return scope.value(self.norm)


@register("efficiency_product_pdf_dist")
class EfficiencyProductDist(Distribution):
    r"""p(x) ∝ ε(x) q(x), normalised over x by quadrature (ROOT ``RooEffProd``)."""

    pdf: DistRef
    eff: Ref

    def log_prob(self, scope: Scope) -> jax.Array:
        from hs3jax.density import log_normalisation_nd

        bound = [o for o in scope.observables]

        def log_f(obs: dict[str, jax.Array]) -> jax.Array:
            inner = scope.with_observables(obs)
            return scope_log_unnormalised(inner, self.pdf) + jnp.log(inner.value(self.eff))

        log_d = log_f(dict(scope.observables))
        return log_d - log_normalisation_nd(log_f, bound, scope.ranges)


def scope_log_unnormalised(scope: Scope, name: str) -> jax.Array:
    """ln of ``name`` normalised as usual; a constant factor does not matter where this is
    renormalised by the caller."""
    return scope.log_prob(name)


@register("fft_conv_pdf")
class ConvolutionDist(Distribution):
    r"""Convolution :math:`(p_1 \otimes p_2)(x) = \int p_1(x-u)\,p_2(u)\,du`, normalised over x.

    ROOT ``RooFFTConvPdf`` (HS3 ``fft_conv_pdf``: ``conv_var``, ``pdf1``, ``pdf2``). ROOT
    samples both densities on a binned, cyclic grid and convolves them by FFT, an approximation
    controlled by the binning and ``ipOrder``; hs3jax computes the convolution integral itself
    (u over the observable's range, 256-point composite Gauss–Legendre; the same rule for the
    normalisation), so it agrees with ROOT only to ROOT's FFT accuracy.
    """

    conv_var: str
    pdf1: DistRef
    pdf2: DistRef
    ipOrder: int | None = None

    def observables(self) -> tuple[str, ...]:
        return (self.conv_var,)

    def log_prob(self, scope: Scope) -> jax.Array:
        from hs3jax.density import gauss_legendre
        from hs3jax.errors import ModelError

        x_name = self.conv_var
        if x_name not in scope.observables:
            raise ModelError(f"fft_conv_pdf {self.name!r} needs observable {x_name!r}")
        lo, hi = scope.ranges[x_name]
        nodes, weights = gauss_legendre(float(lo), float(hi), 16, 16)
        u = jnp.asarray(nodes)
        log_w = jnp.log(jnp.asarray(weights))
        log_p2 = scope.with_observables({x_name: u}).log_prob(self.pdf2)

        def log_conv(x: jax.Array) -> jax.Array:
            grid = (x[:, None] - u[None, :]).ravel()
            log_p1 = scope.with_observables({x_name: grid}).log_prob(self.pdf1)
            return logsumexp(log_p1.reshape(x.shape[0], u.shape[0]) + log_p2 + log_w, axis=1)

        x = jnp.atleast_1d(scope.observables[x_name])
        log_norm = logsumexp(log_conv(u) + log_w)
        return (log_conv(x.ravel()) - log_norm).reshape(jnp.shape(scope.observables[x_name]))

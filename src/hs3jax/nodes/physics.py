r"""Lifetime densities with resolution models: ``decay_dist`` and its resolution models.

``decay_dist`` (ROOT ``RooDecay``) is :math:`e^{-t/\tau}` on one or both sides of zero,
convolved with a resolution model R(t):

* ``truth_model_function`` (ROOT ``RooTruthModel``): perfect resolution, R = δ(t);
* ``gauss_model_function`` (ROOT ``RooGaussModel``): Gaussian resolution with ``mean`` and
  ``sigma``; the convolution with :math:`e^{-t/\tau}\theta(t)` is
  :math:`\tfrac12 e^{\sigma^2/2\tau^2-(t-\mu)/\tau}\operatorname{erfc}
  \big((\sigma^2/\tau-(t-\mu))/\sqrt2\sigma\big)`, evaluated in log space through
  ``log_ndtr``.

ROOT 6.40 writes the resolution models into the ``distributions`` section, so they are
registered there, next to the HS3 draft's names (``gaussian_resolution_model``,
``delta_resolution_model``, ``mixture_resolution_model``). The result is normalised over t's
range by Gauss–Legendre quadrature with a panel edge at t = 0.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import log_ndtr, logsumexp

from hs3jax.density import Scope, gauss_legendre_on, log_sum_exp
from hs3jax.errors import ModelError
from hs3jax.nodes.hs3_text import MixtureModel
from hs3jax.registry import register
from hs3jax.schema.base import DistRef, DistRefList, Distribution, Observable, Ref, RefList

__all__ = ["DecayDist", "GaussModel", "MixtureResolutionModel", "TruthModel"]


class ResolutionModel(Distribution):
    """Base of resolution models: the log of the model convolved with a one-sided exponential."""

    def log_convolved_exp(
        self, scope: Scope, t: jax.Array, tau: jax.Array, flipped: bool = False
    ) -> jax.Array:
        """ln of (e^{-u/τ} θ(u)) ⊗ R at t, or with ``flipped`` of (e^{u/τ} θ(−u)) ⊗ R."""
        raise NotImplementedError


@register("truth_model_function", "delta_resolution_model")
class TruthModel(ResolutionModel):
    r"""Perfect resolution :math:`R(t) = \delta(t)` (ROOT ``RooTruthModel``, written by ROOT 6.40
    as ``truth_model_function``; the HS3 draft chapter 2.1.3 calls it
    ``delta_resolution_model``, key ``x``). Convolved with :math:`e^{-t/\tau}\theta(t)` it is
    that exponential."""

    x: Observable

    def log_convolved_exp(
        self, scope: Scope, t: jax.Array, tau: jax.Array, flipped: bool = False
    ) -> jax.Array:
        t = -t if flipped else t
        safe = jnp.where(t >= 0, t, 0.0)
        return jnp.where(t >= 0, -safe / tau, -jnp.inf)


@register("gauss_model_function", "gaussian_resolution_model")
class GaussModel(ResolutionModel):
    r"""Gaussian resolution :math:`R(t) = \mathcal{N}(t\,|\,\mu, \sigma)` (ROOT ``RooGaussModel``,
    written by ROOT 6.40 as ``gauss_model_function``; the HS3 draft chapter 2.1.3 calls it
    ``gaussian_resolution_model``, keys ``x``, ``mean``, ``sigma``)."""

    x: Observable
    mean: Ref = 0.0
    sigma: Ref

    def log_convolved_exp(
        self, scope: Scope, t: jax.Array, tau: jax.Array, flipped: bool = False
    ) -> jax.Array:
        mu = scope.value(self.mean)
        sigma = scope.value(self.sigma)
        # the flipped exponential: (e^{u/τ}θ(−u)) ⊗ N(μ, σ) at t = (e^{-v/τ}θ(v)) ⊗ N(−μ, σ) at −t
        d = -(t - mu) if flipped else t - mu
        return sigma**2 / (2 * tau**2) - d / tau + log_ndtr((d - sigma**2 / tau) / sigma)


@register("mixture_resolution_model")
class MixtureResolutionModel(ResolutionModel):
    r"""A convex mixture of resolution models :math:`R(t) = \sum_i w_i R_i(t)` (HS3 draft
    chapter 2.1.3 ``mixture_resolution_model``: ``x``, ``summands``, ``coefficients``, n or
    n − 1 weights with :math:`w_n = 1 - \sum_{i<n} w_i`; ROOT ``RooAddModel`` of resolution
    models). Convolution is linear, so
    :math:`e^{-t/\tau}\theta(t) \otimes R = \sum_i w_i\,(e^{-t/\tau}\theta(t) \otimes R_i)`,
    summed in log space."""

    x: Observable
    summands: DistRefList
    coefficients: RefList

    def check(self) -> None:
        from hs3jax.errors import DocumentError

        n, k = len(self.summands), len(self.coefficients)
        if n == 0 or k not in (n, n - 1):
            raise DocumentError(
                f"mixture_resolution_model {self.name!r} has {n} summands and {k} coefficients",
                path=("coefficients",),
                expected=f"{n} or {n - 1} coefficients (at least one summand)",
                found=k,
            )

    def log_convolved_exp(
        self, scope: Scope, t: jax.Array, tau: jax.Array, flipped: bool = False
    ) -> jax.Array:
        # n − 1 fractions, or n weights (summing to 1 by the HS3 draft) divided by their sum
        weights = _fractions(self, len(self.summands), scope)
        terms = []
        for name, w in zip(self.summands, weights, strict=True):
            model = scope.nodes[name]
            if not isinstance(model, ResolutionModel):
                raise ModelError(
                    f"mixture_resolution_model {self.name!r}: {name!r} is not a resolution model"
                )
            terms.append(model.log_convolved_exp(scope, t, tau, flipped) + jnp.log(w))
        return log_sum_exp(terms)


@register("decay_dist")
class DecayDist(Distribution):
    r"""Lifetime density :math:`e^{-t/\tau} \otimes R` (ROOT ``RooDecay``).

    ``decayType`` 0 (SingleSided): t ≥ 0; 1 (DoubleSided): both sides, :math:`e^{-|t|/\tau}`;
    2 (Flipped): t ≤ 0. Normalised over t's range. ``resolutionModel``: a resolution model, or
    a ``mixture_model`` of resolution models, which is ROOT's ``RooAddModel``: as in ROOT, each
    convolved component is normalised over t's range before mixing,
    :math:`p = \sum_i c_i\,(e \otimes R_i)/\int(e \otimes R_i)` (a ``mixture_resolution_model``
    instead mixes the kernels, as the HS3 draft says, and normalises once). Checked against
    ROOT 6.40 (conformance ``decay_truthmodel``, own corpus ``decay_addmodel_doublesided``).
    """

    t: Observable
    tau: Ref
    resolutionModel: DistRef
    decayType: int = 0

    def _log_convolved(self, model: ResolutionModel, scope: Scope, t: jax.Array) -> jax.Array:
        tau = scope.value(self.tau)
        if self.decayType == 0:
            return model.log_convolved_exp(scope, t, tau)
        if self.decayType == 2:
            return model.log_convolved_exp(scope, t, tau, flipped=True)
        if self.decayType == 1:
            return jnp.logaddexp(
                model.log_convolved_exp(scope, t, tau),
                model.log_convolved_exp(scope, t, tau, flipped=True),
            )
        raise ModelError(f"decay_dist {self.name!r}: unknown decayType {self.decayType}")

    def _resolution(self, name: str, scope: Scope) -> ResolutionModel:
        model = scope.nodes[name]
        if not isinstance(model, ResolutionModel):
            raise ModelError(f"decay_dist {self.name!r}: {name!r} is not a resolution model")
        return model

    def log_prob(self, scope: Scope) -> jax.Array:
        if not isinstance(self.t, str) or self.t not in scope.observables:
            raise ModelError(f"decay_dist {self.name!r} needs observable {self.t!r} in the data")
        lo, hi = scope.ranges.get(self.t, (-math.inf, math.inf))
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise ModelError(f"decay_dist {self.name!r}: {self.t!r} needs a finite range")
        # t = 0 is a panel edge: with perfect resolution the density jumps there, which
        # Gauss–Legendre integrates exactly only across a panel edge
        nodes, weights = gauss_legendre_on(lo, hi, [np.zeros(1)])
        inner = scope.with_observables({self.t: jnp.asarray(nodes)})
        log_w = jnp.log(jnp.asarray(weights))
        t = scope.observables[self.t]

        def normalised(model: ResolutionModel) -> jax.Array:
            at_nodes = self._log_convolved(model, inner, jnp.asarray(nodes))
            return self._log_convolved(model, scope, t) - logsumexp(at_nodes + log_w)

        node = scope.nodes[self.resolutionModel]
        if isinstance(node, MixtureModel):
            parts = [normalised(self._resolution(n, scope)) for n in node.summands]
            fractions = _fractions(node, len(parts), scope)
            terms = [p + jnp.log(f) for p, f in zip(parts, fractions, strict=True)]
            return log_sum_exp(terms)
        return normalised(self._resolution(self.resolutionModel, scope))


def _fractions(
    mixture: MixtureResolutionModel | MixtureModel, n: int, scope: Scope
) -> list[jax.Array]:
    """The weights of the ``n`` parts of ``mixture``: its n − 1 coefficients (fractions) and
    the remainder, or its n coefficients divided by their sum."""
    coefficients = [scope.value(c) for c in mixture.coefficients]
    if len(coefficients) == n - 1:
        rest = 1.0 - sum(coefficients[1:], coefficients[0]) if coefficients else jnp.ones(())
        return [*coefficients, jnp.asarray(rest)]
    if len(coefficients) != n:
        raise ModelError(
            f"{mixture.type} {mixture.name!r}: {n} resolution models with {len(coefficients)} "
            f"coefficients (expected {n} or {n - 1})"
        )
    total = sum(coefficients[1:], coefficients[0])
    return [c / total for c in coefficients]

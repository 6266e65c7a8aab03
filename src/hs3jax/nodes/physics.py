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
registered there. The result is normalised over t's range by quadrature.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.scipy.special import log_ndtr

from hs3jax.density import Scope, log_normalisation_nd
from hs3jax.errors import ModelError
from hs3jax.registry import register
from hs3jax.schema.base import DistRef, Distribution, Observable, Ref

__all__ = ["DecayDist", "GaussModel", "TruthModel"]


class ResolutionModel(Distribution):
    """Base of resolution models: the log of the model convolved with a one-sided exponential."""

    def log_convolved_exp(self, scope: Scope, t: jax.Array, tau: jax.Array) -> jax.Array:
        raise NotImplementedError


@register("truth_model_function")
class TruthModel(ResolutionModel):
    r"""Perfect resolution :math:`R(t) = \delta(t)` (ROOT ``RooTruthModel``)."""

    x: Observable

    def log_convolved_exp(self, scope: Scope, t: jax.Array, tau: jax.Array) -> jax.Array:
        safe = jnp.where(t >= 0, t, 0.0)
        return jnp.where(t >= 0, -safe / tau, -jnp.inf)


@register("gauss_model_function")
class GaussModel(ResolutionModel):
    r"""Gaussian resolution :math:`R(t) = \mathcal{N}(t\,|\,\mu, \sigma)` (ROOT ``RooGaussModel``)."""

    x: Observable
    mean: Ref = 0.0
    sigma: Ref

    def log_convolved_exp(self, scope: Scope, t: jax.Array, tau: jax.Array) -> jax.Array:
        mu = scope.value(self.mean)
        sigma = scope.value(self.sigma)
        d = t - mu
        return sigma**2 / (2 * tau**2) - d / tau + log_ndtr((d - sigma**2 / tau) / sigma)


@register("decay_dist")
class DecayDist(Distribution):
    r"""Lifetime density :math:`e^{-t/\tau} \otimes R` (ROOT ``RooDecay``).

    ``decayType`` 0 (SingleSided): t ≥ 0; 1 (DoubleSided): both sides, :math:`e^{-|t|/\tau}`;
    2 (Flipped): t ≤ 0. Normalised over t's range.
    """

    t: Observable
    tau: Ref
    resolutionModel: DistRef
    decayType: int = 0

    def _log_unnormalised(self, scope: Scope, t: jax.Array) -> jax.Array:
        model = scope.nodes[self.resolutionModel]
        if not isinstance(model, ResolutionModel):
            raise ModelError(
                f"decay_dist {self.name!r}: {self.resolutionModel!r} is not a resolution model"
            )
        tau = scope.value(self.tau)
        if self.decayType == 0:
            return model.log_convolved_exp(scope, t, tau)
        if self.decayType == 2:
            return model.log_convolved_exp(scope, -t, tau)
        if self.decayType == 1:
            return jnp.logaddexp(
                model.log_convolved_exp(scope, t, tau), model.log_convolved_exp(scope, -t, tau)
            )
        raise ModelError(f"decay_dist {self.name!r}: unknown decayType {self.decayType}")

    def log_prob(self, scope: Scope) -> jax.Array:
        if not isinstance(self.t, str) or self.t not in scope.observables:
            raise ModelError(f"decay_dist {self.name!r} needs observable {self.t!r} in the data")
        log_d = self._log_unnormalised(scope, scope.observables[self.t])
        name = self.t

        def log_f(points: dict[str, jax.Array]) -> jax.Array:
            return self._log_unnormalised(scope.with_observables(points), points[name])

        return log_d - log_normalisation_nd(log_f, [name], scope.ranges)

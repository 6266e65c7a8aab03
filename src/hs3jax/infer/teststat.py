"""Profile-likelihood-ratio test statistics (arXiv:1007.1727; pyhf.infer.test_statistics).

With θ̂ the unconditional fit and θ̂̂(μ) the fit at fixed μ,

    t_μ = −2 ln λ(μ) = 2 [−ln L(μ, θ̂̂(μ)) + ln L(μ̂, θ̂)],   clipped at 0      (eq. 8)
    q_μ = 0 if μ̂ > μ else t_μ                                                (eq. 14)
    q_0 = 0 if μ̂ < 0 else t_0                                                (eq. 12)

The "tilde" versions (eqs. 11, 16) are the same formulas evaluated with the POI bounded below at
0, which the bounds of the model provide for a HistFactory POI (pyhf computes them identically
and only warns about the bounds; so does hs3jax, without warning).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hs3jax.errors import ModelError
from hs3jax.infer.arrays import namespace
from hs3jax.infer.fit import ParInput, setup
from hs3jax.infer.minimize import Method, Minimum, minimize
from hs3jax.model import Model

__all__ = [
    "TEST_STATISTICS",
    "ProfileFits",
    "profile_fits",
    "q0",
    "q0_from",
    "qmu",
    "qmu_from",
    "qmu_tilde",
    "statistic_from",
    "tmu",
    "tmu_from",
    "tmu_tilde",
    "zero_by_definition",
]

Pytree = Any


def tmu_from(nll_fixed: Any, nll_free: Any) -> Any:
    """t_μ = max(2 (nll(θ̂̂(μ)) − nll(θ̂)), 0); works on floats and JAX arrays."""
    xp = namespace(nll_fixed, nll_free)
    return xp.maximum(2.0 * (nll_fixed - nll_free), 0.0)


def qmu_from(t: Any, poi_hat: Any, mu: Any) -> Any:
    """q_μ from t_μ: 0 where μ̂ > μ (an excess is no evidence against μ)."""
    return namespace(t, poi_hat, mu).where(poi_hat > mu, 0.0, t)


def q0_from(t0: Any, poi_hat: Any) -> Any:
    """q_0 from t_0: 0 where μ̂ < 0 (a deficit is no evidence for a signal)."""
    return namespace(t0, poi_hat).where(poi_hat < 0.0, 0.0, t0)


def statistic_from(nll_fixed: Any, nll_free: Any, poi_hat: Any, mu: Any, test_stat: str) -> Any:
    """q_0 (``test_stat == "q0"``) or q_μ (q̃_μ: the POI bounded at 0 by the fits) from the
    conditional and the free −ln L; works on floats and JAX arrays."""
    t = tmu_from(nll_fixed, nll_free)
    return q0_from(t, poi_hat) if test_stat == "q0" else qmu_from(t, poi_hat, mu)


def zero_by_definition(poi_hat: float, mu: float, test_stat: str) -> bool:
    """Whether the one-sided statistic at ``mu`` is 0 whatever the conditional fit gives:
    q_μ and q̃_μ where μ̂ > μ, q_0 where μ̂ < 0, and either where μ̂ = μ (the conditional
    fit is then the free one)."""
    return poi_hat == mu or (poi_hat < mu if test_stat == "q0" else poi_hat > mu)


@dataclass(frozen=True)
class ProfileFits:
    """The two fits behind a test statistic at ``mu``.

    Attributes:
        mu: the tested POI value.
        fixed: the fit with the POI held at ``mu`` (θ̂̂(μ)).
        free: the unconditional fit (θ̂).
        poi_index: position of the POI in the parameter vector.
    """

    mu: float
    fixed: Minimum
    free: Minimum
    poi_index: int

    @property
    def poi_hat(self) -> float:
        """μ̂ of the unconditional fit."""
        return float(self.free.x[self.poi_index])

    @property
    def tmu(self) -> float:
        """t_μ (see module doc)."""
        return float(tmu_from(self.fixed.nll, self.free.nll))


def _poi(model: Model) -> tuple[str, int]:
    if model.poi is None or model.poi_index is None:
        raise ModelError(
            f"{model.name} has no parameter of interest (background-only? add a signal with "
            "a JSON patch)"
        )
    return model.poi, model.poi_index


def free_fit(
    model: Model,
    data: Pytree,
    inputs: Pytree,
    init: ParInput = None,
    method: Method = "lbfgsb",
) -> Minimum:
    """The unconditional fit θ̂ (no covariance)."""
    start, mask = setup(model, init)
    return minimize(model, start, mask, data, inputs, method=method, final_hessian=False)


def poi_fit(
    model: Model,
    mu: float,
    data: Pytree,
    inputs: Pytree,
    init: ParInput = None,
    method: Method = "lbfgsb",
) -> Minimum:
    """The conditional fit θ̂̂(μ) (no covariance)."""
    name, _ = _poi(model)
    start, mask = setup(model, init, {name: mu})
    return minimize(model, start, mask, data, inputs, method=method, final_hessian=False)


def profile_fits(
    model: Model,
    mu: float,
    data: Pytree = None,
    *,
    inputs: Pytree = None,
    init: ParInput = None,
    free: Minimum | None = None,
    method: Method = "lbfgsb",
) -> ProfileFits:
    """Both fits at ``mu`` (``free`` reuses an unconditional fit already made on ``data``)."""
    _, index = _poi(model)
    data = model.data if data is None else data
    inputs = model.inputs if inputs is None else inputs
    fixed = poi_fit(model, mu, data, inputs, init, method)
    if free is None:
        free = free_fit(model, data, inputs, init, method)
    return ProfileFits(float(mu), fixed, free, index)


def tmu(
    model: Model, mu: float, data: Pytree = None, *, inputs: Pytree = None, init: ParInput = None
) -> float:
    """t_μ = −2 ln λ(μ) (eq. 8 of arXiv:1007.1727)."""
    return profile_fits(model, mu, data, inputs=inputs, init=init).tmu


def tmu_tilde(
    model: Model, mu: float, data: Pytree = None, *, inputs: Pytree = None, init: ParInput = None
) -> float:
    """t̃_μ (eq. 11): t_μ with the POI bounded below at 0 by the model bounds."""
    return tmu(model, mu, data, inputs=inputs, init=init)


def qmu(
    model: Model, mu: float, data: Pytree = None, *, inputs: Pytree = None, init: ParInput = None
) -> float:
    """q_μ (eq. 14): t_μ, or 0 where μ̂ > μ."""
    fits = profile_fits(model, mu, data, inputs=inputs, init=init)
    return float(qmu_from(fits.tmu, fits.poi_hat, mu))


def qmu_tilde(
    model: Model, mu: float, data: Pytree = None, *, inputs: Pytree = None, init: ParInput = None
) -> float:
    """q̃_μ (eq. 16): q_μ with the POI bounded below at 0 by the model bounds."""
    return qmu(model, mu, data, inputs=inputs, init=init)


def q0(model: Model, data: Pytree = None, *, inputs: Pytree = None, init: ParInput = None) -> float:
    """q_0 (eq. 12): t_0, or 0 where μ̂ < 0."""
    fits = profile_fits(model, 0.0, data, inputs=inputs, init=init)
    return float(q0_from(fits.tmu, fits.poi_hat))


TEST_STATISTICS: dict[str, Callable[..., float]] = {
    "tmu": tmu,
    "tmu_tilde": tmu_tilde,
    "qmu": qmu,
    "qmu_tilde": qmu_tilde,
}

"""MINOS-style profile-likelihood intervals: where the profiled −ln L rises by ½ from its minimum.

For a parameter φ with best fit φ̂ and all other free parameters profiled,

    λ(φ) = 2 [−ln L(φ, θ̂̂(φ)) + ln L(φ̂, θ̂)],

the interval is [φ̂ + e⁻, φ̂ + e⁺] with λ(φ̂ + e^±) = ``up`` (1 for 68.3% CL in one parameter),
the errors MINOS reports (e⁻ ≤ 0 ≤ e⁺, in the parameter's units). Each side is bracketed by
stepping out from the Hessian error σ̂ (doubling the step), then solved with Brent's method on λ;
every λ evaluation is one conditional fit (:func:`~hs3jax.infer.minimize.minimize`) warm-started
from the nearest point already fitted. A side whose λ stays below ``up`` up to the parameter's
bound is reported at the bound (``at_limit``), as MINOS does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import brentq

from hs3jax.errors import ModelError
from hs3jax.infer.minimize import Method, minimize
from hs3jax.model import Model

__all__ = ["MinosError", "profile_interval", "profile_intervals"]

Pytree = Any
_MAX_STEPS = 40


@dataclass(frozen=True)
class MinosError:
    """The profile-likelihood interval of one parameter.

    Attributes:
        lower: e⁻ ≤ 0, the distance from the best fit to the lower end (parameter units).
        upper: e⁺ ≥ 0, the distance to the upper end.
        at_lower_limit, at_upper_limit: λ stayed below ``up`` up to the parameter's bound, so
            that end is the bound, not a crossing.
        n_fits: conditional fits used.
    """

    lower: float
    upper: float
    at_lower_limit: bool
    at_upper_limit: bool
    n_fits: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        return {
            "lower": self.lower,
            "upper": self.upper,
            "at_lower_limit": self.at_lower_limit,
            "at_upper_limit": self.at_upper_limit,
            "n_fits": self.n_fits,
        }


def profile_interval(
    model: Model,
    name: str,
    best_x: np.ndarray,
    best_nll: float,
    sigma: float,
    free_mask: np.ndarray,
    data: Pytree,
    inputs: Pytree,
    *,
    up: float = 1.0,
    method: Method = "lbfgsb",
    xtol: float = 1e-9,
) -> MinosError:
    """The interval of ``name`` where λ ≤ ``up`` (see module doc), from the global minimum
    ``best_x`` (−ln L = ``best_nll``) and its Hessian error ``sigma``."""
    i = model.index(name)
    if not free_mask[i]:
        raise ModelError(f"{name} is fixed in this fit; it has no profile interval")
    lo_bound, hi_bound = (float(b) for b in np.asarray(model.bounds)[i])
    centre = float(best_x[i])
    profiled = np.asarray(free_mask, dtype=bool).copy()
    profiled[i] = False
    fitted: dict[float, tuple[float, np.ndarray]] = {centre: (0.0, np.asarray(best_x))}

    def excess(value: float) -> float:
        """λ(value) − up, one conditional fit started from the nearest fitted point."""
        if value not in fitted:
            nearest = min(fitted, key=lambda v: abs(v - value))
            start = fitted[nearest][1].copy()
            start[i] = value
            m = minimize(model, start, profiled, data, inputs, method=method, final_hessian=False)
            # a profiled minimum can only lie above the global one; clip rounding below it
            fitted[value] = (max(2.0 * (m.nll - best_nll), 0.0), m.x)
        return fitted[value][0] - up

    step0 = sigma if np.isfinite(sigma) and sigma > 0 else max(1.0, abs(centre)) * 1e-2

    def side(direction: float) -> tuple[float, bool]:
        bound = hi_bound if direction > 0 else lo_bound
        inner, step = centre, step0
        for _ in range(_MAX_STEPS):
            outer = centre + direction * step
            if direction * (outer - bound) >= 0:
                outer = bound
            if excess(outer) >= 0:
                root = brentq(excess, inner, outer, xtol=xtol * max(1.0, abs(centre)), rtol=1e-12)
                return float(root) - centre, False
            if outer == bound:
                return bound - centre, True
            inner, step = outer, 2.0 * step
        raise ModelError(f"{name}: the profile likelihood stays below {up} out to {outer}")

    lower, at_lo = side(-1.0)
    upper, at_hi = side(+1.0)
    return MinosError(lower, upper, at_lo, at_hi, len(fitted) - 1)


def profile_intervals(
    model: Model,
    names: Sequence[str],
    best_x: np.ndarray,
    best_nll: float,
    errors: dict[str, float],
    free_mask: np.ndarray,
    data: Pytree,
    inputs: Pytree,
    *,
    up: float = 1.0,
    method: Method = "lbfgsb",
) -> dict[str, MinosError]:
    """:func:`profile_interval` for each of ``names``."""
    return {
        n: profile_interval(
            model, n, best_x, best_nll, errors[n], free_mask, data, inputs, up=up, method=method
        )
        for n in names
    }

"""Nuisance-parameter ranking (impacts on the POI) and pulls.

For each free nuisance parameter θ_k with best fit θ̂_k and Hessian error σ̂_k, the POI is refitted
with θ_k fixed at θ̂_k ± σ̂_k (all other parameters profiled):

    Δμ_k^± = μ̂(θ_k = θ̂_k ± σ̂_k) − μ̂,

with θ̂_k ± σ̂_k clipped to θ_k's bounds (a Poisson-constrained γ with γ̂ = 1.04 and σ̂ = 2.77
in ATLAS-SUSY-2018-16 is fixed at its lower bound, where −ln L is finite, not at −1.73).

All 2 n conditional fits run together (:func:`hs3jax.infer.newton.fit_batch`: a ``jax.vmap``
over (start, free mask) of the Newton minimiser, or host fits one after another where that is
faster), starting from the unconditional minimum. Pulls are reported both raw, θ̂_k − θ_k⁰ with
error σ̂_k, and normalised to the pre-fit width of the constraint (:mod:`hs3jax.infer.pulls`):
(θ̂_k − θ_k⁰)/σ_k^pre and σ̂_k/σ_k^pre.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jax
import numpy as np

from hs3jax.errors import ModelError
from hs3jax.infer.fit import FitResult, ParInput, fit, setup
from hs3jax.infer.newton import fit_batch
from hs3jax.infer.pulls import prefit_widths
from hs3jax.model import Model

__all__ = ["Ranking", "ranking"]

Pytree = Any


@dataclass(frozen=True)
class Ranking:
    """Impacts on the POI, sorted by |Δμ⁺| + |Δμ⁻| (largest first).

    Attributes:
        poi: the POI name.
        poi_hat: μ̂ of the unconditional fit.
        parameters: nuisance parameter names, ranked.
        impact_up, impact_down: Δμ with θ_k at θ̂_k + σ̂_k and θ̂_k − σ̂_k.
        pulls: θ̂_k − θ_k⁰ (θ⁰: the model's initial, nominal values).
        constraints: σ̂_k.
        converged: whether both refits of each parameter converged.
        fit: the unconditional fit.
        prefit_widths: σ_k^pre of the constraint term (∞: unconstrained; NaN: not available
            for models with unbinned data).
        normalised_pulls: (θ̂_k − θ_k⁰)/σ_k^pre (NaN where σ^pre is not finite).
        normalised_constraints: σ̂_k/σ_k^pre (NaN where σ^pre is not finite).
    """

    poi: str
    poi_hat: float
    parameters: tuple[str, ...]
    impact_up: np.ndarray
    impact_down: np.ndarray
    pulls: np.ndarray
    constraints: np.ndarray
    converged: np.ndarray
    fit: FitResult
    prefit_widths: np.ndarray
    normalised_pulls: np.ndarray
    normalised_constraints: np.ndarray

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        return {
            "poi": self.poi,
            "poi_hat": self.poi_hat,
            "ranking": [
                {
                    "parameter": name,
                    "impact_up": float(self.impact_up[i]),
                    "impact_down": float(self.impact_down[i]),
                    "pull": float(self.pulls[i]),
                    "constraint": float(self.constraints[i]),
                    "converged": bool(self.converged[i]),
                    "prefit_width": _number(self.prefit_widths[i]),
                    "pull_normalised": _number(self.normalised_pulls[i]),
                    "constraint_normalised": _number(self.normalised_constraints[i]),
                }
                for i, name in enumerate(self.parameters)
            ],
        }


def _number(value: float) -> float | None:
    """A JSON number, or null for ∞ and NaN."""
    return float(value) if np.isfinite(value) else None


def ranking(
    model: Model,
    data: Pytree = None,
    *,
    inputs: Pytree = None,
    init: ParInput = None,
    fixed: Mapping[str, float] | None = None,
) -> Ranking:
    """Post-fit impacts of every free nuisance parameter on the POI, and pulls."""
    if model.poi is None or model.poi_index is None:
        raise ModelError(f"{model.name} has no parameter of interest")
    data = model.data if data is None else data
    inputs = model.inputs if inputs is None else inputs
    best = fit(model, data, init=init, fixed=fixed, inputs=inputs)
    _, mask = setup(model, init, fixed)
    k_poi = model.poi_index
    nps = [i for i in np.flatnonzero(mask) if i != k_poi]
    bounds = np.asarray(model.bounds, dtype=np.float64)
    starts, masks = [], []
    for i in nps:
        for sign in (1.0, -1.0):
            s = best.x.copy()
            shifted = best.x[i] + sign * np.sqrt(max(best.covariance[i, i], 0.0))
            s[i] = np.clip(shifted, bounds[i, 0], bounds[i, 1])
            m = mask.copy()
            m[i] = False
            starts.append(s)
            masks.append(m)
    with jax.enable_x64(True):
        if nps:
            out = fit_batch(model, np.asarray(starts), np.asarray(masks), data, inputs)
            mu = np.asarray(out.x)[:, k_poi].reshape(-1, 2)
            conv = np.asarray(np.asarray(out.converged).reshape(-1, 2).all(axis=1))
        else:
            mu, conv = np.zeros((0, 2)), np.zeros(0, dtype=bool)
    try:
        widths = prefit_widths(model, inputs)
    except ModelError:  # unbinned data: no pre-fit widths
        widths = np.full(len(model.parameters), np.nan)
    nominal = np.asarray(model.init, dtype=np.float64)
    sigma = np.sqrt(np.clip(np.diag(best.covariance), 0, None))
    finite = np.isfinite(widths)
    safe = np.where(finite, widths, 1.0)
    poi_hat = float(best.x[k_poi])
    up, down = mu[:, 0] - poi_hat, mu[:, 1] - poi_hat
    order = np.argsort(-(np.abs(up) + np.abs(down)), kind="stable")
    idx = np.asarray(nps, dtype=np.int64)[order]
    return Ranking(
        poi=model.poi,
        poi_hat=poi_hat,
        parameters=tuple(model.parameters[i] for i in idx),
        impact_up=up[order],
        impact_down=down[order],
        pulls=(best.x - nominal)[idx],
        constraints=sigma[idx],
        converged=conv[order],
        fit=best,
        prefit_widths=widths[idx],
        normalised_pulls=np.where(finite, (best.x - nominal) / safe, np.nan)[idx],
        normalised_constraints=np.where(finite, sigma / safe, np.nan)[idx],
    )

"""Pulls of the constrained nuisance parameters, normalised to their pre-fit widths.

The pre-fit width of a parameter θ_i comes from its constraint term C(θ) = −ln Π_k c_k(a_k | θ)
(a_k: the global observables at their nominal values), as the curvature at the nominal point θ⁰:

    σ_i^pre = (∂²C/∂θ_i² |_θ⁰)^(−1/2),

which is the Gaussian width σ for a Gaussian constraint and 1/√τ for a Poisson-constrained γ
(Poisson(τ | γτ): ∂²C/∂γ² = a/γ² = τ at γ = 1, a = τ), pyhf's ``paramset.width()``. C is the
model's constraint part (``Model.constraint_nll_fn``, binned and unbinned models alike; for a
model without it, the NLL less its main-measurement Poisson terms Σ_b [ν_b − n_b ln ν_b]), so no
knowledge of the constraint types is needed. Parameters without a constraint
(normalisation factors, shapefactors) get σ^pre = ∞ and no normalised pull.

With the fit's θ̂_i and Hessian error σ̂_i:

    pull_i = (θ̂_i − θ_i⁰) / σ_i^pre,     constraint_i = σ̂_i / σ_i^pre   (dimensionless).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import xlogy

from hs3jax.errors import ModelError
from hs3jax.infer.fit import FitResult, ParInput, fit, setup
from hs3jax.model import Model

__all__ = ["Pulls", "prefit_widths", "pulls"]

Pytree = Any


def prefit_widths(model: Model, inputs: Pytree = None) -> np.ndarray:
    """σ^pre per parameter in vector order (∞ where no constraint acts); see module doc.

    Raises:
        ModelError: the model has unbinned data and does not expose its constraint terms
            separately (``Model.constraint_nll_fn``).
    """
    inputs = model.inputs if inputs is None else inputs
    with jax.enable_x64(True):
        init = jnp.asarray(model.init)
        if model.constraint_nll_fn is not None:
            # the constraint terms alone: a parameter they do not hold has curvature 0 exactly
            hessian = _constraint_hessian(model.constraint_nll_fn)
            curvature = np.diag(np.asarray(hessian(init, model.data["aux"], inputs)))
            constrained = curvature > 0.0
        else:
            curvature, constrained = _curvature_without_main(model, init, inputs)
    with np.errstate(divide="ignore"):
        return np.where(constrained, 1.0 / np.sqrt(np.where(constrained, curvature, 1.0)), np.inf)


# jitted Hessians of constraint terms, per function (models of one structure share it)
_CONSTRAINT_HESSIANS: weakref.WeakKeyDictionary[Callable[..., Any], Callable[..., Any]] = (
    weakref.WeakKeyDictionary()
)


def _constraint_hessian(fn: Callable[..., jax.Array]) -> Callable[..., Any]:
    if fn not in _CONSTRAINT_HESSIANS:
        _CONSTRAINT_HESSIANS[fn] = jax.jit(jax.hessian(fn))
    return _CONSTRAINT_HESSIANS[fn]


def _curvature_without_main(
    model: Model, init: jax.Array, inputs: Pytree
) -> tuple[np.ndarray, np.ndarray]:
    """C as the NLL less its main-measurement Poisson terms (models that do not separate their
    constraint terms), and which parameters it constrains."""
    if model.data.get("events"):
        raise ModelError(
            f"{model.name}: pre-fit widths need the constraint terms on their own; this model "
            "has unbinned data and does not separate them"
        )
    main = model.data.get("main", jnp.zeros(0))

    def constraint_nll(pars: jax.Array) -> jax.Array:
        nu = model.expected_fn(pars, inputs)
        poisson = jnp.sum(nu - xlogy(main, nu)) if main.size else 0.0
        return model.nll_fn(pars, model.data, inputs) - poisson

    curvature = np.diag(np.asarray(jax.hessian(constraint_nll)(init)))
    total = jax.hessian(model.nll_fn)(init, model.data, inputs)
    # curvature of an unconstrained parameter is 0 up to rounding of the subtraction above
    scale = np.abs(np.diag(np.asarray(total)))
    return curvature, curvature > 1e-9 * np.maximum(1.0, scale)


@dataclass(frozen=True)
class Pulls:
    """Post-fit pulls of the free parameters (vector order).

    Attributes:
        parameters: names of the free parameters.
        nominal: θ⁰, the pre-fit (initial) values.
        bestfit: θ̂.
        errors: σ̂ (Hessian).
        prefit_widths: σ^pre (∞ for unconstrained parameters).
        pull: (θ̂ − θ⁰)/σ^pre (NaN for unconstrained parameters).
        constraint: σ̂/σ^pre (NaN for unconstrained parameters).
    """

    parameters: tuple[str, ...]
    nominal: np.ndarray
    bestfit: np.ndarray
    errors: np.ndarray
    prefit_widths: np.ndarray
    pull: np.ndarray
    constraint: np.ndarray

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (``null`` for undefined normalised values)."""

        def num(v: float) -> float | None:
            return float(v) if np.isfinite(v) else None

        return {
            "pulls": [
                {
                    "parameter": n,
                    "nominal": float(self.nominal[i]),
                    "bestfit": float(self.bestfit[i]),
                    "error": float(self.errors[i]),
                    "prefit_width": num(self.prefit_widths[i]),
                    "pull": num(self.pull[i]),
                    "constraint": num(self.constraint[i]),
                }
                for i, n in enumerate(self.parameters)
            ]
        }


def pulls_from_fit(
    model: Model, best: FitResult, nominal: np.ndarray, widths: np.ndarray, free: np.ndarray
) -> Pulls:
    """:class:`Pulls` of the parameters in ``free`` (an index array) from a fit."""
    sigma = np.sqrt(np.clip(np.diag(best.covariance), 0.0, None))
    with np.errstate(invalid="ignore", divide="ignore"):
        finite = np.isfinite(widths)
        pull = np.where(finite, (best.x - nominal) / widths, np.nan)
        constraint = np.where(finite, sigma / widths, np.nan)
    return Pulls(
        parameters=tuple(model.parameters[i] for i in free),
        nominal=nominal[free],
        bestfit=best.x[free],
        errors=sigma[free],
        prefit_widths=widths[free],
        pull=pull[free],
        constraint=constraint[free],
    )


def pulls(
    model: Model,
    data: Pytree = None,
    *,
    inputs: Pytree = None,
    init: ParInput = None,
    fixed: Mapping[str, float] | None = None,
) -> Pulls:
    """Fit ``data`` and return the pulls of every free parameter (see module doc)."""
    best = fit(model, data, init=init, fixed=fixed, inputs=inputs)
    _, mask = setup(model, init, fixed)
    nominal = np.asarray(model.init, dtype=np.float64)
    return pulls_from_fit(model, best, nominal, prefit_widths(model, inputs), np.flatnonzero(mask))

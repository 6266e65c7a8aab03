"""Profile likelihood scans in one or two parameters, all points fitted in one batch.

For each grid point φ_k (values of the scanned parameters) the other free parameters are
profiled, θ̂̂(φ_k) = argmin −ln L(φ_k, θ), and

    Δ(2 NLL)_k = 2 [−ln L(φ_k, θ̂̂(φ_k)) + ln L(θ̂)]  (≥ 0 at converged points).

The conditional fits run together (:func:`hs3jax.infer.newton.fit_batch`: ``jax.vmap`` of the
pure-JAX Newton minimiser, or host fits one after another where that is faster), each
warm-started from the unconditional minimum θ̂ (with the scanned parameters set to the grid
point), which is close to θ̂̂(φ_k) near the minimum where the scan matters; a point that does
not converge there is refitted on the host (:func:`hs3jax.infer.minimize.minimize`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jax
import numpy as np

from hs3jax.infer.fit import ParInput, fit, setup
from hs3jax.infer.minimize import minimize
from hs3jax.infer.newton import fit_batch
from hs3jax.model import Model

__all__ = ["ScanResult", "profile_scan"]

Pytree = Any


@dataclass(frozen=True)
class ScanResult:
    """A profile likelihood scan.

    Attributes:
        parameters: the scanned parameter names.
        points: ``(k, len(parameters))`` grid points.
        twice_delta_nll: Δ(2 NLL) at each point (relative to the global minimum).
        nll: −ln L at each point.
        converged: whether each conditional fit converged.
        bestfit: the unconditional best-fit values of the scanned parameters.
        min_nll: −ln L at the global minimum.
        shape: the grid's shape (one length per scanned parameter); ``points`` and the
            per-point arrays are that grid flattened in C order (first parameter slowest).
    """

    parameters: tuple[str, ...]
    points: np.ndarray
    twice_delta_nll: np.ndarray
    nll: np.ndarray
    converged: np.ndarray
    bestfit: tuple[float, ...]
    min_nll: float
    shape: tuple[int, ...] = ()

    def grid(self) -> np.ndarray:
        """Δ(2 NLL) on the grid, shaped ``shape`` (for contour plots)."""
        return self.twice_delta_nll.reshape(self.shape or (len(self.points),))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        return {
            "parameters": list(self.parameters),
            "points": self.points.tolist(),
            "twice_delta_nll": self.twice_delta_nll.tolist(),
            "nll": self.nll.tolist(),
            "converged": self.converged.tolist(),
            "bestfit": list(self.bestfit),
            "min_nll": self.min_nll,
            "shape": list(self.shape),
        }


def profile_scan(
    model: Model,
    grid: Mapping[str, Sequence[float] | np.ndarray],
    data: Pytree = None,
    *,
    inputs: Pytree = None,
    init: ParInput = None,
    fixed: Mapping[str, float] | None = None,
) -> ScanResult:
    """Profile −ln L over ``grid``: ``{name: values}`` (one name: a 1-D scan; two names: the
    2-D product grid, first name slowest)."""
    data = model.data if data is None else data
    inputs = model.inputs if inputs is None else inputs
    names = tuple(grid)
    axes = [np.asarray(grid[n], dtype=np.float64) for n in names]
    mesh = np.meshgrid(*axes, indexing="ij")
    points = np.stack([m.ravel() for m in mesh], axis=-1)
    best = fit(model, data, init=init, fixed=fixed, inputs=inputs, hessian=False)
    _, mask = setup(model, init, {**(fixed or {}), **{n: 0.0 for n in names}})
    idx = np.asarray([model.index(n) for n in names])
    with jax.enable_x64(True):
        starts = np.tile(best.x, (len(points), 1))  # warm start: the unconditional minimum
        starts[:, idx] = points
        out = fit_batch(model, starts, np.tile(mask, (len(points), 1)), data, inputs)
        x = np.asarray(out.x)
        nll = np.asarray(out.nll).copy()
        ok = np.asarray(out.converged).copy()
    for k in np.flatnonzero(~ok):
        m = minimize(
            model, starts[k], mask, data, inputs, raise_on_failure=False, final_hessian=False
        )
        nll[k], ok[k] = m.nll, m.success
        x[k] = m.x
    return ScanResult(
        parameters=names,
        points=points,
        twice_delta_nll=2.0 * (nll - best.nll),
        nll=nll,
        converged=ok,
        bestfit=tuple(best.bestfit[n] for n in names),
        min_nll=best.nll,
        shape=tuple(len(a) for a in axes),
    )

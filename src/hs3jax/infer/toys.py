"""Pseudo-experiments ("toys"): sampling, batched fits and toy-based CL_s.

A toy at parameters θ draws the main counts n_b ~ Pois(ν_b(θ)) and every global observable from
its constraint: a ~ N(θ_k, σ_k) for a Gaussian constraint (σ_k² = 1/h, h = ∂²(−ln L)/∂a²) and
a ~ Pois(τγ) for a Poisson one (the expected values of :mod:`hs3jax.infer.asimov`). Toys are
seeded (``jax.random.key(seed)``) and fitted together with ``jax.vmap`` of the Newton minimiser
(on a CPU, for a model whose Hessian goes in cache-sized blocks, as host fits one after
another: see :func:`hs3jax.infer.newton.fit_batch`; 20 toys of ATLAS-SUSY-2018-16 took 194 s
vmapped); a toy whose fits do not converge is recorded (``n_failed``) and left out, never fatal.

Toy-based CL_s (q̃_μ or q_μ): toys are thrown at θ̂̂(μ) (s+b) and θ̂̂(0) (b-only), fitted to the
observed data; with q_obs the observed statistic,

    CL_{s+b} = P_{s+b}(q ≥ q_obs),   CL_b = P_b(q ≥ q_obs),   CL_s = CL_{s+b}/CL_b,

and the expected band evaluates the same at the b-only quantiles of q at Φ(n), n = 2..−2.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from scipy.special import ndtr

from hs3jax.errors import ModelError
from hs3jax.infer.asimov import (
    _GAUSS,
    _derivs_jit,
    _other_data,
    asimov_data,
    constraint_kinds,
)
from hs3jax.infer.fit import setup
from hs3jax.infer.minimize import minimize
from hs3jax.infer.newton import (
    batch_sizes,
    host_fits_preferred,
    in_batches,
    newton_minimize,
)
from hs3jax.infer.results import NSIGMA, HypoTestResult
from hs3jax.infer.teststat import poi_fit, profile_fits, statistic_from
from hs3jax.model import Model

__all__ = ["ToyTestStats", "sample_toys", "toy_hypotest", "toy_teststats"]

Pytree = Any


def sample_toys(
    model: Model, pars: np.ndarray | jax.Array, n_toys: int, seed: int, inputs: Pytree = None
) -> Pytree:
    """``n_toys`` data pytrees drawn at ``pars`` (leading batch axis on ``main`` and ``aux``)."""
    inputs = model.inputs if inputs is None else inputs
    if model.asimov_events_fn is not None:
        raise ModelError(
            f"{model.name}: toys are thrown for binned HistFactory counts and global observables "
            "only; sampling events of other densities is not implemented"
        )
    kinds = constraint_kinds(model)
    with jax.enable_x64(True):
        p = jnp.asarray(pars, dtype=jnp.float64)
        expected = asimov_data(model, p, inputs)
        k_main, k_gauss, k_pois = jax.random.split(jax.random.key(seed), 3)
        main = jax.random.poisson(k_main, expected["main"], (n_toys, *expected["main"].shape))
        aux_mean = expected["aux"]
        if aux_mean.shape[0]:
            _, h = _derivs_jit(model)(p, jnp.asarray(model.data["aux"]), inputs, _other_data(model))
            sigma = 1.0 / jnp.sqrt(h)
            gauss = aux_mean + sigma * jax.random.normal(k_gauss, (n_toys, *aux_mean.shape))
            pois = jax.random.poisson(k_pois, aux_mean, (n_toys, *aux_mean.shape))
            aux = jnp.where(jnp.asarray(kinds) == _GAUSS, gauss, pois.astype(jnp.float64))
        else:
            aux = jnp.zeros((n_toys, 0))
        return {"main": main.astype(jnp.float64), "aux": aux}


@dataclass(frozen=True)
class ToyTestStats:
    """Test statistics of a batch of toys.

    Attributes:
        values: the statistic per toy (NaN where a fit failed).
        poi_hat: μ̂ per toy.
        ok: both fits of the toy converged.
    """

    values: np.ndarray
    poi_hat: np.ndarray
    ok: np.ndarray


def toy_teststats(
    model: Model, mu: float, toys: Pytree, test_stat: str = "qtilde", inputs: Pytree = None
) -> ToyTestStats:
    """q̃_μ / q_μ / q_0 of every toy (two Newton fits per toy: vmapped in batches, or host fits
    where :func:`hs3jax.infer.newton.fit_batch` would run them on the host)."""
    if model.poi is None or model.poi_index is None:
        raise ModelError(f"{model.name} has no parameter of interest")
    inputs = model.inputs if inputs is None else inputs
    k = model.poi_index
    start, free = setup(model)
    start_mu, free_mu = setup(model, None, {model.poi: mu})
    with jax.enable_x64(True):
        bounds = jnp.asarray(model.bounds)
        prepared = model.prepared_inputs(inputs)
        block, per_call = batch_sizes(model, prepared, model.data)
        nll = model.prepared_nll_fn

        def one(d: Pytree) -> tuple[jax.Array, jax.Array, jax.Array]:
            a = newton_minimize(
                nll, jnp.asarray(start_mu), free_mu, bounds, d, prepared, hessian_batch=block
            )
            b = newton_minimize(
                nll, jnp.asarray(start), free, bounds, d, prepared, hessian_batch=block
            )
            return (
                statistic_from(a.nll, b.nll, b.x[k], mu, test_stat),
                b.x[k],
                a.converged & b.converged,
            )

        if host_fits_preferred(model, block):
            fits = ((start_mu, free_mu), (start, free))
            q, muhat, ok = _host_teststats(model, mu, toys, test_stat, inputs, fits)
        else:
            # two fits per toy in one program
            out = in_batches(jax.jit(jax.vmap(one)), (toys,), max(1, per_call // 2))
            q, muhat, ok = (np.asarray(v) for v in out)
    return ToyTestStats(np.where(ok, q, np.nan), muhat, ok)


def _host_teststats(
    model: Model,
    mu: float,
    toys: Pytree,
    test_stat: str,
    inputs: Pytree,
    fits: tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(q, μ̂, both fits converged) per toy from host fits (:func:`minimize`); ``fits``: the
    (start, free mask) of the conditional fit at ``mu`` and of the free fit."""
    k = model.poi_index
    assert k is not None
    (start_mu, free_mu), (start, free) = fits
    n_toys = int(jax.tree_util.tree_leaves(toys)[0].shape[0])
    q, muhat, ok = np.zeros(n_toys), np.zeros(n_toys), np.zeros(n_toys, dtype=bool)
    for j in range(n_toys):
        data = jax.tree_util.tree_map(lambda a, j=j: a[j], toys)
        kw: dict[str, Any] = {"raise_on_failure": False, "final_hessian": False}
        a = minimize(model, start_mu, free_mu, data, inputs, **kw)
        b = minimize(model, start, free, data, inputs, **kw)
        q[j] = statistic_from(a.nll, b.nll, b.x[k], mu, test_stat)
        muhat[j], ok[j] = b.x[k], a.success and b.success
    return q, muhat, ok


def toy_hypotest(
    model: Model,
    mu: float,
    data: Pytree = None,
    *,
    test_stat: str = "qtilde",
    inputs: Pytree = None,
    n_toys: int = 1000,
    seed: int = 0,
) -> HypoTestResult:
    """Toy-based CL_s at POI = ``mu`` (see module doc)."""
    data = model.data if data is None else data
    inputs = model.inputs if inputs is None else inputs
    fits = profile_fits(model, mu, data, inputs=inputs)
    q_obs = float(statistic_from(fits.fixed.nll, fits.free.nll, fits.poi_hat, mu, test_stat))
    b_pars = poi_fit(model, 0.0, data, inputs).x
    sb = toy_teststats(
        model, mu, sample_toys(model, fits.fixed.x, n_toys, seed, inputs), test_stat, inputs
    )
    b = toy_teststats(
        model, mu, sample_toys(model, b_pars, n_toys, seed + 1, inputs), test_stat, inputs
    )
    q_sb, q_b = sb.values[sb.ok], b.values[b.ok]

    def pvals(q: float) -> tuple[float, float, float]:
        clsb = float(np.mean(q_sb >= q)) if q_sb.size else float("nan")
        clb = float(np.mean(q_b >= q)) if q_b.size else float("nan")
        return clsb, clb, clsb / clb if clb > 0 else float("nan")

    clsb, clb, cls = pvals(q_obs)
    quantiles = [float(np.quantile(q_b, ndtr(n))) for n in NSIGMA] if q_b.size else []
    band = [pvals(q) for q in quantiles] or [(float("nan"),) * 3] * 5
    return HypoTestResult(
        poi_value=float(mu),
        test_stat=test_stat,
        calctype="toybased",
        CLs_obs=clsb if test_stat == "q0" else cls,
        CLs_exp=tuple(v[0] if test_stat == "q0" else v[2] for v in band),
        CLsb=clsb,
        CLb=clb,
        CLsb_exp=tuple(v[0] for v in band),
        CLb_exp=tuple(v[1] for v in band),
        teststat=q_obs,
        teststat_asimov=float("nan"),
        poi_hat=fits.poi_hat,
        n_toys=2 * n_toys,
        n_failed=int((~sb.ok).sum() + (~b.ok).sum()),
    )

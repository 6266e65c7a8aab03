"""Differentiable inference: the fit as a function, differentiated by the implicit function theorem.

At a minimum θ*(φ) of f(θ, φ) = −ln L (φ: data and model inputs such as sample templates),
∇_θ f(θ*, φ) = 0 on the free parameters F not held at a bound, so

    ∂θ*_F/∂φ = −H_FF⁻¹ ∂²f/∂θ_F∂φ,     H = ∇²_θ f(θ*, φ),

and a cotangent v on θ* pulls back to φ as  −(∂/∂φ)[∇_θ f(θ*, φ) · w],  w = H_FF⁻¹ v_F
(one Hessian solve and one vector–Jacobian product; no differentiation through the solver's
iterations). The forward pass is the pure-JAX :func:`~hs3jax.infer.newton.newton_minimize`, so
:func:`argmin` also works under ``jit`` and ``vmap``.

:func:`expected_cls` composes it into the asymptotic expected CL_s (q̃_μ, Asimov data at
μ' = 0 fitted to the observed data, as pyhf) and :func:`expected_significance` into the median
expected discovery significance (q₀ on μ' = 1 Asimov data), both differentiable with respect to
the model inputs:

    grad = jax.grad(lambda s: expected_cls(model, 1.0, model.with_sample("SR", "signal", s)))(s0)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from hs3jax.errors import ModelError
from hs3jax.infer.asimov import asimov_fn
from hs3jax.infer.asymptotics import asymptotic_teststat, cls_expected, cls_observed
from hs3jax.infer.hessian import blocked_hessian
from hs3jax.infer.newton import batch_sizes, newton_minimize
from hs3jax.infer.teststat import q0_from, qmu_from, tmu_from
from hs3jax.model import Model

__all__ = ["argmin", "expected_cls", "expected_significance", "observed_cls"]

Pytree = Any


def argmin(
    model: Model, free_mask: np.ndarray | jax.Array
) -> Callable[[jax.Array, Pytree, Pytree], jax.Array]:
    """``solve(start, data, inputs) -> θ*``: the bounded minimum of −ln L over ``free_mask``,
    differentiable in ``start`` (zero), ``data`` and ``inputs`` through the implicit function
    theorem (see module doc)."""
    # numpy constants: the custom-VJP rules must not close over tracers
    free = np.asarray(free_mask, dtype=bool)
    bounds = np.asarray(model.bounds, dtype=np.float64)
    lo, hi = bounds[:, 0], bounds[:, 1]
    # −ln L on prepared templates (prepared once per solve, differentiably), its Hessian in
    # the cache-sized blocks of the model's fits
    nll, prepare = model.prepared_nll_fn, model.prepare_fn
    # (shapes only: this may run inside another trace, where the model's cached prepared
    # templates must not be computed)
    batch, _ = batch_sizes(model, jax.eval_shape(prepare, model.inputs), model.data)
    hessian = blocked_hessian(nll, batch)

    def forward(start: jax.Array, data: Pytree, inputs: Pytree) -> jax.Array:
        return newton_minimize(
            nll, start, free, bounds, data, prepare(inputs), hessian_batch=batch
        ).x

    @jax.custom_vjp
    def solve(start: jax.Array, data: Pytree, inputs: Pytree) -> jax.Array:
        return forward(start, data, inputs)

    def fwd(
        start: jax.Array, data: Pytree, inputs: Pytree
    ) -> tuple[jax.Array, tuple[jax.Array, jax.Array, Pytree, Pytree]]:
        x = forward(start, data, inputs)
        return x, (x, start, data, inputs)

    def bwd(
        res: tuple[jax.Array, jax.Array, Pytree, Pytree], v: jax.Array
    ) -> tuple[jax.Array, Pytree, Pytree]:
        x, _start, data, inputs = res
        prepared = prepare(inputs)
        g = jax.grad(nll)(x, data, prepared)
        span = 1e-10 * jnp.maximum(1.0, jnp.abs(x))
        at_bound = ((x <= lo + span) & (g > 0)) | ((x >= hi - span) & (g < 0))
        keep = free & ~at_bound
        h = hessian(x, data, prepared)
        hm = jnp.where(keep[:, None] & keep[None, :], h, 0.0) + jnp.diag(jnp.where(keep, 0.0, 1.0))
        w = jnp.where(keep, jnp.linalg.solve(hm, jnp.where(keep, v, 0.0)), 0.0)

        def grad_dot_w(d: Pytree, i: Pytree) -> jax.Array:
            return jnp.dot(jax.grad(nll)(x, d, prepare(i)), w)

        _, pull = jax.vjp(grad_dot_w, data, inputs)
        d_data, d_inputs = pull(jnp.asarray(-1.0, dtype=x.dtype))
        # the fixed parameters pass through from ``start``
        d_start = jnp.where(free, 0.0, v)
        return d_start, d_data, d_inputs

    solve.defvjp(fwd, bwd)
    return solve


def _fits(
    model: Model, mu: Any, inputs: Pytree, asimov_mu: float = 0.0
) -> tuple[Pytree, jax.Array, jax.Array]:
    """Asimov data (μ' = ``asimov_mu``, nuisance parameters fitted to the observed data at
    μ'), and the fits to it with μ fixed at ``mu`` and with μ free."""
    if model.poi_index is None:
        raise ModelError(f"{model.name} has no parameter of interest")
    k = model.poi_index
    free = ~np.asarray(model.fixed, dtype=bool)
    free_poi = free.copy()
    free_poi[k] = False
    init = jnp.asarray(model.init)
    fixed_solve = argmin(model, free_poi)
    free_solve = argmin(model, free)
    theta0 = fixed_solve(init.at[k].set(asimov_mu), model.data, inputs)
    asimov = asimov_fn(model)(theta0, inputs)
    theta_mu = fixed_solve(init.at[k].set(mu), asimov, inputs)
    theta_hat = free_solve(init, asimov, inputs)
    return asimov, theta_mu, theta_hat


def expected_cls(model: Model, mu: Any, inputs: Pytree = None) -> jax.Array:
    """Expected CL_s at POI = ``mu`` (asymptotic, q̃_μ): the five values at −2..+2 σ, as a
    differentiable function of the model inputs (pure JAX; ``jax.grad``/``jit`` friendly)."""
    inputs = model.inputs if inputs is None else inputs
    asimov, theta_mu, theta_hat = _fits(model, mu, inputs)
    k = model.poi_index
    assert k is not None
    t = tmu_from(model.nll_fn(theta_mu, asimov, inputs), model.nll_fn(theta_hat, asimov, inputs))
    qa = qmu_from(t, theta_hat[k], mu)
    out: jax.Array = cls_expected(qa)[2]
    return out


def expected_significance(model: Model, inputs: Pytree = None) -> jax.Array:
    """Median expected discovery significance Z_A = √q₀,A (asymptotic), differentiable in the
    model inputs.

    q₀,A = 2 [−ln L(μ = 0, θ̂̂₀; D_A) + ln L(μ̂, θ̂; D_A)] on the Asimov data D_A of μ' = 1 with
    the nuisance parameters fitted to the observed data at μ = 1 (pyhf's q₀ calculator); the
    median expected p₀ is 1 − Φ(Z_A), so Z_A equals ``significance(model).Z_exp[2]``.
    Dimensionless (Gaussian standard deviations).
    """
    inputs = model.inputs if inputs is None else inputs
    asimov, theta_0, theta_hat = _fits(model, 0.0, inputs, asimov_mu=1.0)
    k = model.poi_index
    assert k is not None
    t0 = tmu_from(model.nll_fn(theta_0, asimov, inputs), model.nll_fn(theta_hat, asimov, inputs))
    out: jax.Array = jnp.sqrt(q0_from(t0, theta_hat[k]))
    return out


def observed_cls(model: Model, mu: Any, inputs: Pytree = None, data: Pytree = None) -> jax.Array:
    """Observed CL_s at POI = ``mu`` (asymptotic, q̃_μ), differentiable in inputs and data."""
    inputs = model.inputs if inputs is None else inputs
    data = model.data if data is None else data
    asimov, theta_mu_a, theta_hat_a = _fits(model, mu, inputs)
    k = model.poi_index
    assert k is not None
    free = ~np.asarray(model.fixed, dtype=bool)
    free_poi = free.copy()
    free_poi[k] = False
    init = jnp.asarray(model.init)
    theta_mu = argmin(model, free_poi)(init.at[k].set(mu), data, inputs)
    theta_hat = argmin(model, free)(init, data, inputs)
    q = qmu_from(
        tmu_from(model.nll_fn(theta_mu, data, inputs), model.nll_fn(theta_hat, data, inputs)),
        theta_hat[k],
        mu,
    )
    qa = qmu_from(
        tmu_from(
            model.nll_fn(theta_mu_a, asimov, inputs), model.nll_fn(theta_hat_a, asimov, inputs)
        ),
        theta_hat_a[k],
        mu,
    )
    out: jax.Array = cls_observed(asymptotic_teststat(q, qa, "qtilde"), qa)[2]
    return out

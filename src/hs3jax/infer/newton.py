"""A pure-JAX bounded Newton minimiser: jit-, vmap- and grad-friendly (via :mod:`implicit`).

Levenberg–Marquardt-damped projected Newton on −ln L with the exact Hessian:

    (H_FF + λ D_FF) p_F = −g_F,   D = diag(|H_ii|) + 10⁻¹²,   x ← clip(x + p, lo, hi),

where F are the free parameters not held at a bound by the gradient (at the lower bound with
g > 0, or the upper with g < 0). A step that lowers −ln L is accepted and λ shrinks ×0.2;
otherwise λ grows ×10. It stops when the Newton decrement ½ gᵀ(H+λD)⁻¹g falls below ``tol`` or
after ``maxiter`` steps. The free mask is an *array* argument, so one compiled solver serves
profile scans (vmap over starting points), toys (vmap over data) and impacts (vmap over masks).

Used where many fits run in a batch; the single fits of :func:`hs3jax.infer.fit` use scipy or
iminuit with the same Newton polishing on the host.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

__all__ = ["NewtonResult", "newton_minimize"]

Pytree = Any


@jax.tree_util.register_dataclass
@dataclass(frozen=True)
class NewtonResult:
    """Outcome of :func:`newton_minimize` (a pytree; batched under ``vmap``).

    Attributes:
        x: full parameter vector at the minimum.
        nll: −ln L at ``x``.
        converged: the Newton decrement fell below the tolerance with finite −ln L.
        iterations: Newton steps taken.
        decrement: the last Newton decrement.
    """

    x: jax.Array
    nll: jax.Array
    converged: jax.Array
    iterations: jax.Array
    decrement: jax.Array


def newton_minimize(
    nll_fn: Callable[[jax.Array, Pytree, Pytree], jax.Array],
    start: jax.Array,
    free_mask: jax.Array | np.ndarray,
    bounds: jax.Array | np.ndarray,
    data: Pytree,
    inputs: Pytree,
    *,
    maxiter: int = 100,
    tol: float = 1e-12,
) -> NewtonResult:
    """Minimise ``nll_fn(x, data, inputs)`` over ``x[free_mask]`` within ``bounds`` (pure JAX)."""
    bounds = jnp.asarray(bounds)
    lo, hi = bounds[:, 0], bounds[:, 1]
    free = jnp.asarray(free_mask, dtype=bool)
    x0 = jnp.where(free, jnp.clip(start, lo, hi), start)
    value_and_grad = jax.value_and_grad(nll_fn)
    hessian = jax.hessian(nll_fn)
    f0, g0 = value_and_grad(x0, data, inputs)

    def keep_mask(x: jax.Array, g: jax.Array) -> jax.Array:
        span = 1e-10 * jnp.maximum(1.0, jnp.abs(x))
        at_bound = ((x <= lo + span) & (g > 0)) | ((x >= hi - span) & (g < 0))
        return free & ~at_bound

    def step(x: jax.Array, g: jax.Array, lam: jax.Array) -> tuple[jax.Array, jax.Array]:
        h = hessian(x, data, inputs)
        keep = keep_mask(x, g)
        both = keep[:, None] & keep[None, :]
        d = jnp.abs(jnp.diag(h)) + 1e-12
        hm = jnp.where(both, h, 0.0) + jnp.diag(jnp.where(keep, lam * d, 1.0))
        gm = jnp.where(keep, g, 0.0)
        p = -jnp.linalg.solve(hm, gm)
        p = jnp.where(keep & jnp.isfinite(p), p, 0.0)
        return p, -0.5 * jnp.dot(gm, p)

    State = tuple[jax.Array, jax.Array, jax.Array, jax.Array, jax.Array, jax.Array]

    def cond(state: State) -> jax.Array:
        _, _, _, _, it, dec = state
        return (it < maxiter) & ~(dec < tol)

    def body(state: State) -> State:
        x, f, g, lam, it, _ = state
        p, dec = step(x, g, lam)
        xn = jnp.where(free, jnp.clip(x + p, lo, hi), x)
        fn, gn = value_and_grad(xn, data, inputs)
        floor = 8 * float(np.finfo(np.float64).eps) * jnp.maximum(1.0, jnp.abs(f))
        ok = jnp.isfinite(fn) & jnp.all(jnp.isfinite(gn)) & (fn <= f + floor)
        x = jnp.where(ok, xn, x)
        f = jnp.where(ok, fn, f)
        g = jnp.where(ok, gn, g)
        lam = jnp.where(ok, lam * 0.2, jnp.maximum(lam * 10.0, 1e-6))
        dec = jnp.where(ok | (lam > 1e12), dec, jnp.inf)
        return x, f, g, lam, it + 1, dec

    init = (x0, f0, g0, jnp.asarray(1e-3, dtype=f0.dtype), jnp.asarray(0), jnp.asarray(jnp.inf))
    x, f, g, lam, it, _ = lax.while_loop(cond, body, init)
    _, dec = step(x, g, jnp.zeros_like(lam))
    converged = jnp.isfinite(f) & (dec < 1e-8)
    return NewtonResult(x=x, nll=f, converged=converged, iterations=it, decrement=dec)

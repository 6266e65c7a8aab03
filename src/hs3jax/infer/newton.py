"""A pure-JAX bounded Newton minimiser: jit-, vmap- and grad-friendly (via :mod:`implicit`).

Levenberg–Marquardt-damped projected Newton on −ln L with the exact Hessian:

    (H_FF + λ D_FF) p_F = −g_F,   D = diag(|H_ii|) + 10⁻¹²,   x ← clip(x + p, lo, hi),

where F are the free parameters not held at a bound by the gradient (at the lower bound with
g > 0, or the upper with g < 0). A step that lowers −ln L is accepted and λ shrinks ×0.2;
otherwise λ grows ×10. It stops when the Newton decrement ½ gᵀ(H+λD)⁻¹g falls below ``tol`` or
after ``maxiter`` steps. The free mask is an *array* argument, so one compiled solver serves
profile scans (vmap over starting points), toys (vmap over data) and impacts (vmap over masks).

Used where many fits run in a batch; the single fits of :func:`hs3jax.infer.fit` use scipy or
iminuit with the same Newton polishing on the host. Batches of fits (:func:`in_batches`) take
the Hessian in the cache-sized blocks of :func:`hs3jax.infer.hessian.hessian_batch` and run
as many fits per call as keep one Hessian intermediate of the whole batch near 256 MiB
(:func:`batch_sizes`): the 378 impact fits of ATLAS-SUSY-2018-16, all directions at once,
asked for 23.7 GB.

Batched fits of one data set (impacts, profile scans: :func:`fit_batch`) run on the host one
after another, with :func:`hs3jax.infer.minimize.minimize`, where the platform is a CPU and a
model's Hessian goes in blocks: there a vmapped batch multiplies each block's tangents by the
number of fits and leaves the cache the blocks were sized for (ATLAS-SUSY-2018-16 impacts,
378 fits: 741 s vmapped in batches, 38 s one after another; ATLAS-SUSY-2018-31 BkgOnlyA,
whose Hessian is one block: 10 s vmapped, compilation included).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from hs3jax.infer.hessian import blocked_hessian, hessian_batch, widest_array
from hs3jax.infer.minimize import minimize
from hs3jax.model import Model

__all__ = [
    "NewtonResult",
    "batch_sizes",
    "fit_batch",
    "host_fits_preferred",
    "in_batches",
    "newton_minimize",
]

Pytree = Any

#: bytes of one Hessian intermediate of a whole batch of fits (tangent blocks × fits)
_BATCH_BYTES = 1 << 28


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
    hessian_batch: int | None = None,
) -> NewtonResult:
    """Minimise ``nll_fn(x, data, inputs)`` over ``x[free_mask]`` within ``bounds`` (pure JAX);
    the Hessian ``hessian_batch`` directions at a time (all at once where None)."""
    bounds = jnp.asarray(bounds)
    lo, hi = bounds[:, 0], bounds[:, 1]
    free = jnp.asarray(free_mask, dtype=bool)
    x0 = jnp.where(free, jnp.clip(start, lo, hi), start)
    value_and_grad = jax.value_and_grad(nll_fn)
    hessian = blocked_hessian(nll_fn, hessian_batch)
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


def batch_sizes(model: Model, prepared: Pytree, data: Pytree) -> tuple[int, int]:
    """(Hessian directions per block, fits per call) for batched Newton fits of ``model``'s
    ``prepared_nll_fn`` on ``prepared`` templates and ``data`` (one data set's shapes)."""
    n = len(model.parameters)
    read = (prepared, data)
    block = hessian_batch(n, model.inputs, read)
    per_fit = 8 * min(block, n) * max(1, widest_array(read))
    return block, max(1, _BATCH_BYTES // per_fit)


def in_batches(solve: Callable[..., Pytree], args: tuple[Pytree, ...], per_call: int) -> Pytree:
    """``solve(*args)`` (a jitted ``vmap`` over the leading axis of every leaf of ``args``)
    ``per_call`` entries at a time; a short last batch is padded with copies of its last entry,
    so every call runs the same compiled program."""
    size = int(jax.tree_util.tree_leaves(args)[0].shape[0])
    if size <= per_call:
        return solve(*args)
    outs = []
    for begin in range(0, size, per_call):
        index = np.minimum(np.arange(begin, begin + per_call), size - 1)
        outs.append(solve(*jax.tree_util.tree_map(lambda a, i=index: a[i], args)))
    joined: Pytree = jax.tree_util.tree_map(lambda *o: jnp.concatenate(o)[:size], *outs)
    return joined


def host_fits_preferred(model: Model, block: int) -> bool:
    """Whether a batch of fits of ``model`` whose Hessian goes ``block`` directions at a time
    runs faster as host fits one after another (a CPU and a blocked Hessian: module doc)."""
    return block < len(model.parameters) and jax.default_backend() == "cpu"


def fit_batch(
    model: Model, starts: np.ndarray, masks: np.ndarray, data: Pytree, inputs: Pytree
) -> NewtonResult:
    """Fits of ``model`` to one data set from each row of ``starts`` (full vectors, fixed
    entries as given) over the parameters in the same row of ``masks``; numpy results. A
    vmapped :func:`newton_minimize` in batches, or host fits one after another on a CPU
    where the Hessian goes in blocks (module doc)."""
    starts = np.asarray(starts, dtype=np.float64)
    masks = np.asarray(masks, dtype=bool)
    with jax.enable_x64(True):
        prepared = model.prepared_inputs(inputs)
        block, per_call = batch_sizes(model, prepared, data)
        if host_fits_preferred(model, block):
            fits = [
                minimize(model, s, m, data, inputs, raise_on_failure=False, final_hessian=False)
                for s, m in zip(starts, masks, strict=True)
            ]
            out = NewtonResult(
                x=jnp.asarray(np.stack([f.x for f in fits])),
                nll=jnp.asarray([f.nll for f in fits]),
                converged=jnp.asarray([f.success for f in fits]),
                iterations=jnp.asarray([f.n_calls for f in fits]),
                decrement=jnp.asarray([f.decrement for f in fits]),
            )
        else:
            solve = jax.jit(
                jax.vmap(
                    lambda s, m: newton_minimize(
                        model.prepared_nll_fn,
                        s,
                        m,
                        model.bounds,
                        data,
                        prepared,
                        hessian_batch=block,
                    )
                )
            )
            out = in_batches(solve, (jnp.asarray(starts), jnp.asarray(masks)), per_call)
        result: NewtonResult = jax.tree_util.tree_map(np.asarray, out)
        return result

"""The Hessian of −ln L in blocks of Hessian-vector products, for bounded memory.

``jax.hessian`` (forward over reverse) pushes all n tangent directions through the model at
once: every intermediate array of −ln L is held n times. For the 2,277-parameter benchmark model
(15,000 template entries) that is 2.4 GB. :func:`blocked_hessian` computes the same rows

    H e_i = ∂/∂ε ∇f(x + ε e_i) |_(ε=0)

``batch`` directions at a time in a ``lax.map`` (0.8 GB there). Blocks are also faster where
all n tangents of the widest array −ln L reads (w entries: n·w·8 bytes) would not stay in a
core's cache: :func:`hessian_batch` sizes them to ~512 KiB per intermediate once n·w·8 exceeds
2 MiB. Measured (2-core CPU, per Hessian, all directions at once → blocks):
ATLAS-SUSY-2018-16 (n = 191, w = 3,839 normsys entries) 54 → 15 ms; ATLAS-SUSY-2019-09
(328, 4,171) 80 → 27 ms; the synthetic 2,277-parameter model (w = 15,000) 554 → 297 ms. Below
the 2 MiB line (the other published likelihoods, n·w·8 ≤ 1.4 MB) one pass is as fast or
faster (ATLAS-SUSY-2018-05: 1.1 ms against 2.2 ms in blocks of 16), so those models use
``jax.hessian`` unchanged.

Binned models of more than 300 parameters take their Hessian from fewer products still where it
is sparse, as it is where most parameters are per-bin γ (:mod:`hs3jax.infer.sparsity`).

Models with unbinned channels of one structure (:class:`hs3jax.model.EventTerms`) get their
Hessian by the chain rule instead (:func:`event_split_hessian`): the events are differentiated
in each channel's few values only, not in every parameter.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from hs3jax.model import EventTerms

__all__ = [
    "blocked_hessian",
    "event_split_hessian",
    "hessian_batch",
    "hessian_products",
    "value_grad_hessian",
    "widest_array",
]

#: float64 elements of model inputs × directions per block: about 64 MB per intermediate array.
_BLOCK_ELEMENTS = 1 << 23
#: bytes of all n tangents of the widest array read above which the Hessian goes in blocks
_SPILL_BYTES = 1 << 21
#: bytes of one block's tangents of the widest array read (a share of a core's L2 cache)
_CACHE_BYTES = 1 << 19
#: fewest directions per cache-sized block (fewer leave the block loop's overhead exposed)
_MIN_CACHE_BLOCK = 8


def hessian_batch(n_parameters: int, inputs: Any, read: Any = ()) -> int:
    """Directions per block for a model of ``n_parameters`` whose inputs (templates) hold
    the arrays in ``inputs`` and whose −ln L reads the arrays in ``read`` per call (prepared
    templates and data; arrays or ``jax.ShapeDtypeStruct``): all at once for small models, else equal blocks whose intermediates
    stay near 64 MB each (memory) and, where n tangents of the widest 1-D array of ``read``
    exceed 2 MiB, near 512 KiB each (cache; see the module doc)."""
    size = sum(int(np.size(leaf)) for leaf in jax.tree_util.tree_leaves(inputs))
    per_block = max(16, _BLOCK_ELEMENTS // max(1, size))
    widest = widest_array(read)
    if n_parameters * widest * 8 > _SPILL_BYTES:
        per_block = min(per_block, max(_MIN_CACHE_BLOCK, _CACHE_BYTES // (8 * widest)))
    if n_parameters <= per_block:
        return n_parameters
    n_blocks = -(-n_parameters // per_block)
    return -(-n_parameters // n_blocks)


def widest_array(read: Any) -> int:
    """Length of the longest 1-D array (or ``jax.ShapeDtypeStruct``) in the pytree ``read``
    (0 if none): per-entry intermediates of −ln L have its length, and each Hessian direction
    carries one tangent of each."""
    shapes = [np.shape(leaf) for leaf in jax.tree_util.tree_leaves(read)]
    return max((int(shape[0]) for shape in shapes if len(shape) == 1), default=0)


def blocked_hessian(
    fn: Callable[..., jax.Array], batch: int | None = None
) -> Callable[..., jax.Array]:
    """``(x, *args) -> ∇²_x fn(x, *args)`` computed ``batch`` rows at a time (all rows at once
    where ``batch`` is None or at least the length of ``x``)."""
    full = jax.hessian(fn)
    products = hessian_products(fn, batch)

    def hessian(x: jax.Array, *args: Any) -> jax.Array:
        if batch is None or batch >= x.shape[0]:
            matrix: jax.Array = full(x, *args)
            return matrix
        return products(x, jnp.eye(x.shape[0], dtype=x.dtype), *args)

    return hessian


def hessian_products(
    fn: Callable[..., jax.Array], batch: int | None = None
) -> Callable[..., jax.Array]:
    """``(x, seeds, *args) -> seeds @ ∇²_x fn(x, *args)``: one Hessian-vector product per row
    of ``seeds`` ([k, n]; H is symmetric, so row r is H·seeds[r]), ``batch`` rows at a time
    (all at once where ``batch`` is None or at least k)."""
    grad = jax.grad(fn)

    def products(x: jax.Array, seeds: jax.Array, *args: Any) -> jax.Array:
        def hvp(v: jax.Array) -> jax.Array:
            row: jax.Array = jax.jvp(lambda y: grad(y, *args), (x,), (v,))[1]
            return row

        k, n = seeds.shape
        if batch is None or batch >= k:
            out: jax.Array = jax.vmap(hvp)(seeds)
            return out
        n_blocks = -(-k // batch)
        # zero rows pad the last block, so one compiled block serves all
        padded = jnp.zeros((n_blocks * batch, n), seeds.dtype).at[:k].set(seeds)
        rows = jax.lax.map(jax.vmap(hvp), padded.reshape(n_blocks, batch, n))
        out = rows.reshape(n_blocks * batch, n)[:k]
        return out

    return products


def value_grad_hessian(
    fn: Callable[..., jax.Array], batch: int | None = None
) -> Callable[..., tuple[jax.Array, jax.Array, jax.Array]]:
    """``(x, *args) -> (f, ∇f, ∇²f)`` in one program: from one forward-over-reverse pass (the
    value and gradient are the primal outputs of the pass that differentiates the gradient),
    or with the Hessian ``batch`` rows at a time (:func:`blocked_hessian`) where ``batch`` is
    below the length of ``x``."""

    def forward_over_reverse(x: jax.Array, *args: Any) -> tuple[jax.Array, jax.Array, jax.Array]:
        def gradient(y: jax.Array) -> tuple[jax.Array, tuple[jax.Array, jax.Array]]:
            f, g = jax.value_and_grad(fn)(y, *args)
            return g, (f, g)

        h, (f, g) = jax.jacfwd(gradient, has_aux=True)(x)
        return f, g, h

    if batch is not None:
        blocked = blocked_hessian(fn, batch)

        def in_blocks(x: jax.Array, *args: Any) -> tuple[jax.Array, jax.Array, jax.Array]:
            if batch >= x.shape[0]:
                return forward_over_reverse(x, *args)
            f, g = jax.value_and_grad(fn)(x, *args)
            return f, g, blocked(x, *args)

        return in_blocks
    return forward_over_reverse


def event_split_hessian(
    terms: EventTerms, rest_batch: int | None = None
) -> Callable[..., jax.Array]:
    """``(pars, data, inputs) -> ∇²(−ln L)`` for −ln L = rest(θ) + E(v(θ)) (:class:`EventTerms`):

        ∇²(−ln L) = ∇²rest + Jᵀ (∇²_v E) J + Σ_j (∂E/∂v_j) ∇²v_j,    J = ∂v/∂θ

    ``∇²_v E`` comes from the per-channel Hessians (K directions through each channel's
    events, K its number of values); ``J`` and ``∇²v_j`` differentiate only the functions of
    the parameters, and ``rest`` (constraints, binned and ungrouped terms) its own Hessian,
    ``rest_batch`` directions at a time (:func:`blocked_hessian`)."""
    rest_hessian = blocked_hessian(terms.rest_fn, rest_batch)

    def hessian(pars: jax.Array, data: Any, inputs: Any) -> jax.Array:
        aux, events = data["aux"], data["events"]
        values = terms.values_fn(pars, aux)
        jac = jax.jacfwd(terms.values_fn)(pars, aux)
        grad_v = jax.grad(terms.nll_fn)(values, events)
        h_v = terms.hessian_fn(values, events)
        curvature = jax.hessian(lambda p: jnp.dot(grad_v, terms.values_fn(p, aux)))(pars)
        out: jax.Array = rest_hessian(pars, data, inputs) + jac.T @ h_v @ jac + curvature
        return out

    return hessian

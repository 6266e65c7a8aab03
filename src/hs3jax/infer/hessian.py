"""The Hessian of −ln L in blocks of Hessian-vector products, for bounded memory.

``jax.hessian`` (forward over reverse) pushes all n tangent directions through the model at
once: every intermediate array of −ln L is held n times. For the 2,277-parameter benchmark model
(15,000 template entries) that is 2.4 GB. :func:`blocked_hessian` computes the same rows

    H e_i = ∂/∂ε ∇f(x + ε e_i) |_(ε=0)

``batch`` directions at a time in a ``lax.map`` (0.8 GB there, and faster: the blocks stay in
cache); models small enough for one block use ``jax.hessian`` unchanged.

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

__all__ = ["blocked_hessian", "event_split_hessian", "hessian_batch", "value_grad_hessian"]

#: float64 elements of model inputs × directions per block: about 64 MB per intermediate array.
_BLOCK_ELEMENTS = 1 << 23


def hessian_batch(n_parameters: int, inputs: Any) -> int:
    """Directions per block for a model of ``n_parameters`` whose inputs (templates) hold
    the arrays in ``inputs``: all at once for small models, else equal blocks whose
    intermediates stay near 64 MB each."""
    size = sum(int(np.size(leaf)) for leaf in jax.tree_util.tree_leaves(inputs))
    per_block = max(16, _BLOCK_ELEMENTS // max(1, size))
    if n_parameters <= per_block:
        return n_parameters
    n_blocks = -(-n_parameters // per_block)
    return -(-n_parameters // n_blocks)


def blocked_hessian(
    fn: Callable[..., jax.Array], batch: int | None = None
) -> Callable[..., jax.Array]:
    """``(x, *args) -> ∇²_x fn(x, *args)`` computed ``batch`` rows at a time (all rows at once
    where ``batch`` is None or at least the length of ``x``)."""
    full = jax.hessian(fn)
    grad = jax.grad(fn)

    def hessian(x: jax.Array, *args: Any) -> jax.Array:
        n = x.shape[0]
        if batch is None or batch >= n:
            matrix: jax.Array = full(x, *args)
            return matrix
        n_blocks = -(-n // batch)
        # zero directions pad the last block, so one compiled block serves all
        directions = jnp.eye(n_blocks * batch, n, dtype=x.dtype).reshape(n_blocks, batch, n)

        def hvp(v: jax.Array) -> jax.Array:
            row: jax.Array = jax.jvp(lambda y: grad(y, *args), (x,), (v,))[1]
            return row

        rows = jax.lax.map(jax.vmap(hvp), directions)
        out: jax.Array = rows.reshape(n_blocks * batch, n)[:n]
        return out

    return hessian


def value_grad_hessian(
    fn: Callable[..., jax.Array],
) -> Callable[..., tuple[jax.Array, jax.Array, jax.Array]]:
    """``(x, *args) -> (f, ∇f, ∇²f)`` from one forward-over-reverse pass: the value and
    gradient are the primal outputs of the pass that differentiates the gradient."""

    def value_grad_hessian(x: jax.Array, *args: Any) -> tuple[jax.Array, jax.Array, jax.Array]:
        def gradient(y: jax.Array) -> tuple[jax.Array, tuple[jax.Array, jax.Array]]:
            f, g = jax.value_and_grad(fn)(y, *args)
            return g, (f, g)

        h, (f, g) = jax.jacfwd(gradient, has_aux=True)(x)
        return f, g, h

    return value_grad_hessian


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

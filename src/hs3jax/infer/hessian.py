"""The Hessian of −ln L in blocks of Hessian-vector products, for bounded memory.

``jax.hessian`` (forward over reverse) pushes all n tangent directions through the model at
once: every intermediate array of −ln L is held n times. For the 2,277-parameter benchmark model
(15,000 template entries) that is 2.4 GB. :func:`blocked_hessian` computes the same rows

    H e_i = ∂/∂ε ∇f(x + ε e_i) |_(ε=0)

``batch`` directions at a time in a ``lax.map`` (0.8 GB there, and faster: the blocks stay in
cache); models small enough for one block use ``jax.hessian`` unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["blocked_hessian", "hessian_batch", "value_grad_hessian"]

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

"""Pieces shared by the JAX peers: model byte counts and the batch of parameter points."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["batch_points", "pytree_bytes"]


def pytree_bytes(*trees: Any) -> int:
    """Bytes of every array leaf of ``trees`` (the model's tensors: one pass over them is the
    memory-bandwidth floor of an NLL evaluation)."""
    import jax

    total = 0
    for tree in trees:
        for leaf in jax.tree_util.tree_leaves(tree):
            total += int(np.asarray(leaf).nbytes) if hasattr(leaf, "shape") else 0
    return total


def batch_points(
    init: np.ndarray, lo: np.ndarray, hi: np.ndarray, n: int, seed: int = 1
) -> np.ndarray:
    """``n`` parameter vectors near ``init`` (relative 1% jitter, absolute 0.05 for parameters
    at 0), clipped to the bounds; seeded, so every peer sees the same distribution of points."""
    rng = np.random.default_rng(seed)
    scale = np.where(init != 0.0, 0.01 * np.abs(init), 0.05)
    pts = init[None, :] + scale[None, :] * rng.standard_normal((n, init.size))
    return np.clip(pts, lo[None, :], hi[None, :])

"""Memory bandwidth, measured once with a numpy copy: the floor of one pass over a model's
tensors is (bytes of the arrays) / (this bandwidth)."""

from __future__ import annotations

import time

import numpy as np

__all__ = ["copy_bandwidth"]


def copy_bandwidth(mbytes: int = 256, repeats: int = 7) -> float:
    """Bytes per second moved by ``np.copyto`` of a ``mbytes`` MB float64 array (read + write:
    2 x size per copy), best of ``repeats``. The array is far larger than any cache."""
    src = np.ones(mbytes * 2**20 // 8)
    dst = np.empty_like(src)
    np.copyto(dst, src)  # touch the pages first
    best = min(_timed_copy(dst, src) for _ in range(repeats))
    return 2.0 * src.nbytes / best


def _timed_copy(dst: np.ndarray, src: np.ndarray) -> float:
    t0 = time.perf_counter()
    np.copyto(dst, src)
    return time.perf_counter() - t0

"""Compressed Hessians of large models and the block solves of their Newton steps
(hs3jax.infer.sparsity): the same matrices, steps, minima and covariances as the dense path."""

from __future__ import annotations

import weakref
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import hs3jax
from hs3jax.infer import fit, hypotest, sparsity
from hs3jax.infer import minimize as minimize_module
from hs3jax.infer.hessian import hessian_products
from hs3jax.infer.minimize import objective
from hs3jax.infer.sparsity import (
    BlockLayout,
    BlockSolve,
    SparseHessian,
    color_columns,
    component_labels,
)


def _block_pattern(n_dense: int, blocks: list[int]) -> np.ndarray:
    """Dense rows first, then diagonal blocks of the given sizes."""
    n = n_dense + sum(blocks)
    pattern = np.zeros((n, n), dtype=bool)
    pattern[:n_dense, :] = pattern[:, :n_dense] = True
    at = n_dense
    for size in blocks:
        pattern[at : at + size, at : at + size] = True
        at += size
    return pattern


def _spd_with(pattern: np.ndarray, seed: int = 0) -> np.ndarray:
    """A symmetric positive definite matrix with exactly the entries ``pattern``."""
    rng = np.random.default_rng(seed)
    n = len(pattern)
    a = np.where(pattern, rng.uniform(-1.0, 1.0, (n, n)), 0.0)
    a = 0.5 * (a + a.T)
    return a + (np.abs(a).sum(axis=1).max() + 1.0) * np.eye(n)


def test_coloring_recovers_a_sparse_symmetric_matrix_from_few_products() -> None:
    rng = np.random.default_rng(1)
    pattern = _block_pattern(4, [1, 2, 3] * 10)
    # a few couplings between blocks, so colours must avoid them
    for _ in range(6):
        i, j = rng.integers(4, len(pattern), size=2)
        pattern[i, j] = pattern[j, i] = True
    h = _spd_with(pattern)
    coloring = color_columns(pattern)
    assert coloring.n_products < len(pattern) // 3
    products = coloring.seeds @ h
    np.testing.assert_array_equal(coloring.decompress(products), h)
    subset = np.flatnonzero(rng.uniform(size=len(h)) < 0.7)
    np.testing.assert_array_equal(coloring.decompress(products, subset), h[np.ix_(subset, subset)])
    v = rng.standard_normal(len(h))
    np.testing.assert_allclose(coloring.times(products, v), h @ v, rtol=1e-13, atol=1e-13)


def test_hessian_products_are_seeded_rows_of_the_hessian() -> None:
    def f(x: jax.Array, scale: jax.Array) -> jax.Array:
        return jnp.sum(scale * jnp.exp(x) * x**2) + jnp.sum(x[:-1] * x[1:]) ** 2

    x = jnp.linspace(-0.5, 0.7, 11)
    seeds = np.random.default_rng(2).standard_normal((7, 11))  # 7 rows: not whole blocks of 3
    expected = seeds @ np.asarray(jax.hessian(f)(x, 2.0))
    for batch in (None, 3):
        got = np.asarray(jax.jit(hessian_products(f, batch))(x, seeds, 2.0))
        np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-12)


def test_block_solve_gives_the_dense_solution_and_inverse() -> None:
    pattern = _block_pattern(3, [2, 2, 5, 1, 5])
    h = _spd_with(pattern, seed=3)
    dense = np.zeros(len(h), dtype=bool)
    dense[:3] = True
    labels = component_labels(dense, pattern)
    assert labels is not None
    layout = BlockLayout.of(labels)
    assert sorted(b.shape for b in layout.blocks) == [(1, 1), (2, 2), (2, 5)]
    factor = BlockSolve.factor(h, layout)
    assert factor is not None
    g = np.random.default_rng(4).standard_normal(len(h))
    np.testing.assert_allclose(factor.solve(g), np.linalg.solve(h, g), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(factor.inverse(), np.linalg.inv(h), rtol=1e-12, atol=1e-14)


def test_block_solve_of_an_indefinite_matrix_is_shifted_to_a_descent_direction() -> None:
    pattern = _block_pattern(2, [3, 3])
    h = _spd_with(pattern, seed=5) - 30.0 * np.eye(8)  # every eigenvalue negative or small
    dense = np.zeros(8, dtype=bool)
    dense[:2] = True
    labels = component_labels(dense, pattern)
    assert labels is not None
    layout = BlockLayout.of(labels)
    assert BlockSolve.factor(h, layout) is None
    shifted = BlockSolve.shifted(h, layout)
    assert shifted is not None
    g = np.arange(1.0, 9.0)
    p = shifted.solve(g)
    assert g @ p > 0  # −p is a descent direction
    shift = _shift_of(shifted, h, g)
    assert shift > 0
    assert np.all(np.linalg.eigvalsh(h + shift * np.eye(8)) > 0)


def _shift_of(factor: BlockSolve, h: np.ndarray, g: np.ndarray) -> float:
    """The s with (h + s·1) p = g for the solve p of ``factor``."""
    p = factor.solve(g)
    return float((g - h @ p) @ p / (p @ p))


def _workspace(n_bins: int = 80, channels: int = 2, seed: int = 0) -> dict[str, Any]:
    """A pyhf workspace of 4 + 4·n_bins parameters (more than the fused Newton program's
    300 for the default 80 bins): per channel a signal (normfactor μ, normsys), a falling
    background (staterror, shared histosys and normsys) and a flat one (shapesys)."""
    rng = np.random.default_rng(seed)
    x = (np.arange(n_bins) + 0.5) / n_bins
    spec, observations = [], []
    for c in range(channels):
        signal = 20.0 * np.exp(-0.5 * ((x - 0.5) / 0.1) ** 2) + 0.1
        falling = 200.0 * np.exp(-3.0 * x) + 5.0
        flat = np.full(n_bins, 30.0 + 5 * c)
        spec.append(
            {
                "name": f"ch{c}",
                "samples": [
                    {
                        "name": "signal",
                        "data": signal.tolist(),
                        "modifiers": [
                            {"name": "mu", "type": "normfactor", "data": None},
                            {"name": "sig_xsec", "type": "normsys", "data": {"hi": 1.1, "lo": 0.9}},
                        ],
                    },
                    {
                        "name": "falling",
                        "data": falling.tolist(),
                        "modifiers": [
                            {
                                "name": f"stat_ch{c}",
                                "type": "staterror",
                                "data": (0.05 * falling).tolist(),
                            },
                            {
                                "name": "jes",
                                "type": "histosys",
                                "data": {
                                    "hi_data": (falling * (1.0 + 0.1 * x)).tolist(),
                                    "lo_data": (falling * (1.0 - 0.08 * x)).tolist(),
                                },
                            },
                            {
                                "name": "bkg_norm",
                                "type": "normsys",
                                "data": {"hi": 1.05, "lo": 0.95},
                            },
                        ],
                    },
                    {
                        "name": "flat",
                        "data": flat.tolist(),
                        "modifiers": [
                            {
                                "name": f"shape_ch{c}",
                                "type": "shapesys",
                                "data": (0.1 * flat).tolist(),
                            },
                        ],
                    },
                ],
            }
        )
        observations.append(
            {"name": f"ch{c}", "data": rng.poisson(signal + falling + flat).astype(float).tolist()}
        )
    return {
        "channels": spec,
        "observations": observations,
        "measurements": [{"name": "meas", "config": {"poi": "mu", "parameters": []}}],
        "version": "1.0.0",
    }


@pytest.fixture(scope="module")
def large_model() -> hs3jax.Model:
    model = hs3jax.load(_workspace()).model()
    assert len(model.parameters) == 324
    return model


def test_large_model_hessian_is_compressed_and_exact(large_model: hs3jax.Model) -> None:
    obj = objective(large_model)
    sparse_hessian = obj.hessian
    assert isinstance(sparse_hessian, SparseHessian)
    prepared = obj.prepare(large_model.inputs)
    data = large_model.data
    x0 = np.asarray(large_model.init, dtype=np.float64)
    sparse_hessian(x0, data, prepared)  # learns the pattern (if no fit did yet)
    # 4 parameters act on every bin; the γ pair up bin by bin
    assert sparse_hessian.n_products <= 4 + 2 + 1 < len(x0)
    x = x0 + np.random.default_rng(6).uniform(-0.2, 0.2, len(x0))
    misses = sparse_hessian.misses
    compressed = sparse_hessian(x, data, prepared)
    full = sparse_hessian.full(x, data, prepared)
    assert sparse_hessian.misses == misses
    np.testing.assert_allclose(compressed, full, rtol=0, atol=1e-12 * np.abs(full).max())


def test_probe_catches_couplings_the_pattern_missed() -> None:
    """At μ = 0 the signal's normsys couples to nothing but μ and its own constraint; the
    pattern read there misses its couplings to the γ, which the probe finds at μ = 1."""
    model = hs3jax.load(_workspace(seed=1)).model()
    products = objective(model).hessian.products  # type: ignore[attr-defined]
    sparse_hessian = SparseHessian(products, len(model.parameters), 64)
    prepared = objective(model).prepare(model.inputs)
    x = np.array(model.init, dtype=np.float64)
    x[model.index("mu")] = 0.0
    sparse_hessian(x, model.data, prepared)
    before = sparse_hessian.n_products
    x[model.index("mu")] = 1.0
    h = sparse_hessian(x, model.data, prepared)
    assert sparse_hessian.misses == 1
    full = sparse_hessian.full(x, model.data, prepared)
    np.testing.assert_array_equal(h, full)  # the miss returns the full Hessian
    assert sparse_hessian.n_products != before  # ... and the pattern grew
    again = sparse_hessian(x, model.data, prepared)
    assert sparse_hessian.misses == 1
    np.testing.assert_allclose(again, full, rtol=0, atol=1e-12 * np.abs(full).max())


def test_large_fit_by_blocks_equals_the_dense_fit(
    large_model: hs3jax.Model, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocks = fit(large_model)
    blocks_test = hypotest(large_model, 1.0)
    assert blocks.method == "newton"  # a compressed Hessian makes Newton pay
    # the dense path: no compression, so L-BFGS-B, dense Newton polish and dense inverse
    monkeypatch.setattr(sparsity, "MAX_PRODUCT_FRACTION", 0.0)
    monkeypatch.setattr(minimize_module, "_CACHE", weakref.WeakKeyDictionary())
    monkeypatch.setattr(minimize_module, "_DERIVATIVES", weakref.WeakKeyDictionary())
    dense = fit(large_model)
    dense_test = hypotest(large_model, 1.0)
    assert dense.method == "lbfgsb"
    assert objective(large_model).hessian.coloring is None  # type: ignore[attr-defined]
    assert blocks.nll == pytest.approx(dense.nll, rel=1e-13)
    np.testing.assert_allclose(blocks.x, dense.x, rtol=0, atol=1e-7)
    np.testing.assert_allclose(blocks.covariance, dense.covariance, rtol=1e-6, atol=1e-12)
    assert blocks_test.CLs_obs == pytest.approx(dense_test.CLs_obs, rel=1e-6)
    np.testing.assert_allclose(blocks_test.CLs_exp, dense_test.CLs_exp, rtol=1e-6)


def test_a_dense_large_hessian_is_not_compressed_and_the_fit_runs_lbfgsb_first() -> None:
    """310 normsys on one sample of one channel: every α meets every other in every bin, so
    the pattern has no zeros, no colouring pays and the fit takes the dense path."""
    rng = np.random.default_rng(7)
    n_bins, n_alpha = 12, 310
    nominal = np.linspace(50.0, 20.0, n_bins)
    modifiers = [{"name": "mu", "type": "normfactor", "data": None}] + [
        {"name": f"a{i}", "type": "normsys", "data": {"hi": 1.0 + h, "lo": 1.0 - h}}
        for i, h in enumerate(rng.uniform(0.001, 0.01, n_alpha))
    ]
    workspace = {
        "channels": [
            {
                "name": "ch",
                "samples": [{"name": "s", "data": nominal.tolist(), "modifiers": modifiers}],
            }
        ],
        "observations": [{"name": "ch", "data": rng.poisson(nominal).astype(float).tolist()}],
        "measurements": [{"name": "meas", "config": {"poi": "mu", "parameters": []}}],
        "version": "1.0.0",
    }
    model = hs3jax.load(workspace).model()
    result = fit(model)
    sparse_hessian = objective(model).hessian
    assert isinstance(sparse_hessian, SparseHessian)
    assert sparse_hessian.pattern is not None and sparse_hessian.pattern.all()
    assert sparse_hessian.coloring is None and sparse_hessian.n_products == len(model.parameters)
    assert result.success and result.method == "lbfgsb"
    assert np.all(np.isfinite(result.covariance)) and np.all(np.diag(result.covariance) > 0)

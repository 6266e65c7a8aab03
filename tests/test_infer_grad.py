"""Differentiable inference: gradients of expected CLs with respect to a signal template
(implicit function theorem) equal central finite differences."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import hs3jax
from conftest import ROOT
from hs3jax.infer import expected_cls, expected_significance, hypotest, significance


def test_grad_expected_cls_equals_finite_differences() -> None:
    model = hs3jax.load(ROOT / "tests" / "data" / "pyhf" / "simple.json").model()
    channel, sample = next(k for k in model.sample_slices if k[1] == "signal")
    a, b = model.sample_slices[(channel, sample)]
    s0 = np.asarray(model.inputs["histfactory"]["nominal"][a:b])

    @jax.jit
    def median_cls(yields: jax.Array) -> jax.Array:
        return expected_cls(model, 1.0, model.with_sample(channel, sample, yields))[2]

    value = float(median_cls(jnp.asarray(s0)))
    assert abs(value - hypotest(model, 1.0).CLs_exp[2]) <= 1e-9
    grad = np.asarray(jax.jit(jax.grad(median_cls))(jnp.asarray(s0)))
    for i in range(len(s0)):
        h = 1e-4 * s0[i]
        up, down = s0.copy(), s0.copy()
        up[i] += h
        down[i] -= h
        fd = (float(median_cls(jnp.asarray(up))) - float(median_cls(jnp.asarray(down)))) / (2 * h)
        assert abs(grad[i] - fd) <= 1e-4 * abs(fd), (i, grad[i], fd)


def test_grad_expected_significance_equals_finite_differences() -> None:
    """d Z_A / d(signal template) by implicit differentiation, against central differences."""
    model = hs3jax.load(ROOT / "tests" / "data" / "pyhf" / "simple.json").model()
    channel, sample = next(k for k in model.sample_slices if k[1] == "signal")
    a, b = model.sample_slices[(channel, sample)]
    s0 = np.asarray(model.inputs["histfactory"]["nominal"][a:b])

    @jax.jit
    def z_expected(yields: jax.Array) -> jax.Array:
        return expected_significance(model, model.with_sample(channel, sample, yields))

    value = float(z_expected(jnp.asarray(s0)))
    assert abs(value - significance(model).Z_exp[2]) <= 1e-8
    grad = np.asarray(jax.jit(jax.grad(z_expected))(jnp.asarray(s0)))
    assert np.all(grad > 0)  # more signal, more expected significance
    for i in range(len(s0)):
        h = 1e-4 * s0[i]
        up, down = s0.copy(), s0.copy()
        up[i] += h
        down[i] -= h
        fd = (float(z_expected(jnp.asarray(up))) - float(z_expected(jnp.asarray(down)))) / (2 * h)
        assert abs(grad[i] - fd) <= 1e-4 * abs(fd), (i, grad[i], fd)


def test_grad_expected_cls_with_blocked_hessians(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fits inside expected_cls take their Hessians in the cache-sized blocks of the model's
    own fits (forced here on a 28-parameter model): the same CL_s and gradient."""
    import hs3jax.infer.hessian as hessian_module

    model = hs3jax.load(
        ROOT / "tests" / "data" / "pyhf" / "multichannel_all_modifiers.json"
    ).model()
    channel, sample = "SR_shape", "signal"
    a, b = model.sample_slices[(channel, sample)]
    s0 = jnp.asarray(model.inputs["histfactory"]["nominal"][a:b])

    def median_cls(yields: jax.Array) -> jax.Array:
        return expected_cls(model, 0.05, model.with_sample(channel, sample, yields))[2]

    def value_and_grad() -> tuple[float, np.ndarray]:
        v, g = jax.jit(jax.value_and_grad(median_cls))(s0)
        return float(v), np.asarray(g)

    assert hessian_module.hessian_batch(len(model.parameters), model.inputs) == len(
        model.parameters
    )
    v_one, g_one = value_and_grad()
    assert np.all(np.abs(g_one) > 1e-4)  # CL_s ≈ 0.95 here, sensitive to every bin
    monkeypatch.setattr(hessian_module, "_SPILL_BYTES", 0)
    monkeypatch.setattr(hessian_module, "_CACHE_BYTES", 1)
    monkeypatch.setattr(hessian_module, "_MIN_CACHE_BLOCK", 5)
    read = (model.prepared_inputs(), model.data)
    assert hessian_module.hessian_batch(len(model.parameters), model.inputs, read) < len(
        model.parameters
    )
    import hs3jax.infer.implicit as implicit_module
    import hs3jax.infer.newton as newton_module

    batches: list[int | None] = []

    def recording(fn: object, batch: int | None = None) -> object:
        batches.append(batch)
        return hessian_module.blocked_hessian(fn, batch)  # type: ignore[arg-type]

    monkeypatch.setattr(implicit_module, "blocked_hessian", recording)
    monkeypatch.setattr(newton_module, "blocked_hessian", recording)
    v_blocks, g_blocks = value_and_grad()
    # the forward Newton solves and the backward pass both took blocks
    n = len(model.parameters)
    assert len(batches) >= 2 and all(b is not None and b < n for b in batches), batches
    assert v_blocks == pytest.approx(v_one, rel=1e-12)
    np.testing.assert_allclose(g_blocks, g_one, rtol=1e-9, atol=1e-12 * np.abs(g_one).max())

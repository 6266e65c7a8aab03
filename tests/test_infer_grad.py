"""Differentiable inference: gradients of expected CLs with respect to a signal template
(implicit function theorem) equal central finite differences."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

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

"""A user-registered node type loads from JSON and evaluates, with no change to hs3jax."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import hs3jax
from hs3jax import Distribution, Function, Observable, Ref


@hs3jax.register("test_laplace_dist")
class LaplaceDist(Distribution):
    r"""Laplace density :math:`e^{-|x-\mu|/b}/2b` (a custom node for this test)."""

    x: Observable
    mean: Ref
    width: Ref

    @staticmethod
    def log_density(x: jax.Array, mean: jax.Array, width: jax.Array) -> jax.Array:  # type: ignore[override]
        return -jnp.abs(x - mean) / width - jnp.log(2.0 * width)

    @staticmethod
    def log_integral(lo: jax.Array, hi: jax.Array, mean: jax.Array, width: jax.Array) -> jax.Array:  # type: ignore[override]
        def cdf(t: jax.Array) -> jax.Array:
            z = (t - mean) / width
            return jnp.where(z < 0, 0.5 * jnp.exp(z), 1.0 - 0.5 * jnp.exp(-z))

        return jnp.log(cdf(hi) - cdf(lo))


@hs3jax.register("test_square")
class Square(Function):
    r""":math:`f = a^2` (a custom function for this test)."""

    a: Ref

    @staticmethod
    def value(a: jax.Array) -> jax.Array:  # type: ignore[override]
        return a * a


EVENTS = [0.3, -1.2, 2.5, 0.0, 0.7]
DOC = {
    "metadata": {"hs3_version": "0.2"},
    "distributions": [
        {"name": "model", "type": "test_laplace_dist", "x": "x", "mean": "mu", "width": "b2"},
        {"name": "prior_mu", "type": "gaussian_dist", "x": "mu", "mean": 0.0, "sigma": 2.0},
    ],
    "functions": [{"name": "b2", "type": "test_square", "a": "b"}],
    "data": [
        {
            "name": "events",
            "type": "unbinned",
            "axes": [{"name": "x", "min": -5.0, "max": 5.0}],
            "entries": [[e] for e in EVENTS],
        }
    ],
    "likelihoods": [
        {
            "name": "L",
            "distributions": ["model"],
            "data": ["events"],
            "aux_distributions": ["prior_mu"],
        }
    ],
    "parameter_points": [
        {
            "name": "default_values",
            "parameters": [{"name": "mu", "value": 0.2}, {"name": "b", "value": 1.1}],
        }
    ],
}


def _reference(mu: float, b: float) -> float:
    width = b * b

    def cdf(t: float) -> float:
        z = (t - mu) / width
        return 0.5 * math.exp(z) if z < 0 else 1.0 - 0.5 * math.exp(-z)

    norm = cdf(5.0) - cdf(-5.0)
    nll = sum(abs(e - mu) / width + math.log(2 * width) + math.log(norm) for e in EVENTS)
    nll += 0.5 * (mu / 2.0) ** 2 + math.log(2.0) + 0.5 * math.log(2 * math.pi)
    return nll


def test_custom_types_are_registered() -> None:
    assert "test_laplace_dist" in hs3jax.known_types("distribution")
    assert "test_square" in hs3jax.known_types("function")


@pytest.mark.parametrize(("mu", "b"), [(0.2, 1.1), (-0.4, 0.8), (1.3, 1.6)])
def test_custom_node_loads_and_evaluates(mu: float, b: float) -> None:
    model = hs3jax.load(DOC).model()
    assert model.parameters == ("b", "mu")
    value = float(model.nll({"mu": mu, "b": b}))
    assert value == pytest.approx(_reference(mu, b), rel=1e-12)


def test_custom_node_gradient() -> None:
    model = hs3jax.load(DOC).model()
    pars = np.array([1.1, 0.2])
    grad = np.asarray(jax.grad(model.nll_fn)(jnp.asarray(pars), model.data, model.inputs))
    h = 1e-6
    for i in range(2):
        up, down = pars.copy(), pars.copy()
        up[i] += h
        down[i] -= h
        fd = (_reference(up[1], up[0]) - _reference(down[1], down[0])) / (2 * h)
        assert grad[i] == pytest.approx(fd, rel=1e-6)


def test_custom_node_round_trips_through_to_dict() -> None:
    ws = hs3jax.load(DOC)
    again = hs3jax.load(ws.to_dict())
    assert again.to_dict() == ws.to_dict()
    assert float(again.model().nll()) == float(ws.model().nll())


def test_registering_a_taken_name_needs_replace() -> None:
    with pytest.raises(ValueError, match="already registered"):

        @hs3jax.register("gaussian_dist")
        class Other(Distribution):
            x: Observable

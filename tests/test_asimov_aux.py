"""Closed-form Asimov global observables (``Model.expected_aux``) against the derivatives of
the constraint terms, which give them for any model (hs3jax.infer.asimov)."""

from __future__ import annotations

import warnings
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import hs3jax
from conftest import DATA, read_json
from hs3jax.infer import asimov as asimov_module
from hs3jax.infer.asimov import (
    _aux_from_derivatives,
    _derivs_jit,
    _kinds_from_derivatives,
    _other_data,
    asimov_data,
    expected_aux_fn,
)

FILES = [
    *sorted((DATA / "pyhf").glob("*.json")),
    *sorted((DATA / "root_hf").glob("*.json")),
    DATA / "likelihoods" / "ATLAS-SUSY-2018-16__Sleptons_bkgonly.json",
]


def _load(path: Path) -> hs3jax.Model:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # background-only workspaces: no POI
        return hs3jax.load(path).model()


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_closed_form_equals_the_derivatives(path: Path) -> None:
    """â = θ (Gaussian), â = τγ (Poisson) from the table, against a − g/h and
    exp(ψ(a + 1) − g) from the derivatives at a perturbed θ; the kinds against those read off
    the second derivatives; the numpy and the JAX evaluation alike."""
    model = _load(path)
    closed_form = model.expected_aux
    assert closed_form is not None
    rng = np.random.default_rng(3)
    lo, hi = np.asarray(model.bounds).T
    pars = np.clip(np.asarray(model.init) * (1.0 + 0.05 * rng.standard_normal(len(lo))), lo, hi)
    aux = np.asarray(model.data["aux"])
    kinds = _kinds_from_derivatives(model)
    np.testing.assert_array_equal(closed_form.kinds, kinds)
    with jax.enable_x64(True):
        g, h = _derivs_jit(model)(
            jnp.asarray(pars), jnp.asarray(aux), model.inputs, _other_data(model)
        )
        from_derivatives = _aux_from_derivatives(aux, np.asarray(g), np.asarray(h), kinds)
        host = closed_form(pars, model.inputs)
        traced = np.asarray(expected_aux_fn(model)(jnp.asarray(pars), model.inputs))
    np.testing.assert_allclose(host, from_derivatives, rtol=1e-13, atol=1e-300)
    np.testing.assert_array_equal(traced, host)


def test_templates_reach_the_poisson_expectations() -> None:
    """τ = 1/σ² of a staterror comes from the templates: the traced closed form is
    differentiable in them, with the derivative of τγ."""
    model = _load(DATA / "pyhf" / "simple.json")
    closed_form = model.expected_aux
    assert closed_form is not None and closed_form.scaled_aux.size == 2

    def total(inputs: object) -> jax.Array:
        return jnp.sum(expected_aux_fn(model)(jnp.asarray(model.init), inputs))

    with jax.enable_x64(True):
        grads = jax.grad(total)(model.inputs)
    leaves = [np.asarray(leaf) for leaf in jax.tree_util.tree_leaves(grads)]
    assert any(np.any(leaf != 0.0) for leaf in leaves)


def test_a_constraint_on_a_function_falls_back_to_the_derivatives() -> None:
    """ROOT's Gauss(mu_obs | μ, 0.2) with its mean made a function, 2μ: no table, and the
    derivatives give â = 2μ; as written (mean μ), the table gives â = μ."""
    doc = read_json(DATA / "conformance" / "cases" / "constraint_in_prodpdf.json")
    as_written = hs3jax.load(doc).model()
    assert as_written.global_observables == ("mu_obs",)
    assert as_written.expected_aux is not None
    pars = np.asarray(as_written.init).copy()
    pars[as_written.index("mu")] = 0.4
    assert float(asimov_data(as_written, pars)["aux"][0]) == 0.4
    for dist in doc["distributions"]:
        if dist["name"] == "mu_constr":
            dist["mean"] = "twice_mu"
    doc.setdefault("functions", []).append(
        {"name": "twice_mu", "type": "product", "factors": ["mu", 2.0]}
    )
    model = hs3jax.load(doc).model()
    assert model.global_observables == ("mu_obs",)
    assert model.expected_aux is None
    assert float(asimov_data(model, pars)["aux"][0]) == pytest.approx(0.8, rel=1e-14)


def test_a_hypotest_compiles_no_derivative_program() -> None:
    """With the table, the Asimov data of a test need no program for the derivatives."""
    model = _load(DATA / "pyhf" / "multichannel_all_modifiers.json")
    assert model.expected_aux is not None
    hs3jax.hypotest(model, 1.0)
    assert model not in asimov_module._DERIVS

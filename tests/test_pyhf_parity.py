"""hs3jax against pyhf 0.7.6 on pyhf JSON: parameter order, NLL, expected data, gradients.

Reference values: tests/reference/pyhf/nll_reference.json, made by
``python tests/reference/pyhf/make_nll_reference.py`` (pyhf 0.7.6, numpy backend).
"""

from __future__ import annotations

import math
from functools import cache
from pathlib import Path
from typing import Any

import jax
import numpy as np
import pytest
from scipy.special import gammaln

import hs3jax
from conftest import REFERENCE, ROOT, counting_compilations, read_json

REF = read_json(REFERENCE / "pyhf" / "nll_reference.json")
MODELS = REF["models"]


def _id(entry: dict[str, Any]) -> str:
    name = Path(entry["file"]).stem
    return name + ("+patch" if entry.get("patch") else "")


@cache
def _model(file: str, patch: str | None) -> hs3jax.Model:
    patches = [ROOT / patch] if patch else []
    return hs3jax.load(ROOT / file, patches=patches).model()


def _pyhf_rounding(model: hs3jax.Model, pars: np.ndarray) -> float:
    """Bound on the float64 rounding error of pyhf's own NLL.

    pyhf evaluates each Poisson term as n ln ν − ν − ln Γ(n+1); for large n the three terms
    cancel and the result carries ~ε (|n ln ν| + ν + ln Γ(n+1)) of rounding noise (1e-3 for the
    τ ≈ 1.9e11 shapesys constraints of the ATLAS 3LeRJR likelihoods). hs3jax evaluates the same
    quantity without the cancellation (see hs3jax.nodes.basic.poisson_logpmf).
    """
    eps = np.finfo(np.float64).eps
    n = np.asarray(model.data["main"])
    nu = np.asarray(model.expected_main(pars))
    aux = np.asarray(model.data["aux"])
    terms = [np.abs(n * np.log(np.maximum(nu, 1e-300))) + np.abs(nu) + gammaln(n + 1)]
    terms.append(np.abs(aux * np.log(np.maximum(aux, 1e-300))) + np.abs(aux) + gammaln(aux + 1))
    return float(4 * eps * sum(t.sum() for t in terms))


@pytest.mark.parametrize("entry", MODELS, ids=_id)
def test_parameter_order_and_init(entry: dict[str, Any]) -> None:
    model = _model(entry["file"], entry.get("patch"))
    assert list(model.parameters) == entry["parameters"]
    np.testing.assert_allclose(np.asarray(model.init), entry["suggested_init"], rtol=0, atol=0)
    np.testing.assert_allclose(np.asarray(model.bounds), entry["suggested_bounds"], rtol=0, atol=0)
    assert list(np.asarray(model.fixed)) == entry["suggested_fixed"]
    assert model.poi == entry["poi"]


@pytest.mark.parametrize("entry", MODELS, ids=_id)
def test_nll_equals_pyhf(entry: dict[str, Any]) -> None:
    model = _model(entry["file"], entry.get("patch"))
    assert len(entry["points"]) >= 11
    for point in entry["points"]:
        pars = np.asarray(point["pars"], dtype=np.float64)
        mine = float(model.nll(pars))
        ref = float(point["nll"])
        tol = 1e-9 * abs(ref) + _pyhf_rounding(model, pars)
        assert abs(mine - ref) <= tol, (point["kind"], mine, ref, abs(mine - ref), tol)


@pytest.mark.parametrize("entry", MODELS, ids=_id)
def test_expected_data_equals_pyhf(entry: dict[str, Any]) -> None:
    model = _model(entry["file"], entry.get("patch"))
    expected = model.expected_data(np.asarray(entry["suggested_init"]))
    # pyhf concatenates channels in sorted order
    flat = np.concatenate([np.asarray(expected[c]) for c in sorted(expected)])
    np.testing.assert_allclose(flat, entry["expected_actualdata_init"], rtol=1e-12, atol=1e-12)


GRADIENT_MODELS = [
    m
    for m in MODELS
    if Path(m["file"]).stem
    in {
        "simple",
        "correlated",
        "multichannel_all_modifiers",
        "ATLAS-SUSY-2018-14__Comb_bkgonly",
        "ATLAS-SUSY-2018-31__BkgOnlyA",
    }
]


@pytest.mark.parametrize("entry", GRADIENT_MODELS, ids=_id)
def test_gradient_matches_finite_differences(entry: dict[str, Any]) -> None:
    model = _model(entry["file"], entry.get("patch"))
    pars = np.asarray(entry["points"][3]["pars"], dtype=np.float64)
    grad = np.asarray(jax.grad(model.nll_fn)(jax.numpy.asarray(pars), model.data, model.inputs))
    assert np.all(np.isfinite(grad))
    f = jax.jit(model.nll_fn)
    for i in range(len(pars)):
        h = 1e-5 * max(1.0, abs(pars[i]))
        up, down = pars.copy(), pars.copy()
        up[i] += h
        down[i] -= h
        fd = (float(f(up, model.data, model.inputs)) - float(f(down, model.data, model.inputs))) / (
            2 * h
        )
        scale = max(abs(fd), 1e-3)
        assert abs(grad[i] - fd) <= 1e-6 * scale + 1e-7, (model.parameters[i], grad[i], fd)


def test_new_data_and_templates_reuse_the_compiled_function() -> None:
    entry = next(m for m in MODELS if Path(m["file"]).stem == "multichannel_all_modifiers")
    model = _model(entry["file"], None)
    nll = jax.jit(model.nll_fn)
    pars = model.init
    nll(pars, model.data, model.inputs)
    before = nll._cache_size()  # type: ignore[attr-defined]
    toy = model.make_data(np.asarray(model.data["main"]) + 1.0)
    channel, sample = next(iter(model.sample_slices))
    a, b = model.sample_slices[(channel, sample)]
    inputs = model.with_sample(channel, sample, np.linspace(1.0, 2.0, b - a))
    value = nll(pars, toy, inputs)
    assert math.isfinite(float(value))
    assert nll._cache_size() == before  # type: ignore[attr-defined]


def test_gradient_with_respect_to_templates() -> None:
    entry = next(m for m in MODELS if Path(m["file"]).stem == "simple")
    model = _model(entry["file"], None)
    channel, sample = next(k for k in model.sample_slices if k[1] == "signal")
    a, b = model.sample_slices[(channel, sample)]
    signal = np.asarray(model.inputs["histfactory"]["nominal"][a:b])

    def nll_of_signal(yields: jax.Array) -> jax.Array:
        return model.nll_fn(model.init, model.data, model.with_sample(channel, sample, yields))

    grad = np.asarray(jax.grad(nll_of_signal)(jax.numpy.asarray(signal)))
    for i in range(len(signal)):
        h = 1e-6 * max(1.0, signal[i])
        up, down = signal.copy(), signal.copy()
        up[i] += h
        down[i] -= h
        fd = (float(nll_of_signal(up)) - float(nll_of_signal(down))) / (2 * h)
        assert abs(grad[i] - fd) <= 1e-6 * max(abs(fd), 1e-3)


def test_signal_patch_reuses_the_compiled_program() -> None:
    """A patch that changes yields, not structure, needs no new compilation (issue 6)."""
    path = ROOT / "tests" / "data" / "pyhf" / "multichannel_all_modifiers.json"
    first = hs3jax.load(path).model()
    first.nll(first.init)
    first.nll(first.init, inputs=first.inputs)
    spec = read_json(path)
    patch = [
        {
            "op": "replace",
            "path": "/channels/0/samples/0/data",
            "value": [2.0 * v for v in spec["channels"][0]["samples"][0]["data"]],
        }
    ]
    second = hs3jax.load(path, patches=[patch]).model()
    assert second.nll_fn is first.nll_fn
    with counting_compilations() as compiled:
        value = float(second.nll(second.init))  # its templates prepared, then −ln L
        raw = float(second.nll(second.init, inputs=second.inputs))  # nll_fn of the templates
    assert compiled == []
    assert value == raw != float(first.nll(first.init))

"""Pulls normalised to pre-fit widths (hs3jax.infer.pulls): a hand computation from the JSON and
pyhf 0.7.6's convention (``model.config.param_set(name).width()``, what cabinetry normalises
pulls by)."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

import hs3jax
from conftest import DATA
from hs3jax.errors import ModelError
from hs3jax.infer import fit, ranking
from hs3jax.infer.pulls import prefit_widths, pulls

SIMPLE = DATA / "pyhf" / "simple.json"
MULTI = DATA / "pyhf" / "multichannel_all_modifiers.json"
UNBINNED = DATA / "unbinned" / "mixture_1ch_1000ev.json"


def test_prefit_widths_by_hand_on_the_simple_model() -> None:
    """shapesys: Poisson(τ | γτ) with τ = (b/δb)², so σ^pre = 1/√τ = δb/b; μ is unconstrained."""
    spec = json.loads(SIMPLE.read_text())
    background = next(s for s in spec["channels"][0]["samples"] if s["name"] == "background")
    shapesys = next(m for m in background["modifiers"] if m["type"] == "shapesys")
    expected = np.asarray(shapesys["data"]) / np.asarray(background["data"])
    model = hs3jax.load(SIMPLE).model()
    widths = prefit_widths(model)
    assert widths[model.index("mu")] == np.inf
    got = [widths[model.index(f"{shapesys['name']}[{b}]")] for b in range(len(expected))]
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_pulls_are_normalised_by_the_prefit_width() -> None:
    model = hs3jax.load(SIMPLE).model()
    res = fit(model)
    out = pulls(model)
    widths = prefit_widths(model)
    for i, name in enumerate(out.parameters):
        k = model.index(name)
        assert out.bestfit[i] == pytest.approx(res.x[k], abs=1e-7)
        if np.isfinite(widths[k]):
            hand = (res.x[k] - float(model.init[k])) / widths[k]
            assert out.pull[i] == pytest.approx(hand, rel=1e-6, abs=1e-9)
            assert out.constraint[i] == pytest.approx(res.errors[name] / widths[k], rel=1e-6)
        else:
            assert np.isnan(out.pull[i]) and np.isnan(out.constraint[i])
    rows = {r["parameter"]: r for r in out.to_dict()["pulls"]}
    assert rows["mu"]["pull"] is None and rows["mu"]["prefit_width"] is None


def test_ranking_reports_normalised_pulls() -> None:
    model = hs3jax.load(MULTI).model()
    rank = ranking(model)
    widths = prefit_widths(model)
    for i, name in enumerate(rank.parameters):
        k = model.index(name)
        assert rank.prefit_widths[i] == widths[k]
        if np.isfinite(widths[k]):
            assert rank.normalised_pulls[i] == pytest.approx(rank.pulls[i] / widths[k], rel=1e-12)
            assert rank.normalised_constraints[i] == pytest.approx(
                rank.constraints[i] / widths[k], rel=1e-12
            )
    row = next(r for r in rank.to_dict()["ranking"] if r["parameter"] == "lumi")
    assert row["prefit_width"] == pytest.approx(0.017, rel=1e-12)  # the lumi sigma in the JSON


@pytest.mark.interop
@pytest.mark.parametrize("path", [SIMPLE, MULTI], ids=["simple", "multichannel"])
def test_prefit_widths_equal_pyhf_paramset_widths(path: object) -> None:
    pyhf = pytest.importorskip("pyhf")
    ws = pyhf.Workspace(json.loads(path.read_text()))  # type: ignore[attr-defined]
    pmodel = ws.model()
    reference = np.full(pmodel.config.npars, np.inf)
    for par in pmodel.config.par_order:
        paramset = pmodel.config.param_set(par)
        if getattr(paramset, "constrained", False):
            reference[pmodel.config.par_slice(par)] = paramset.width()
    model = hs3jax.load(path).model()  # type: ignore[arg-type]
    assert list(model.parameters) == list(pmodel.config.par_names)
    widths = prefit_widths(model)
    assert np.array_equal(np.isinf(widths), np.isinf(reference))
    finite = np.isfinite(reference)
    np.testing.assert_allclose(widths[finite], reference[finite], rtol=1e-10)


def test_prefit_widths_of_an_unbinned_model_come_from_its_constraint_terms() -> None:
    """Unbinned data no longer block pre-fit widths: the constraint terms are compiled on their
    own (Model.constraint_nll_fn), so the Gaussian constraint's σ = 0.3 is σ^pre of ``sigma``,
    and ``mu``, held by the events alone, has none."""
    doc = {
        "metadata": {"hs3_version": "0.2"},
        "distributions": [
            {"name": "g", "type": "gaussian_dist", "x": "x", "mean": "mu", "sigma": "sigma"},
            {"name": "c", "type": "gaussian_dist", "x": "sigma", "mean": 1.0, "sigma": 0.3},
        ],
        "data": [
            {
                "name": "d",
                "type": "unbinned",
                "axes": [{"name": "x", "min": -5.0, "max": 5.0}],
                "entries": [[-1.2], [0.3], [0.8], [-0.1], [2.2], [0.5]],
            }
        ],
        "likelihoods": [
            {"name": "L", "distributions": ["g"], "data": ["d"], "aux_distributions": ["c"]}
        ],
        "parameter_points": [
            {
                "name": "default_values",
                "parameters": [{"name": "mu", "value": 0.1}, {"name": "sigma", "value": 1.1}],
            }
        ],
    }
    model = hs3jax.load(doc).model()
    widths = dict(zip(model.parameters, prefit_widths(model), strict=True))
    assert widths["mu"] == np.inf
    assert widths["sigma"] == pytest.approx(0.3, rel=1e-12)


def test_prefit_widths_without_separated_constraint_terms() -> None:
    """A Model built without ``constraint_nll_fn`` (by hand) falls back to the NLL less its
    main Poisson terms: the same widths on a binned model, and a clear refusal on an unbinned
    one, whose event terms cannot be subtracted that way."""
    binned = hs3jax.load(MULTI).model()
    fallback = dataclasses.replace(binned, constraint_nll_fn=None)
    np.testing.assert_allclose(prefit_widths(fallback), prefit_widths(binned), rtol=1e-10)
    unbinned = hs3jax.load(UNBINNED).model()
    with pytest.raises(ModelError, match="has unbinned data and does not separate them"):
        prefit_widths(dataclasses.replace(unbinned, constraint_nll_fn=None))

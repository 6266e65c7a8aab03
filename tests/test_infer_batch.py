"""Scans, toys and ranking (vmapped Newton fits) agree with the host fits."""

from __future__ import annotations

import numpy as np
import pytest

import hs3jax
from conftest import ROOT
from hs3jax.infer import (
    fit,
    fixed_poi_fit,
    hypotest,
    profile_scan,
    ranking,
    sample_toys,
)
from hs3jax.infer.toys import toy_teststats

SIMPLE = ROOT / "tests" / "data" / "pyhf" / "simple.json"


def _model() -> hs3jax.Model:
    return hs3jax.load(SIMPLE).model()


def test_profile_scan_matches_fixed_fits() -> None:
    model = _model()
    grid = np.linspace(0.0, 2.0, 5)
    scan = profile_scan(model, {"mu": grid})
    best = fit(model)
    assert scan.converged.all()
    for mu, value in zip(grid, scan.twice_delta_nll, strict=True):
        ref = 2 * (fixed_poi_fit(model, float(mu)).nll - best.nll)
        assert abs(value - ref) <= 1e-8
    assert scan.bestfit[0] == best.bestfit["mu"]


def test_toys_are_seeded_and_fitted() -> None:
    model = _model()
    a = sample_toys(model, model.init, 50, seed=3)
    b = sample_toys(model, model.init, 50, seed=3)
    np.testing.assert_array_equal(np.asarray(a["main"]), np.asarray(b["main"]))
    assert np.asarray(a["main"]).shape == (50, 2)
    stats = toy_teststats(model, 1.0, a)
    assert stats.ok.all()
    # one toy refitted on the host gives the same statistic
    toy = {"main": a["main"][7], "aux": a["aux"][7]}
    from hs3jax.infer import qmu_tilde

    assert abs(qmu_tilde(model, 1.0, toy) - stats.values[7]) <= 1e-7


@pytest.mark.slow
def test_toy_hypotest_close_to_asymptotics() -> None:
    model = _model()
    toys = hypotest(model, 1.0, calctype="toybased", n_toys=300, seed=1)
    asym = hypotest(model, 1.0)
    assert toys.n_failed == 0 and toys.n_toys == 600
    assert abs(toys.CLs_obs - asym.CLs_obs) < 0.1


def test_ranking_impacts_match_refits() -> None:
    model = _model()
    rank = ranking(model)
    best = fit(model)
    name = rank.parameters[0]
    up = fit(model, fixed={name: best.bestfit[name] + best.errors[name]}).bestfit["mu"]
    assert abs(rank.impact_up[0] - (up - best.bestfit["mu"])) <= 1e-7
    assert rank.converged.all()
    assert rank.to_dict()["ranking"][0]["parameter"] == name

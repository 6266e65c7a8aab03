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


def test_batched_fits_agree_across_batch_sizes_and_with_host_fits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A batch of fits gives the same minima in one vmapped call, in short calls (the last one
    padded) and as host fits one after another (the CPU path for models whose Hessian goes in
    blocks, forced here by a smaller Hessian block)."""
    import jax

    import hs3jax.infer.newton as newton
    from hs3jax.infer.fit import setup

    model = hs3jax.load(
        ROOT / "tests" / "data" / "pyhf" / "multichannel_all_modifiers.json"
    ).model()
    best = fit(model)
    _, mask = setup(model)
    free = np.flatnonzero(mask)
    starts = np.tile(best.x, (7, 1))
    masks = np.tile(mask, (7, 1))
    for k, i in enumerate(free[:7]):
        masks[k, i] = False
        starts[k, i] = best.x[i] + (0.5 if k % 2 else -0.5) * best.errors[model.parameters[i]]
    whole = newton.fit_batch(model, starts, masks, model.data, model.inputs)
    n = len(model.parameters)
    monkeypatch.setattr(newton, "batch_sizes", lambda *a: (n, 3))  # three calls, one padded
    short = newton.fit_batch(model, starts, masks, model.data, model.inputs)
    np.testing.assert_array_equal(short.x, whole.x)
    assert jax.default_backend() == "cpu"
    monkeypatch.setattr(newton, "batch_sizes", lambda *a: (n - 1, 3))  # blocked: host fits
    host = newton.fit_batch(model, starts, masks, model.data, model.inputs)
    assert whole.converged.all() and host.converged.all()
    np.testing.assert_allclose(host.nll, whole.nll, rtol=1e-12)
    np.testing.assert_allclose(host.x, whole.x, rtol=1e-6, atol=1e-7)
    for k in (0, 6):  # each row is the fit of its start and mask
        one = fit(model, init=starts[k], fixed={model.parameters[free[k]]: starts[k, free[k]]})
        np.testing.assert_allclose(host.x[k], one.x, rtol=1e-6, atol=1e-7)


def test_ranking_fixes_a_shift_beyond_a_bound_at_the_bound() -> None:
    """θ̂ − σ̂ below a parameter's lower bound: the impact fit holds it at the bound (and
    converges) instead of starting where −ln L is not defined."""
    import json

    spec = json.loads(SIMPLE.read_text())
    spec["measurements"][0]["config"]["parameters"] = [
        {"name": "uncorr_bkguncrt", "bounds": [[0.97, 10.0], [0.97, 10.0]]}
    ]
    model = hs3jax.load(spec).model()
    best = fit(model)
    rank = ranking(model)
    assert rank.converged.all()
    for j, name in enumerate(rank.parameters):
        lower = best.bestfit[name] - best.errors[name]
        if lower < 0.97:
            at_bound = fit(model, fixed={name: 0.97}).bestfit["mu"]
            assert abs(rank.impact_down[j] - (at_bound - best.bestfit["mu"])) <= 1e-7
            break
    else:
        raise AssertionError("no parameter's θ̂ − σ̂ crossed the bound")


def test_toy_statistics_from_host_fits_equal_the_vmapped_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The host path of toy fits (a CPU and a model whose Hessian goes in blocks, forced here)
    gives the vmapped fits' test statistics."""
    import sys

    toys_module = sys.modules["hs3jax.infer.toys"]
    model = _model()
    pars = fixed_poi_fit(model, 1.0).x
    toys = sample_toys(model, pars, 6, seed=3)
    vmapped = toy_teststats(model, 1.0, toys)
    n = len(model.parameters)
    monkeypatch.setattr(toys_module, "batch_sizes", lambda *a: (n - 1, 4))
    host = toy_teststats(model, 1.0, toys)
    assert vmapped.ok.all() and host.ok.all()
    np.testing.assert_allclose(host.values, vmapped.values, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(host.poi_hat, vmapped.poi_hat, rtol=1e-7, atol=1e-9)

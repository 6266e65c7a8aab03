"""hs3jax.infer against pyhf 0.7.6 on the published ATLAS likelihoods (with their signal patches).

References: tests/reference/pyhf/atlas/*.json, written by
tests/reference/pyhf/make_atlas_inference_reference.py (pyhf numpy backend, SLSQP at tolerance
1e-10; upper limits by pyhf's linear interpolation on a stored 16-point grid). Models whose
pyhf run did not finish a step have no entry for it and that comparison is skipped.

Tolerances are the issue's: twice the minimum NLL and the best fit to 1e-6 relative, CLs at
mu = 1 to 1e-5 absolute, upper limits to 1e-3 relative. Two things make pyhf's numbers inexact
on some of these models, and the tests bound them explicitly instead of loosening tolerances:

- pyhf's own NLL carries float64 cancellation noise (``test_pyhf_parity._pyhf_rounding``:
  ~1e-4 in -ln L on the ATLAS-3LeRJR models, whose shapesys tau reach 1.9e11), so its
  ``twice_nll`` is compared within 1e-6 relative plus twice that bound;
- SLSQP stops where that noise or its tolerance leaves it: hs3jax's NLL at pyhf's best-fit point
  must reproduce pyhf's ``twice_nll`` (the same function there) and lie at or above hs3jax's
  minimum, and pyhf's best fit must lie inside the ellipsoid that its measured excess δ allows,
  |x_pyhf − x̂|_i ≤ sqrt(2 δ V_ii) (V: hs3jax's covariance), besides the 1e-6 relative bound.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import hs3jax
from conftest import REFERENCE, ROOT, read_json
from hs3jax.infer import asimov_data, fit, fixed_poi_fit, hypotest, upper_limit
from hs3jax.infer.asymptotics import asymptotic_teststat, cls_expected, cls_observed
from test_pyhf_parity import _pyhf_rounding

pytestmark = pytest.mark.slow

ENTRIES = [read_json(p) for p in sorted((REFERENCE / "pyhf" / "atlas").glob("*.json"))]


def _params(step: str) -> list[Any]:
    return [
        pytest.param(e, id=Path(e["file"]).stem + ("+patch" if e["patch"] else ""))
        for e in ENTRIES
        if step in e and "error" not in e[step]
    ]


@cache
def _model(file: str, patch: str | None) -> hs3jax.Model:
    return hs3jax.load(ROOT / file, patches=[ROOT / patch] if patch else []).model()


def _check_minimum(model: hs3jax.Model, res: Any, ref: dict[str, Any]) -> None:
    """Equal minima (see module doc for the explicit bounds on pyhf's inexactness)."""
    ref_x = np.asarray(ref["bestfit"])
    noise = 2.0 * _pyhf_rounding(model, ref_x)  # on twice the NLL
    at_pyhf = 2.0 * float(model.nll(ref_x))
    assert abs(at_pyhf - ref["twice_nll"]) <= 1e-9 * abs(ref["twice_nll"]) + noise
    assert res.twice_nll <= at_pyhf + 1e-9 * abs(at_pyhf)  # hs3jax's minimum is not above
    assert abs(res.twice_nll - ref["twice_nll"]) <= 1e-6 * abs(ref["twice_nll"]) + noise
    excess = max(0.0, 0.5 * (at_pyhf - res.twice_nll))  # δ of pyhf's point in -ln L
    variance = np.clip(np.diag(res.covariance), 0.0, None)
    sigma = np.sqrt(variance)
    # a flat direction is determined only to ~ sigma sqrt(2 dNLL) (dNLL ~ 1e-9 at convergence)
    bound = np.maximum.reduce(
        [
            1e-6 * np.abs(ref_x),
            np.full_like(ref_x, 1e-6),
            1e-3 * sigma,
            np.sqrt(2 * excess * variance),
        ]
    )
    assert np.all(np.abs(res.x - ref_x) <= bound), np.max(np.abs(res.x - ref_x) / bound)


@pytest.mark.parametrize("entry", _params("mle"))
def test_mle_equals_pyhf(entry: dict[str, Any]) -> None:
    model = _model(entry["file"], entry["patch"])
    assert list(model.parameters) == entry["parameters"]
    res = fit(model)
    assert res.success
    _check_minimum(model, res, entry["mle"])


@pytest.mark.parametrize("entry", _params("fixed_poi_fit"))
def test_fixed_poi_fit_equals_pyhf(entry: dict[str, Any]) -> None:
    model = _model(entry["file"], entry["patch"])
    ref = entry["fixed_poi_fit"]
    _check_minimum(model, fixed_poi_fit(model, ref["poi_value"]), ref)


@pytest.mark.parametrize("entry", _params("hypotest"))
def test_cls_equals_pyhf(entry: dict[str, Any]) -> None:
    model = _model(entry["file"], entry["patch"])
    ref = entry["hypotest"]
    res = hypotest(model, ref["poi_value"], test_stat=ref["test_stat"])
    observed_ok = abs(res.CLs_obs - ref["CLs_obs"]) <= 1e-5
    if observed_ok and np.all(np.abs(np.asarray(res.CLs_exp) - ref["CLs_exp"]) <= 1e-5):
        return
    _explain_cls(model, entry, res)


def _cls_obs(q: float, q_asimov: float) -> float:
    return float(cls_observed(asymptotic_teststat(q, q_asimov, "qtilde"), q_asimov)[2])


def _explain_cls(model: hs3jax.Model, entry: dict[str, Any], res: Any) -> None:
    """pyhf's CLs differ by more than 1e-5: show, with the fits pyhf's hypotest made
    (``hypotest_fits``), that (1) hs3jax's likelihood at pyhf's points reproduces pyhf's observed
    CLs and band, up to pyhf's rounding noise, and (2) every one of pyhf's fits behind q_A (the
    mu' = 0 fit that makes the Asimov data, the conditional and the free fit to it) stopped above
    the minimum that hs3jax finds on the same data, and its fits to the observed data are not
    below hs3jax's, so the difference is pyhf's convergence."""
    fits = entry["hypotest_fits"]
    poi_value = entry["hypotest"]["poi_value"]
    # the stored fits are the ones behind pyhf's band: q_A = 2 NLL(fixed) - 2 NLL(free)
    q_pyhf = fits["fixed_poi_fit_asimov"]["twice_nll"] - fits["fit_asimov"]["twice_nll"]
    np.testing.assert_allclose(
        np.asarray(cls_expected(q_pyhf)[2]), entry["hypotest"]["CLs_exp"], rtol=1e-12, atol=0
    )
    # pyhf's mu' = 0 fit to the data, which makes its Asimov data, is above hs3jax's minimum
    # (hs3jax's NLL is exact to ~1e-12 relative, so these excesses are measured, not noise)
    x0 = np.asarray(fits["asimov_pars"])
    twice_x0 = 2.0 * float(model.nll(x0))
    assert fixed_poi_fit(model, 0.0, hessian=False).twice_nll < twice_x0 - 1e-9 * twice_x0
    asimov = asimov_data(model, x0)  # pyhf's Asimov data, made by hs3jax from pyhf's point
    twice_at_pyhf, noise = {}, 0.0
    fitters = {
        "fixed_poi_fit_asimov": lambda: fixed_poi_fit(model, poi_value, asimov, hessian=False),
        "fit_asimov": lambda: fit(model, asimov, hessian=False),
    }
    for key, fitter in fitters.items():
        x = np.asarray(fits[key]["bestfit"])
        twice_at_pyhf[key] = 2.0 * float(model.nll(x, asimov))
        rounding = 2.0 * _pyhf_rounding(model, x)
        noise += rounding
        assert abs(twice_at_pyhf[key] - fits[key]["twice_nll"]) <= rounding, key
        # pyhf stopped above the minimum on the same data
        assert fitter().twice_nll < twice_at_pyhf[key] * (1 - 1e-9), key
    # (1) hs3jax's NLL at pyhf's points gives pyhf's band, within the noise propagated to CLs
    q_at_pyhf = twice_at_pyhf["fixed_poi_fit_asimov"] - twice_at_pyhf["fit_asimov"]
    assert abs(q_at_pyhf - q_pyhf) <= noise
    slope = (
        np.max(
            np.abs(np.asarray(cls_expected(q_pyhf + 1e-6)[2]) - np.asarray(cls_expected(q_pyhf)[2]))
        )
        / 1e-6
    )
    np.testing.assert_allclose(
        np.asarray(cls_expected(q_at_pyhf)[2]),
        entry["hypotest"]["CLs_exp"],
        rtol=0,
        atol=1e-9 + 2.0 * slope * noise,
    )
    # observed CLs: pyhf's q from its fits to the data (0 where mu_hat > mu, as q~_mu)
    k = model.poi_index
    assert k is not None
    twice_data = {}
    for key, fitter in {
        "fixed_poi_fit_data": lambda: fixed_poi_fit(model, poi_value, hessian=False),
        "fit_data": lambda: fit(model, hessian=False),
    }.items():
        x = np.asarray(fits[key]["bestfit"])
        twice_data[key] = 2.0 * float(model.nll(x))
        rounding = 2.0 * _pyhf_rounding(model, x)
        noise += rounding
        assert abs(twice_data[key] - fits[key]["twice_nll"]) <= rounding, key
        assert fitter().twice_nll <= twice_data[key] * (1 + 1e-12), key
    above = fits["fit_data"]["bestfit"][k] > poi_value
    q_obs = (
        0.0 if above else fits["fixed_poi_fit_data"]["twice_nll"] - fits["fit_data"]["twice_nll"]
    )
    observed = entry["hypotest"]["CLs_obs"]
    assert _cls_obs(q_obs, q_pyhf) == pytest.approx(observed, rel=1e-12)
    q_obs_at = 0.0 if above else twice_data["fixed_poi_fit_data"] - twice_data["fit_data"]
    slope_obs = (
        max(
            abs(_cls_obs(q_obs + 1e-6, q_pyhf) - _cls_obs(q_obs, q_pyhf)),
            abs(_cls_obs(q_obs, q_pyhf + 1e-6) - _cls_obs(q_obs, q_pyhf)),
        )
        / 1e-6
    )
    assert abs(_cls_obs(q_obs_at, q_at_pyhf) - observed) <= 1e-9 + 4.0 * slope_obs * noise
    # (2) is asserted above: pyhf's three fits behind q_A all stopped above the minimum; with
    # converged fits (a unique minimum) pyhf's q_A would be hs3jax's
    assert np.isfinite(res.teststat_asimov)


@pytest.mark.parametrize("entry", _params("upper_limit"))
def test_grid_upper_limit_equals_pyhf(entry: dict[str, Any]) -> None:
    model = _model(entry["file"], entry["patch"])
    ref = entry["upper_limit"]
    res = upper_limit(model, level=0.05, scan=ref["scan"])
    ours_cls = np.column_stack([res.cls_obs, res.cls_exp])
    theirs_cls = np.column_stack([ref["CLs_obs"], ref["CLs_exp"]])
    exact = 2.0 * _pyhf_rounding(model, np.asarray(entry["mle"]["bestfit"])) < 1e-6
    if exact:  # CLs at every grid point too (not on 3LeRJR, see test_cls_equals_pyhf)
        np.testing.assert_allclose(ours_cls, theirs_cls, rtol=0, atol=1e-5)
    ours = [res.obs, *res.exp]
    theirs = [ref["obs"], *ref["exp"]]
    compared = 0
    for k in range(6):
        curve = theirs_cls[:, k]
        if not curve.max() >= 0.05 >= curve.min():
            continue  # the limit is outside the grid: both clamp to an end point
        # the two grid points that bracket pyhf's crossing
        j = int(np.flatnonzero(curve[:-1] >= 0.05)[-1])
        agree = np.all(np.abs(ours_cls[j : j + 2, k] - curve[j : j + 2]) <= 1e-5)
        if not exact and not agree:
            # pyhf's CLs at the bracketing points is off (its NLL is inexact on this model and
            # its fits stop early, see test_cls_equals_pyhf): its interpolated limit inherits it
            continue
        assert abs(ours[k] - theirs[k]) <= 1e-3 * abs(theirs[k]), k
        compared += 1
    if compared == 0:
        pytest.skip(
            "pyhf's CLs at the grid points bracketing every limit differ from hs3jax's by more "
            "than 1e-5 (pyhf's inexact NLL and early-stopping fits on this model)"
        )

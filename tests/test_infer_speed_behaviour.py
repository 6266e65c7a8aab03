"""How the minimiser spends its work (call counts, not timings; issue 6).

Small fits start with projected Newton from the initial point and need a handful of
value-and-gradient calls; the scipy L-BFGS-B path (larger fits, or Newton not converging)
must give the same minimum.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import hs3jax
from conftest import ROOT
from hs3jax.infer import fit, hypotest, upper_limit
from hs3jax.infer import minimize as minimize_module
from hs3jax.infer.fit import _inverse, setup
from hs3jax.infer.minimize import DECREMENT_TOL, Minimum, minimize
from hs3jax.model import Model

MULTICHANNEL = ROOT / "tests" / "data" / "pyhf" / "multichannel_all_modifiers.json"


def _model(path: Path) -> Model:
    return hs3jax.load(path).model()


def _fit(model: Model, **fixed: float) -> Minimum:
    start, mask = setup(model, None, fixed or None)
    return minimize(model, start, mask, model.data, model.inputs)


def test_small_fit_is_projected_newton_with_few_gradient_calls() -> None:
    model = _model(MULTICHANNEL)
    minimum = _fit(model)
    assert minimum.method == "newton"
    assert minimum.success and minimum.decrement < DECREMENT_TOL
    # measured: 6 value-and-gradient calls (L-BFGS-B to 1e-15 took 119)
    assert minimum.n_calls <= 20


@pytest.mark.parametrize("fixed", [{}, {"mu": 2.5}])
def test_newton_and_lbfgsb_paths_give_the_same_minimum(
    monkeypatch: pytest.MonkeyPatch, fixed: dict[str, float]
) -> None:
    model = _model(MULTICHANNEL)
    newton = _fit(model, **fixed)
    monkeypatch.setattr(minimize_module, "NEWTON_MAX_FREE", 0)
    lbfgsb = _fit(model, **fixed)
    assert newton.method == "newton" and lbfgsb.method == "lbfgsb"
    assert abs(newton.nll - lbfgsb.nll) <= 1e-10 * max(1.0, abs(lbfgsb.nll))
    np.testing.assert_allclose(newton.x, lbfgsb.x, rtol=1e-6, atol=1e-7)


def test_unconverged_newton_falls_back_to_lbfgsb(monkeypatch: pytest.MonkeyPatch) -> None:
    model = _model(MULTICHANNEL)
    reference = _fit(model)
    monkeypatch.setattr(minimize_module, "_NEWTON_STEPS", 1)
    fallback = _fit(model)
    assert fallback.method == "lbfgsb"
    assert "projected Newton" in fallback.message
    assert fallback.success
    assert abs(fallback.nll - reference.nll) <= 1e-10 * max(1.0, abs(reference.nll))


def test_upper_limit_narrows_brackets_at_the_asymptotic_prediction() -> None:
    model = _model(MULTICHANNEL)
    limit = upper_limit(model, level=0.05)
    # measured: 30 points (55 with TOMS 748 on CL_s from the nearest evaluated points), of
    # which 8 with a fit to the data (40 before the expected curves used the Asimov fit alone);
    # 38 / 10 before |Δz| < 1e-12 counted as a root, and 42 / 14 when a last-bit change of the
    # NLL left TOMS 748 stepping through CL_s's rounding noise at the root
    assert limit.n_evaluations <= 36
    assert len(limit.scan) == limit.n_evaluations
    assert np.isfinite(limit.cls_obs).sum() <= 10
    # every band edge is a root of its CL_s curve
    for which, mu in enumerate((limit.obs, *limit.exp)):
        result = hypotest(model, mu)
        value = result.CLs_obs if which == 0 else result.CLs_exp[which - 1]
        assert abs(value - 0.05) <= 1e-5


def test_fit_covariance_inverts_the_last_newton_hessian(monkeypatch: pytest.MonkeyPatch) -> None:
    """The covariance inverts the Hessian the last Newton step evaluated at the minimum (a
    second evaluation cost 0.6 s per fit at 2,277 parameters), and equals ∇²⁻¹ there."""
    model = _model(MULTICHANNEL)
    obj = minimize_module.objective(model)
    calls: list[int] = []

    def hessian(*args: object) -> object:
        calls.append(1)
        return obj.hessian(*args)

    # the separate-Hessian path of models above FUSED_MAX_PARAMETERS, with counted calls
    counted = replace(obj, hessian=hessian, value_grad_hessian=None)
    monkeypatch.setitem(minimize_module._CACHE, model, counted)
    _fit(model)
    in_minimize = len(calls)
    result = fit(model)
    assert in_minimize > 0 and len(calls) == 2 * in_minimize
    free = np.flatnonzero(~np.isin(model.parameters, result.fixed))
    h = np.asarray(obj.hessian(result.x, model.data, model.prepared_inputs()))[np.ix_(free, free)]
    expected = np.linalg.inv(0.5 * (h + h.T))
    # entries that vanish analytically are rounding noise on the scale of the largest
    scale = np.abs(expected).max()
    np.testing.assert_allclose(
        result.covariance[np.ix_(free, free)], expected, rtol=1e-10, atol=1e-13 * scale
    )


def test_covariance_inverse_of_an_indefinite_hessian_is_the_general_inverse() -> None:
    h = np.array([[2.0, 0.5, 0.0], [0.5, -1.0, 0.0], [0.0, 0.0, 4.0]])
    np.testing.assert_allclose(_inverse(h), np.linalg.inv(h), rtol=1e-15)
    singular = np.diag([1.0, 0.0])
    np.testing.assert_allclose(_inverse(singular), np.linalg.pinv(singular))


def _count_hessians(monkeypatch: pytest.MonkeyPatch, model: hs3jax.Model) -> list[int]:
    """Install counting wrappers on ``model``'s fused value-gradient-Hessian program and its
    Hessian; returns the list each of their calls appends to."""
    obj = minimize_module.objective(model)
    assert obj.value_grad_hessian is not None
    hessians: list[int] = []

    def fused(*args: object) -> object:
        hessians.append(1)
        return obj.value_grad_hessian(*args)  # type: ignore[misc]

    def hessian(*args: object) -> object:
        hessians.append(1)
        return obj.hessian(*args)  # type: ignore[arg-type]

    monkeypatch.setitem(
        minimize_module._CACHE, model, replace(obj, value_grad_hessian=fused, hessian=hessian)
    )
    return hessians


@pytest.mark.parametrize("fixed", [{}, {"mu": 2.5}])
def test_chord_steps_reach_the_same_minimum_with_fewer_hessians(
    monkeypatch: pytest.MonkeyPatch, fixed: dict[str, float]
) -> None:
    """Without a final Hessian (hypothesis tests, profiles), steps below CHORD_DECREMENT reuse
    the last Hessian: the same minimum to the last digits, with fewer Hessian evaluations."""
    model = _model(MULTICHANNEL)
    monkeypatch.setattr(minimize_module, "CHORD_MIN_FREE", 1)  # 28 free parameters here
    hessians = _count_hessians(monkeypatch, model)
    start, mask = setup(model, None, fixed or None)
    exact = minimize(model, start, mask, model.data, model.inputs)
    with_exact = len(hessians)
    chord = minimize(model, start, mask, model.data, model.inputs, final_hessian=False)
    with_chord = len(hessians) - with_exact
    assert exact.hessian is not None and chord.hessian is None
    assert chord.success and chord.decrement < DECREMENT_TOL
    # measured: 4 of 6 Hessians (free fit), 6 of 7 (μ fixed)
    assert with_chord < with_exact
    assert abs(chord.nll - exact.nll) <= 1e-13 * max(1.0, abs(exact.nll))
    np.testing.assert_allclose(chord.x, exact.x, rtol=1e-9, atol=1e-10)


def test_chord_fits_try_line_search_points_without_their_hessian(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A fit that takes chord steps evaluates the Hessian only at accepted points: from a start
    whose first Newton steps overshoot, fewer Hessians for the same minimum (measured: 9 → 7)."""
    model = _model(MULTICHANNEL)
    monkeypatch.setattr(minimize_module, "CHORD_MIN_FREE", 1)  # 28 free parameters here
    hessians = _count_hessians(monkeypatch, model)
    start, mask = setup(model, {p: 2.5 for p in model.parameters if p.startswith("alpha")})
    counts, minima = [], []
    for threshold in (10**6, 1):  # line-search trials with the fused program, then without
        monkeypatch.setattr(minimize_module, "TRIAL_VALUE_GRAD_MIN_FREE", threshold)
        hessians.clear()
        m = minimize(model, start, mask, model.data, model.inputs, final_hessian=False)
        assert m.success
        counts.append(len(hessians))
        minima.append(m)
    assert counts[1] < counts[0]
    assert abs(minima[1].nll - minima[0].nll) <= 1e-13 * abs(minima[0].nll)
    np.testing.assert_allclose(minima[1].x, minima[0].x, rtol=1e-9, atol=1e-10)


def test_upper_limit_warns_where_cls_jumps_across_the_level(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A CL_s curve that jumps across the level (conditional fits landing in different minima
    on either side) has no root; TOMS 748 converges on the jump, and the limit says so."""
    import warnings

    from hs3jax.infer import asymptotics

    model = _model(MULTICHANNEL)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a continuous CL_s: no warning
        true = upper_limit(model, level=0.05)
    jump = 0.9 * true.obs
    real = asymptotics.AsymptoticCalculator.teststats

    def jumpy(self: asymptotics.AsymptoticCalculator, mu: float) -> tuple[float, float]:
        q, q_asimov = real(self, mu)
        # the observed q̃_μ jumps by 25 at ``jump``: CL_s from above 0.05 to ~1e-6
        return (q if mu < jump else q + 25.0), q_asimov

    monkeypatch.setattr(asymptotics.AsymptoticCalculator, "teststats", jumpy)
    with pytest.warns(UserWarning, match="observed CL_s jumps across 0.05") as caught:
        limit = upper_limit(model, level=0.05)
    assert len(caught) == 1  # the expected curves are continuous
    assert limit.obs == pytest.approx(jump, rel=1e-5)


def test_one_sided_statistics_make_no_fit_where_they_are_zero(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """q̃_μ is 0 wherever μ̂ > μ: no conditional fit there; and the conditional fit at μ' = 0
    to the data, made to generate the Asimov data, is not made again at μ = 0."""
    from hs3jax.infer import asymptotics

    model = _model(MULTICHANNEL)
    calc = asymptotics.asymptotic_calculator(model)
    assert model.poi_index is not None
    mu_hat = float(calc.free_data.x[model.poi_index])
    assert mu_hat > 0.1
    fits: list[float] = []
    real = asymptotics.poi_fit

    def counted(m: Model, mu: float, *args: object, **kwargs: object) -> Minimum:
        fits.append(mu)
        return real(m, mu, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(asymptotics, "poi_fit", counted)
    below = 0.5 * mu_hat
    result = calc.hypotest(below)
    assert fits == [below]  # the Asimov data's fit alone (μ̂_A = 0 < μ)
    assert result.teststat == 0.0
    # the skipped fit to the data: its t_μ is positive, and the one-sided cut makes q̃_μ 0
    t = 2.0 * (
        real(model, below, model.data, model.inputs, calc.free_data.x).nll - calc.free_data.nll
    )
    assert t > 0.0
    fits.clear()
    at_zero = calc.hypotest(0.0)
    assert fits == []  # data: the Asimov generator's fit; Asimov data: μ̂_A = 0
    assert at_zero.CLs_obs == 1.0 and at_zero.CLs_exp == (1.0,) * 5


def test_upper_limit_starts_its_bracket_near_the_limits_not_at_the_poi_bound() -> None:
    """The upper end of the bracket starts at μ̂ + 5σ (σ from the free fit and the fit at
    μ = 0), not at the POI's upper bound, where fits are far from every minimum."""
    model = _model(MULTICHANNEL)
    assert model.poi_index is not None
    top = float(model.bounds[model.poi_index][1])
    limit = upper_limit(model, level=0.05)
    assert max(limit.exp) < max(limit.scan) < top  # measured: 5.11 (10.0 before), +2σ 3.32


def test_first_upper_end_needs_a_measurable_t0() -> None:
    """σ = μ̂/√t_0 only where t_0 is well above the fits' tolerance; else the POI bound."""
    from types import SimpleNamespace

    from hs3jax.infer.limits import _first_upper

    def calc(mu_hat: float, t0: float) -> SimpleNamespace:
        # a stand-in for the calculator: the two fits _first_upper reads
        return SimpleNamespace(
            model=SimpleNamespace(poi_index=0),
            free_data=SimpleNamespace(x=np.array([mu_hat]), nll=10.0),
            asimov_fit=SimpleNamespace(x=np.array([0.0]), nll=10.0 + t0 / 2),
        )

    first = _first_upper
    assert first(calc(1.0, 4.0), 0.05) == pytest.approx(1.0 + 5.0 * 0.5)  # type: ignore[arg-type]
    assert first(calc(1e-4, 1e-9), 0.05) == float("inf")  # type: ignore[arg-type]
    assert first(calc(0.0, 0.0), 0.05) == float("inf")  # type: ignore[arg-type]


def test_conditional_fits_start_on_the_profile_without_far_extrapolation() -> None:
    """Starts come from the profile known so far (the free fit at μ̂ and the fit at μ' = 0):
    extrapolated linearly within the distance of the two nearest points, else the nearest."""
    from hs3jax.infer import asymptotics

    model = _model(MULTICHANNEL)
    calc = asymptotics.asymptotic_calculator(model)
    assert model.poi_index is not None
    mu_hat = float(calc.free_data.x[model.poi_index])
    at_hat, at_zero = calc.free_data.x, calc.asimov_fit.x
    near = calc._start(1.5 * mu_hat, "data")
    np.testing.assert_allclose(near, at_hat + 0.5 * (at_hat - at_zero), rtol=1e-12, atol=1e-12)
    assert np.array_equal(calc._start(3.0 * mu_hat, "data"), at_hat)


def test_newton_stops_where_the_predicted_decrease_is_below_rounding() -> None:
    """At a converged minimum the Newton decrement (3.4e-17 here) is far below what −ln L
    resolves (8ε|f| ≈ 2.5e-13): a rejected full step is rounding, and shorter steps only
    re-sample it. The hypotest's Asimov fit at μ = 1 of ATLAS-3LeRJR (from the background fit's
    parameters) took 57 calls with the halving line search, and 21 more restarted from its own
    minimum; 6 and 2 without it."""
    model = _model(ROOT / "tests" / "data" / "likelihoods" / "ATLAS-3LeRJR__ERJR_200p0_100p0.json")
    background = _fit(model, **{model.poi: 0.0})
    asimov = hs3jax.infer.asimov_data(model, background.x)
    _, mask = setup(model, None, {model.poi: 1.0})
    start = background.x.copy()
    start[model.poi_index] = 1.0
    first = minimize(model, start, mask, asimov, model.inputs, final_hessian=False)
    assert first.success and first.method == "newton"
    assert first.n_calls <= 10
    again = minimize(model, first.x, mask, asimov, model.inputs, final_hessian=False)
    assert again.n_calls <= 3
    assert again.nll <= first.nll + 8 * np.finfo(np.float64).eps * abs(first.nll)

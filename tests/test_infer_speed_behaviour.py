"""How the minimiser spends its work (call counts, not timings; issue 6).

Small fits start with projected Newton from the initial point and need a handful of
value-and-gradient calls; the scipy L-BFGS-B path (larger fits, or Newton not converging)
must give the same minimum.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import hs3jax
from conftest import ROOT
from hs3jax.infer import hypotest, upper_limit
from hs3jax.infer import minimize as minimize_module
from hs3jax.infer.fit import setup
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

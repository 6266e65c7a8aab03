"""Hypothesis tests: :func:`hypotest` (CL_s) and :func:`significance` (discovery, q_0)."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import ndtri

from hs3jax.errors import ModelError
from hs3jax.infer.asymptotics import asymptotic_calculator, normalize_test_stat
from hs3jax.infer.fit import ParInput
from hs3jax.infer.minimize import Method
from hs3jax.infer.results import HypoTestResult, SignificanceResult

__all__ = ["hypotest", "significance"]

Pytree = Any


def _significance(p: Any) -> Any:
    """Z = Φ⁻¹(1 − p), the one-sided significance of the p-value ``p``: ``0.0 − ndtri(p)``,
    equal to ``scipy.stats.norm.isf`` (zero as +0.0), without importing ``scipy.stats``
    (0.4 s of ``import hs3jax``)."""
    return 0.0 - ndtri(p)


def hypotest(
    model: Any,
    poi_value: float,
    data: Pytree = None,
    test_stat: str = "qtilde",
    calctype: str = "asymptotics",
    return_expected_set: bool = True,
    *,
    inputs: Pytree = None,
    init: ParInput = None,
    method: Method = "lbfgsb",
    n_toys: int = 1000,
    seed: int = 0,
) -> HypoTestResult:
    """CL_s = CL_{s+b}/CL_b at POI = ``poi_value``, observed and the expected ±1σ, ±2σ band.

    Same conventions as ``pyhf.infer.hypotest`` (``test_stat`` ``"qtilde"``, ``"q"`` or
    ``"q0"``; for ``"q0"`` ``CLs_obs`` is the discovery p-value p_0). ``calctype`` is
    ``"asymptotics"`` (alias ``"asymptotic"``) or ``"toybased"`` (``n_toys`` seeded toys per
    hypothesis, see :mod:`hs3jax.infer.toys`). The expected band is always computed;
    ``return_expected_set`` is accepted for pyhf compatibility.
    """
    del return_expected_set
    ts = normalize_test_stat(test_stat)
    if calctype in ("asymptotics", "asymptotic"):
        calc = asymptotic_calculator(
            model, data, test_stat=ts, inputs=inputs, init=init, method=method
        )
        return calc.hypotest(float(poi_value))
    if calctype in ("toybased", "toys"):
        from hs3jax.infer.toys import toy_hypotest

        return toy_hypotest(
            model, float(poi_value), data, test_stat=ts, inputs=inputs, n_toys=n_toys, seed=seed
        )
    raise ModelError(f"unknown calctype {calctype!r}; use 'asymptotics' or 'toybased'")


def significance(
    model: Any,
    data: Pytree = None,
    *,
    inputs: Pytree = None,
    init: ParInput = None,
    method: Method = "lbfgsb",
) -> SignificanceResult:
    """Discovery significance Z = Φ⁻¹(1 − p_0) from q_0 (asymptotic), with the expected
    p_0 band from the μ = 1 Asimov data (pyhf's ``hypotest(0, ..., test_stat="q0")``)."""
    calc = asymptotic_calculator(
        model, data, test_stat="q0", inputs=inputs, init=init, method=method
    )
    res = calc.hypotest(0.0)
    p0_exp = tuple(res.CLsb_exp)
    return SignificanceResult(
        p0=res.CLsb,
        Z=float(_significance(res.CLsb)),
        p0_exp=p0_exp,
        Z_exp=tuple(float(v) for v in _significance(np.asarray(p0_exp))),
        q0=res.teststat,
        q0_asimov=res.teststat_asimov,
        poi_hat=res.poi_hat,
    )

"""Upper limits on the POI: CL_s(μ) = level solved by bracketing root finding, or read off a grid.

Root finding follows ``pyhf.infer.intervals.upper_limits.toms748_scan``: start from the POI's
lower bound and, for the upper end, from μ̂ + 5σ (σ = μ̂/√t_0 from fits already made; the POI's
upper bound where μ̂ ≤ 0, as pyhf), halve the lower end until every CL_s (observed and
expected) is above ``level``, double the upper end until every CL_s is below it, then solve
CL_s(μ) − level = 0 with TOMS 748 for the observed curve and each of the five expected curves
(each bracketed by the closest evaluated points). All hypothesis tests share the μ-independent
fits of one :class:`~hs3jax.infer.asymptotics.AsymptoticCalculator`.

Fewer fits than pyhf, same roots: the expected curves depend on the Asimov data alone, so
their root finding makes only the conditional fit to the Asimov data at each new μ (and every
conditional fit starts from the one at the nearest μ); each curve's bracket is first narrowed at the
asymptotic prediction of its root, and TOMS 748 solves z(μ) = Φ⁻¹(CL_s(μ)) − Φ⁻¹(level), which
has the root of CL_s(μ) − level and is nearly linear in μ. With σ = μ/√q_A(μ) of the evaluated
point closest to the root, the asymptotic formulas give

    expected (n σ):  μ_n = σ [−Φ⁻¹(level Φ(−n)) − n]
    observed:        μ   = μ̂ + σ [−Φ⁻¹(level Φ(μ̂/σ))]          (q̃_μ for μ̂ ≥ 0)
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from scipy.optimize import toms748
from scipy.special import ndtr, ndtri

from hs3jax.errors import ModelError
from hs3jax.infer.asymptotics import AsymptoticCalculator, asymptotic_calculator
from hs3jax.infer.fit import ParInput
from hs3jax.infer.minimize import FitFailed, Method
from hs3jax.infer.results import NSIGMA, HypoTestResult, LimitResult
from hs3jax.model import Model

__all__ = ["upper_limit"]

Pytree = Any
Progress = Callable[[float, HypoTestResult], None]


#: |Φ⁻¹(CL_s) − Φ⁻¹(level)| below which μ counts as a root: ten times CL_s's rounding noise
#: in z (Δz ≈ ΔCL_s / φ(z) with ΔCL_s ~ 1e-15), a μ within ~1e-12 / |dz/dμ| of the root.
_Z_FLOOR = 1e-12


def _curve(result: HypoTestResult, which: int) -> float:
    return result.CLs_obs if which == 0 else result.CLs_exp[which - 1]


def _predicted_root(mu: float, q_asimov: float, poi_hat: float, which: int, level: float) -> float:
    """Asymptotic prediction of the root of curve ``which`` from the test at ``mu`` (module
    doc); NaN where the test gives no σ (μ ≤ 0 or q_A ≤ 0)."""
    if not (mu > 0.0 and q_asimov > 0.0 and np.isfinite(q_asimov)):
        return float("nan")
    sigma = mu / np.sqrt(q_asimov)
    if which == 0:
        mu_hat = max(poi_hat, 0.0)
        return float(mu_hat - sigma * ndtri(level * ndtr(mu_hat / sigma)))
    n = NSIGMA[which - 1]
    return float(sigma * (-ndtri(level * ndtr(-n)) - n))


#: σ above μ̂ where the first upper end of the bracket is tested: beyond the observed limit
#: (μ̂ + σ Φ⁻¹(1 − level Φ(μ̂/σ)), < μ̂ + 2σ at level 0.05) and the expected +2σ one (3.66σ at
#: 0.05) where the likelihood is near Gaussian in μ.
_UPPER_SIGMAS = 5.0


#: t_0 below which μ̂/√t_0 is no estimate of σ: μ̂ within 0.1σ of 0, where the fits' own
#: tolerance (Δt ~ 1e-8) would dominate t_0, and a σ far too small would start the bracket
#: doubling from near 0.
_MIN_T0 = 1e-2


def _first_upper(calc: AsymptoticCalculator, level: float) -> float:
    """Where the search for an upper end of the bracket starts: μ̂ + k σ, with σ = μ̂/√t_0
    from the fits already made (the free fit and the conditional fit at μ = 0 that generated
    the Asimov data; k = :data:`_UPPER_SIGMAS`, more for levels below 0.05), instead of the
    POI's upper bound (pyhf), where fits far from every minimum are slow; inf where they give
    no σ (μ̂ ≤ 0, or t_0 < :data:`_MIN_T0`)."""
    index = calc.model.poi_index
    assert index is not None
    poi_hat = float(calc.free_data.x[index])
    at_zero = float(calc.asimov_fit.x[index])
    t0 = 2.0 * (calc.asimov_fit.nll - calc.free_data.nll)
    if not (poi_hat > 0.0 and at_zero == 0.0 and _MIN_T0 <= t0 < float("inf")):
        return float("inf")
    sigma = poi_hat / math.sqrt(t0)
    k = max(_UPPER_SIGMAS, float(-ndtri(level)) + 3.0)
    return poi_hat + k * sigma


def _z_distance(value: float, level: float) -> float:
    """Φ⁻¹(CL_s) − Φ⁻¹(level), CL_s clipped where it rounds to 0 or 1 (far from any root)."""
    return float(ndtri(np.clip(value, 1e-300, 1.0 - 1e-16)) - ndtri(level))


#: |Φ⁻¹(CL_s) − Φ⁻¹(level)| at a root beyond which CL_s jumps across ``level`` there instead of
#: crossing it (a continuous CL_s at TOMS 748's tolerance is orders of magnitude closer).
_JUMP_Z = 1e-2
_CURVES = ("observed", "expected −2σ", "expected −1σ", "expected", "expected +1σ", "expected +2σ")


def _check_crossing(
    name: str,
    poi: str | None,
    root: float,
    which: int,
    level: float,
    curve: Callable[[float, int], float],
    bracket: Callable[[int], tuple[float, float]],
) -> None:
    """Warn where curve ``which`` does not reach ``level`` at its root: CL_s is not continuous
    there (conditional fits that land in different minima of −ln L on either side, in a
    multimodal model), and the root is the place of the jump, not a limit."""
    value = curve(root, which)
    if abs(_z_distance(value, level)) <= _JUMP_Z:
        return
    a, b = sorted(bracket(which))
    warnings.warn(
        f"{name}: the {_CURVES[which]} CL_s jumps across {level} at {poi} = {root:.6g} "
        f"(CL_s = {curve(a, which):.4g} at {a:.6g}, {curve(b, which):.4g} at {b:.6g}, "
        f"{value:.4g} at the root): no μ gives CL_s = {level} there, and this limit is the "
        "place of the jump. The conditional fits on either side probably found different "
        "minima of −ln L; compare them with a profile scan, or read the limit off "
        "upper_limit(..., scan=...).",
        stacklevel=3,
    )


def upper_limit(
    model: Model,
    data: Pytree = None,
    level: float = 0.05,
    *,
    scan: Sequence[float] | np.ndarray | None = None,
    test_stat: str = "qtilde",
    inputs: Pytree = None,
    init: ParInput = None,
    method: Method = "lbfgsb",
    rtol: float = 1e-6,
    progress: Progress | None = None,
) -> LimitResult:
    """Upper limit at confidence level 1 − ``level`` (observed and the −2σ..+2σ band).

    ``scan=None``: TOMS 748 root finding (relative tolerance ``rtol``); a grid ``scan``:
    linear interpolation of each CL_s curve at ``level`` like pyhf's ``linear_grid_scan``.
    ``progress(mu, result)`` is called after each hypothesis test.
    """
    if not 0.0 < level < 1.0:
        raise ModelError(f"level must be in (0, 1), got {level}")
    calc = asymptotic_calculator(
        model, data, test_stat=test_stat, inputs=inputs, init=init, method=method
    )
    assert model.poi is not None and model.poi_index is not None
    poi_index = model.poi_index
    cache: dict[float, HypoTestResult] = {}  # full tests (observed and expected)
    band: dict[float, tuple[float, ...]] = {}  # expected band alone (the Asimov fit)

    def run(mu: float) -> HypoTestResult:
        mu = float(mu)
        if mu not in cache:
            cache[mu] = calc.hypotest(mu)
            band[mu] = cache[mu].CLs_exp
            if progress is not None:
                progress(mu, cache[mu])
        return cache[mu]

    def curve(mu: float, which: int) -> float:
        """CL_s of curve ``which`` at ``mu``: an expected curve needs no fit to the data."""
        mu = float(mu)
        if which == 0:
            return run(mu).CLs_obs
        if mu not in band:
            band[mu] = calc.expected(mu)
        return band[mu][which - 1]

    def table() -> tuple[tuple[float, ...], tuple[float, ...], tuple[tuple[float, ...], ...]]:
        ks = sorted(band)
        nan = float("nan")
        return (
            tuple(ks),
            tuple(cache[k].CLs_obs if k in cache else nan for k in ks),
            tuple(band[k] for k in ks),
        )

    if scan is not None:
        grid = np.asarray(scan, dtype=np.float64)
        results = [run(mu) for mu in grid]
        limits = []
        for which in range(6):
            values = np.asarray([_curve(r, which) for r in results])
            limits.append(float(np.interp(level, values[::-1], grid[::-1])))
        mus, obs, exp = table()
        return LimitResult(
            limits[0], tuple(limits[1:]), level, model.poi, mus, obs, exp, "scan", len(cache)
        )

    lo, hi = (float(v) for v in np.asarray(model.bounds)[model.poi_index])

    def all_values(r: HypoTestResult) -> np.ndarray:
        return np.asarray([r.CLs_obs, *r.CLs_exp])

    for _ in range(60):
        if np.all(all_values(run(lo)) >= level):
            break
        lo = lo / 2 if lo > 0 else lo - 1.0 if lo < 0 else lo
        if lo == 0.0 and np.any(all_values(run(lo)) < level):
            raise FitFailed(f"{model.name}: CLs is below {level} already at {model.poi} = 0")
    top = hi
    hi = min(top, _first_upper(calc, level))
    for _ in range(60):
        if np.all(all_values(run(hi)) <= level):
            break
        hi = (min(2 * hi, top) if hi < top else 2 * hi) if hi > 0 else 1.0
    else:
        raise FitFailed(f"{model.name}: CLs stays above {level} up to {model.poi} = {hi}")

    def z(value: float) -> float:
        return _z_distance(value, level)

    def f(mu: float, which: int) -> float:
        value = z(curve(mu, which))
        # at CL_s's rounding floor (|Δz| ~ 1e-13; Δμ ~ 1e-12 here, far inside the tolerance)
        # the sign is noise and TOMS 748 would keep stepping: a root
        return 0.0 if abs(value) < _Z_FLOOR else value

    def bracket(which: int) -> tuple[float, float]:
        ks = np.asarray(list(cache if which == 0 else band))
        vals = np.asarray([curve(k, which) - level for k in ks])
        pos, neg = vals >= 0, vals < 0
        return float(ks[pos][np.argmin(vals[pos])]), float(ks[neg][np.argmax(vals[neg])])

    poi_hat = float(calc.free_data.x[poi_index])

    def narrow(which: int) -> tuple[float, float]:
        """The closest evaluated bracket, after one test at the predicted root inside it."""
        a, b = bracket(which)
        nearest = min((a, b), key=lambda mu: abs(z(curve(mu, which))))
        guess = _predicted_root(nearest, calc.teststat_asimov(nearest), poi_hat, which, level)
        if np.isfinite(guess) and min(a, b) < guess < max(a, b):
            curve(guess, which)
            a, b = bracket(which)
        return a, b

    limits = []
    for which in range(6):
        a, b = narrow(which)
        root = float(toms748(f, a, b, args=(which,), k=2, xtol=2e-12, rtol=rtol))
        _check_crossing(model.name, model.poi, root, which, level, curve, bracket)
        limits.append(root)
    mus, obs, exp = table()
    return LimitResult(
        limits[0], tuple(limits[1:]), level, model.poi, mus, obs, exp, "toms748", len(band)
    )

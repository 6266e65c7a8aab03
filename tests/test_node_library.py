"""The node library (continuous, shapes, polynomials, math functions) against ROOT and scipy.

For every distribution class: (1) the density normalised over the observable's range equals
ROOT 6.40's normalised pdf values from the conformance corpus (rtol 1e-8, the HS3TestSuite
tolerance), or scipy's where ROOT has no case; (2) ``log_integral`` equals scipy's adaptive
quadrature of ``exp(log_density)`` to 1e-10 relative at three parameter points; (3) gradients
with respect to every parameter and the observable are finite and match central differences
to 1e-6 relative.
"""

from __future__ import annotations

import functools
import itertools
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.integrate
import scipy.stats

jax.config.update("jax_enable_x64", True)

import hs3jax  # noqa: E402
from hs3jax.nodes.basic import GaussianDist  # noqa: E402
from hs3jax.nodes.continuous import (  # noqa: E402
    ConstantWidthBreitWigner,
    ExponentialDist,
    GammaDist,
    GeneralizedNormalDist,
    LandauDist,
    UniformDist,
    landau_cdf,
    landau_pdf,
    landau_sf,
)
from hs3jax.nodes.math_functions import PolynomialFunction  # noqa: E402
from hs3jax.nodes.polynomials import (  # noqa: E402
    BernsteinPolyDist,
    ChebychevDist,
    LegacyExpPolyDist,
    PolynomialDist,
    PowerSumDist,
)
from hs3jax.nodes.shapes import (  # noqa: E402
    ArgusDist,
    BifurGaussDist,
    CBShape,
    OneTailCrystalBall,
    TwoTailCrystalBall,
)

CONFORMANCE = Path(__file__).parent / "data" / "conformance"
RTOL_ROOT = 1e-8
ATOL_DENSITY = 1e-12
RTOL_INTEGRAL = 1e-10
RTOL_GRAD = 1e-6

Params = dict[str, Any]


def _arrays(params: Params) -> dict[str, jax.Array]:
    return {k: jnp.asarray(v, dtype=jnp.float64) for k, v in params.items()}


def log_density(cls: type, x: Any, lo: float, hi: float, params: Params) -> jax.Array:
    p = _arrays(params)
    x = jnp.asarray(x, dtype=jnp.float64)
    if hasattr(cls, "log_density_in_range"):
        return cls.log_density_in_range(x, lo, hi, **p)  # type: ignore[no-any-return]
    return cls.log_density(x, **p)  # type: ignore[no-any-return]


def log_integral(cls: type, lo: float, hi: float, params: Params) -> jax.Array:
    p = _arrays(params)
    if hasattr(cls, "log_integral_in_range"):
        return cls.log_integral_in_range(lo, hi, **p)  # type: ignore[no-any-return]
    out = cls.log_integral(lo, hi, **p)
    assert out is not None
    return out  # type: ignore[no-any-return]


def _log_normalised(cls: type, x: Any, lo: float, hi: float, params: Params) -> jax.Array:
    return log_density(cls, x, lo, hi, params) - log_integral(cls, lo, hi, params)


@functools.cache
def _compiled_density(cls: type, lo: float, hi: float) -> Callable[..., Any]:
    """jit-compiled unnormalised log-density (for scipy's quadrature)."""
    return jax.jit(lambda x, params: log_density(cls, x, lo, hi, params))


@functools.cache
def _compiled(cls: type, lo: float, hi: float) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """jit-compiled (normalised log-density, gradient of its sum w.r.t. x and the parameters)."""

    def value(x: jax.Array, params: dict[str, jax.Array]) -> jax.Array:
        return _log_normalised(cls, x, lo, hi, params)

    def total(x: jax.Array, params: dict[str, jax.Array]) -> jax.Array:
        return jnp.sum(value(x, params))

    return jax.jit(value), jax.jit(jax.grad(total, argnums=(0, 1)))


def log_normalised(cls: type, x: Any, lo: float, hi: float, params: Params) -> jax.Array:
    """ln of the density normalised over [lo, hi] (jit-compiled once per class and range)."""
    value, _ = _compiled(cls, lo, hi)
    return value(jnp.asarray(x, dtype=jnp.float64), _arrays(params))  # type: ignore[no-any-return]


def quad_integral(
    cls: type, lo: float, hi: float, params: Params, breaks: tuple[float, ...] = ()
) -> float:
    """scipy's adaptive quadrature of exp(log_density) over [lo, hi] (float64 reference)."""
    raw = _compiled_density(cls, lo, hi)
    args = _arrays(params)

    def f(t: float) -> jax.Array:
        return jnp.exp(raw(jnp.asarray(t, dtype=jnp.float64), args))

    pts = sorted({lo, hi, *[b for b in breaks if lo < b < hi]})
    total = 0.0
    for a, b in itertools.pairwise(pts):
        val, _ = scipy.integrate.quad(
            lambda t: float(f(t)), a, b, epsabs=0.0, epsrel=1e-13, limit=500
        )
        total += val
    return total


# ------------------------------------------------------------------------------------------
# (1) against ROOT 6.40's normalised pdf values
# ------------------------------------------------------------------------------------------


def _root_case(case: str) -> tuple[tuple[float, float], list[dict[str, Any]]]:
    spec = json.loads((CONFORMANCE / "cases" / f"{case}.json").read_text())
    axis = spec["data"][0]["axes"][0]
    ref = json.loads((CONFORMANCE / "root" / f"{case}.json").read_text())
    return (float(axis["min"]), float(axis["max"])), ref["values"]


ROOT_CASES: dict[str, tuple[type, Callable[[dict[str, float]], Params]]] = {
    "uniform": (UniformDist, lambda v: {}),
    # RooExponential exp(c x) is written as exponential_dist with c -> generic_function "-c"
    "exponential": (ExponentialDist, lambda v: {"c": -v["c"]}),
    "exponential_negcoef": (ExponentialDist, lambda v: {"c": v["c"]}),
    "landau": (LandauDist, lambda v: {"mean": v["mean"], "sigma": v["sigma"]}),
    "argus": (
        ArgusDist,
        lambda v: {"resonance": v["m0"], "slope": v["c"], "power": v["p"]},
    ),
    "bifurgauss": (
        BifurGaussDist,
        lambda v: {"mean": v["mean"], "sigmaL": v["sigL"], "sigmaR": v["sigR"]},
    ),
    "cbshape": (
        CBShape,
        lambda v: {"m0": v["m0"], "sigma": v["sigma"], "alpha": v["alpha"], "n": v["n"]},
    ),
    "chebychev": (ChebychevDist, lambda v: {"coefficients": [v["a0"], v["a1"]]}),
    "bernstein": (
        BernsteinPolyDist,
        lambda v: {"coefficients": [v["c0"], v["c1"], v["c2"], v["c3"]]},
    ),
    # ROOT writes the implicit constant as the string "1.0"
    "polynomial": (PolynomialDist, lambda v: {"coefficients": [1.0, v["a1"], v["a2"]]}),
    "legacyexppoly": (LegacyExpPolyDist, lambda v: {"coefficients": [1.0, v["a1"], v["a2"]]}),
}

#: the largest relative deviation from ROOT seen per case (filled by the test, printed by -s)
ROOT_DEVIATION: dict[str, float] = {}


@pytest.mark.parametrize("case", sorted(ROOT_CASES))
def test_normalised_density_matches_root(case: str) -> None:
    cls, to_params = ROOT_CASES[case]
    (lo, hi), points = _root_case(case)
    worst = 0.0
    for point in points:
        params = to_params(point["all_values"])
        (pdf,) = point["pdf_evals"]
        x = np.array([row[0] for row in pdf["x"]])
        expected = np.array(pdf["value"])
        got = np.exp(np.asarray(log_normalised(cls, x, lo, hi, params)))
        np.testing.assert_allclose(got, expected, rtol=RTOL_ROOT, atol=ATOL_DENSITY)
        worst = max(worst, float(np.max(np.abs(got / expected - 1.0))))
    ROOT_DEVIATION[case] = worst


def test_polynomial_function_matches_root_polyvar() -> None:
    """polyvar: a Gaussian whose mean is RooPolyVar(a; c0, c1, c2)."""
    (lo, hi), points = _root_case("polyvar")
    for point in points:
        v = point["all_values"]
        mean = PolynomialFunction.value(
            x=jnp.asarray(v["a"]), coefficients=jnp.asarray([v["c0"], v["c1"], v["c2"]])
        )
        (pdf,) = point["pdf_evals"]
        x = jnp.asarray([row[0] for row in pdf["x"]])
        sigma = jnp.asarray(v["sigma"])
        logp = GaussianDist.log_density(x, mean, sigma) - GaussianDist.log_integral(
            lo, hi, mean, sigma
        )
        np.testing.assert_allclose(np.exp(logp), pdf["value"], rtol=RTOL_ROOT, atol=ATOL_DENSITY)


# ------------------------------------------------------------------------------------------
# (1') against scipy where ROOT has no case
# ------------------------------------------------------------------------------------------


def _scipy_truncated(dist: Any, x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return dist.pdf(x) / (dist.cdf(hi) - dist.cdf(lo))  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("beta", "mean", "alpha"), [(2.0, 0.3, 1.2), (8.0, -0.1, 0.9), (0.7, 0.5, 2.0)]
)
def test_generalized_normal_matches_scipy(beta: float, mean: float, alpha: float) -> None:
    lo, hi = -4.0, 5.0
    x = np.linspace(-3.9, 4.9, 23)
    params = {"mean": mean, "alpha": alpha, "beta": beta}
    got = np.exp(np.asarray(log_normalised(GeneralizedNormalDist, x, lo, hi, params)))
    ref = _scipy_truncated(scipy.stats.gennorm(beta, loc=mean, scale=alpha), x, lo, hi)
    np.testing.assert_allclose(got, ref, rtol=1e-12)
    # over the real line the density is scipy's
    full = np.exp(np.asarray(GeneralizedNormalDist.log_density(jnp.asarray(x), **_arrays(params))))
    np.testing.assert_allclose(
        full, scipy.stats.gennorm(beta, loc=mean, scale=alpha).pdf(x), rtol=1e-11
    )


@pytest.mark.parametrize(
    ("gamma", "beta", "mu"), [(2.5, 1.3, 0.0), (0.8, 0.5, 0.2), (7.0, 0.4, -1.0)]
)
def test_gamma_matches_scipy(gamma: float, beta: float, mu: float) -> None:
    lo, hi = mu + 0.01, mu + 12.0
    x = np.linspace(lo + 0.001, hi - 0.001, 17)
    params = {"gamma": gamma, "beta": beta, "mu": mu}
    got = np.exp(np.asarray(log_normalised(GammaDist, x, lo, hi, params)))
    ref = _scipy_truncated(scipy.stats.gamma(gamma, loc=mu, scale=beta), x, lo, hi)
    np.testing.assert_allclose(got, ref, rtol=1e-12)
    # the density below mu is zero
    assert float(GammaDist.log_density(jnp.asarray(mu - 1.0), **_arrays(params))) == -math.inf


def test_landau_matches_defining_integral() -> None:
    """landau_pdf against the defining integral (1/π)∫ exp(−t ln t − λt) sin(πt) dt."""

    def reference(lam: float) -> float:
        def f(t: float) -> float:
            return math.exp(-t * math.log(t) - lam * t) * math.sin(math.pi * t) if t > 0 else 0.0

        edges = [0.0, 1.0, 2.0, 5.0, 10.0, 30.0, 80.0]
        return (
            sum(
                scipy.integrate.quad(f, a, b, epsabs=0.0, epsrel=1e-13, limit=300)[0]
                for a, b in itertools.pairwise(edges)
            )
            / math.pi
        )

    pdf = jax.jit(landau_pdf)
    lam = np.array([-2.5, -1.0, -0.22278, 0.0, 1.5, 4.0, 12.0, 30.0])
    ref = np.array([reference(v) for v in lam])
    np.testing.assert_allclose(np.asarray(landau_pdf(jnp.asarray(lam))), ref, rtol=1e-10)
    cdf = np.asarray(landau_cdf(jnp.asarray(lam)))
    sf = np.asarray(landau_sf(jnp.asarray(lam)))
    np.testing.assert_allclose(cdf + sf, 1.0, rtol=0, atol=1e-14)
    # the cdf is the integral of the pdf
    for a, b in [(-2.0, 0.5), (1.0, 9.0)]:
        val = scipy.integrate.quad(
            lambda t: float(pdf(jnp.asarray(t))), a, b, epsabs=0.0, epsrel=1e-13
        )[0]
        diff = float(landau_cdf(jnp.asarray(b)) - landau_cdf(jnp.asarray(a)))
        assert diff == pytest.approx(val, rel=1e-11)


def _cb_tail(t: np.ndarray, alpha: float, n: float) -> np.ndarray:
    a = (n / alpha) ** n * math.exp(-0.5 * alpha * alpha)
    b = n / alpha - alpha
    return a / (b - t) ** n  # type: ignore[no-any-return]


def _dscb_numpy(x: np.ndarray, p: dict[str, float]) -> np.ndarray:
    """RooCrystalBall::evaluate, written independently in numpy."""
    t = np.where(x < p["m0"], (x - p["m0"]) / p["sigma_L"], (x - p["m0"]) / p["sigma_R"])
    aL, aR = abs(p["alpha_L"]), abs(p["alpha_R"])
    left = _cb_tail(np.minimum(t, -aL), aL, p["n_L"])
    right = _cb_tail(np.minimum(-t, -aR), aR, p["n_R"])
    return np.where(t < -aL, left, np.where(t <= aR, np.exp(-0.5 * t * t), right))


DSCB_POINTS = [
    {
        "m0": 0.2,
        "sigma_L": 1.1,
        "sigma_R": 0.8,
        "alpha_L": 1.4,
        "n_L": 3.0,
        "alpha_R": 2.0,
        "n_R": 5.0,
    },
    {
        "m0": -0.3,
        "sigma_L": 0.7,
        "sigma_R": 1.5,
        "alpha_L": 0.8,
        "n_L": 1.2,
        "alpha_R": 1.1,
        "n_R": 1.5,
    },
    {
        "m0": 0.0,
        "sigma_L": 1.0,
        "sigma_R": 1.0,
        "alpha_L": 2.5,
        "n_L": 0.6,
        "alpha_R": 0.5,
        "n_R": 12.0,
    },
]


ONE_TAIL_POINTS = [
    {"m0": 0.2, "sigma_L": 1.1, "sigma_R": 0.8, "alpha": 1.4, "n": 3.0},
    {"m0": -0.3, "sigma_L": 0.7, "sigma_R": 1.5, "alpha": -0.8, "n": 1.2},
    {"m0": 0.0, "sigma_L": 1.0, "sigma_R": 1.3, "alpha": -2.5, "n": 0.6},
]


@pytest.mark.parametrize("params", ONE_TAIL_POINTS)
def test_one_tail_crystal_ball_matches_numpy_and_quad(params: dict[str, float]) -> None:
    """ROOT's single-tail RooCrystalBall: alpha_R -> inf for alpha >= 0, mirrored for alpha < 0
    (the tail on the high side), written independently in numpy."""
    lo, hi = -10.0, 10.0
    x = np.linspace(-9.5, 9.5, 31)
    side = "L" if params["alpha"] >= 0 else "R"
    two = {
        "m0": params["m0"],
        "sigma_L": params["sigma_L"],
        "sigma_R": params["sigma_R"],
        "alpha_L": 1e3,
        "n_L": 2.0,
        "alpha_R": 1e3,
        "n_R": 2.0,
        f"alpha_{side}": abs(params["alpha"]),
        f"n_{side}": params["n"],
    }
    reference = _dscb_numpy(x, two)
    shape = np.exp(np.asarray(log_density(OneTailCrystalBall, x, lo, hi, params)))
    np.testing.assert_allclose(shape, reference, rtol=1e-13)
    norm = scipy.integrate.quad(
        lambda t: float(_dscb_numpy(np.array(t), two)),
        lo,
        hi,
        points=[params["m0"]],
        epsabs=0.0,
        epsrel=1e-13,
        limit=400,
    )[0]
    got = np.exp(np.asarray(log_normalised(OneTailCrystalBall, x, lo, hi, params)))
    np.testing.assert_allclose(got, reference / norm, rtol=1e-10)


@pytest.mark.parametrize("params", DSCB_POINTS)
def test_double_sided_crystal_ball_matches_numpy_and_quad(params: dict[str, float]) -> None:
    lo, hi = -10.0, 10.0
    x = np.linspace(-9.5, 9.5, 31)
    shape = np.exp(np.asarray(log_density(TwoTailCrystalBall, x, lo, hi, params)))
    np.testing.assert_allclose(shape, _dscb_numpy(x, params), rtol=1e-13)
    norm = scipy.integrate.quad(
        lambda t: float(_dscb_numpy(np.array(t), params)),
        lo,
        hi,
        points=[params["m0"]],
        epsabs=0.0,
        epsrel=1e-13,
        limit=400,
    )[0]
    got = np.exp(np.asarray(log_normalised(TwoTailCrystalBall, x, lo, hi, params)))
    np.testing.assert_allclose(got, _dscb_numpy(x, params) / norm, rtol=1e-10)


def test_double_sided_reduces_to_root_validated_one_sided() -> None:
    """alpha_R → ∞ and sigma_L = sigma_R: RooCrystalBall = RooCBShape (ROOT-validated)."""
    lo, hi = -10.0, 10.0
    x = np.linspace(-9.0, 9.0, 19)
    one = {"m0": 0.2, "sigma": 1.1, "alpha": 1.2, "n": 3.0}
    two = {
        "m0": 0.2,
        "sigma_L": 1.1,
        "sigma_R": 1.1,
        "alpha_L": 1.2,
        "n_L": 3.0,
        "alpha_R": 50.0,
        "n_R": 2.0,
    }
    a = np.asarray(log_normalised(CBShape, x, lo, hi, one))
    b = np.asarray(log_normalised(TwoTailCrystalBall, x, lo, hi, two))
    np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-13)


def test_crystal_ball_matches_scipy_and_negative_alpha_mirrors() -> None:
    """RooCBShape (n > 1, range wide enough) against scipy.stats.crystalball; α < 0 mirrors."""
    lo, hi = -400.0, 60.0
    params = {"m0": 0.5, "sigma": 1.3, "alpha": 1.1, "n": 4.0}
    x = np.linspace(-20.0, 5.0, 26)
    got = np.exp(np.asarray(log_normalised(CBShape, x, lo, hi, params)))
    dist = scipy.stats.crystalball(beta=1.1, m=4.0, loc=0.5, scale=1.3)
    np.testing.assert_allclose(got, _scipy_truncated(dist, x, lo, hi), rtol=1e-10)
    mirrored = {**params, "alpha": -1.1, "m0": -0.5}
    flip = np.exp(np.asarray(log_normalised(CBShape, -x, -hi, -lo, mirrored)))
    np.testing.assert_allclose(flip, got, rtol=1e-12)


def test_crystal_ball_uses_roots_n_equals_one_switch() -> None:
    """For |n − 1| < 1e-5 ROOT integrates the tail with the n = 1 formula A·σ·ln((B−t₁)/(B−t₂))."""
    lo, hi = -10.0, 10.0
    alpha, n = 1.0, 1.0 + 5e-6
    base = {"m0": 0.0, "sigma": 1.0, "alpha": alpha}
    inside = float(log_integral(CBShape, lo, hi, {**base, "n": n}))
    a = (n / alpha) ** n * math.exp(-0.5 * alpha**2)
    b = n / alpha - alpha
    tail = a * (math.log(b - lo) - math.log(b + alpha))
    gauss = math.sqrt(math.pi / 2) * (math.erf(hi / math.sqrt(2)) - math.erf(-alpha / math.sqrt(2)))
    assert inside == pytest.approx(math.log(tail + gauss), rel=1e-14)
    true_inside = math.log(quad_integral(CBShape, lo, hi, {**base, "n": n}, (-alpha,)))
    assert 1e-8 < abs(inside - true_inside) < 1e-4  # the documented deviation of ROOT's switch
    just_out = {**base, "n": 1.0 + 2e-5}
    true_out = math.log(quad_integral(CBShape, lo, hi, just_out, (-alpha,)))
    assert float(log_integral(CBShape, lo, hi, just_out)) == pytest.approx(true_out, rel=1e-12)


def test_relativistic_breit_wigner_formula() -> None:
    lo, hi = 60.0, 120.0
    mass, width = 91.19, 2.5
    x = np.linspace(61.0, 119.0, 13)
    shape = x * width / ((mass**2 - x**2) ** 2 + (mass * width) ** 2)
    norm = scipy.integrate.quad(
        lambda t: t * width / ((mass**2 - t**2) ** 2 + (mass * width) ** 2),
        lo,
        hi,
        points=[mass],
        epsabs=0.0,
        epsrel=1e-13,
    )[0]
    params = {"mass": mass, "width": width}
    got = np.exp(np.asarray(log_normalised(ConstantWidthBreitWigner, x, lo, hi, params)))
    np.testing.assert_allclose(got, shape / norm, rtol=1e-11)
    # normalised over x > 0
    total = math.exp(float(log_integral(ConstantWidthBreitWigner, 0.0, math.inf, params)))
    assert total == pytest.approx(1.0, rel=1e-13)


def test_power_sum_formula() -> None:
    lo, hi = 0.5, 6.0
    coefs, exps = [1.0, 0.4, 2.0], [-1.0, 0.5, -2.5]
    x = np.linspace(0.6, 5.9, 11)
    shape = sum(c * x**e for c, e in zip(coefs, exps, strict=True))
    norm = scipy.integrate.quad(
        lambda t: sum(c * t**e for c, e in zip(coefs, exps, strict=True)), lo, hi, epsrel=1e-13
    )[0]
    params = {"coefficients": coefs, "exponents": exps}
    got = np.exp(np.asarray(log_normalised(PowerSumDist, x, lo, hi, params)))
    np.testing.assert_allclose(got, shape / norm, rtol=1e-12)


# ------------------------------------------------------------------------------------------
# (2) log_integral against quadrature, (3) gradients against finite differences
# ------------------------------------------------------------------------------------------


@dataclass
class Spec:
    cls: type
    lo: float
    hi: float
    points: list[Params]
    xs: list[float]
    breaks: Callable[[Params], tuple[float, ...]] = field(default=lambda p: ())


def _cb_breaks(p: Params) -> tuple[float, ...]:
    return (p["m0"] - abs(p["alpha"]) * p["sigma"] * np.sign(p["alpha"]),)


def _dscb_breaks(p: Params) -> tuple[float, ...]:
    return (p["m0"] - p["alpha_L"] * p["sigma_L"], p["m0"], p["m0"] + p["alpha_R"] * p["sigma_R"])


SPECS: dict[str, Spec] = {
    "uniform_dist": Spec(UniformDist, -5.0, 5.0, [{}], [-4.0, 0.0, 3.3]),
    "exponential_dist": Spec(
        ExponentialDist, 0.0, 10.0, [{"c": 0.5}, {"c": -0.3}, {"c": 1e-8}], [0.5, 4.0, 9.0]
    ),
    "generalized_normal_dist": Spec(
        GeneralizedNormalDist,
        -4.0,
        5.0,
        [
            {"mean": 0.3, "alpha": 1.2, "beta": 2.0},
            {"mean": -0.1, "alpha": 0.9, "beta": 8.0},
            {"mean": 0.5, "alpha": 2.0, "beta": 1.3},
        ],
        [-2.0, 0.1, 1.7],
        lambda p: (p["mean"],),
    ),
    "gamma_dist": Spec(
        GammaDist,
        0.5,
        12.0,
        [
            {"gamma": 2.5, "beta": 1.3, "mu": 0.0},
            {"gamma": 0.8, "beta": 0.5, "mu": 0.2},
            {"gamma": 7.0, "beta": 0.4, "mu": -1.0},
        ],
        [0.7, 2.0, 6.0],
    ),
    "relativistic_breit_wigner_dist": Spec(
        ConstantWidthBreitWigner,
        60.0,
        120.0,
        [
            {"mass": 91.19, "width": 2.5},
            {"mass": 80.4, "width": 6.0},
            {"mass": 100.0, "width": 15.0},
        ],
        [70.0, 90.0, 101.0],
        lambda p: (p["mass"],),
    ),
    "landau_dist": Spec(
        LandauDist,
        -5.0,
        30.0,
        [{"mean": 2.0, "sigma": 1.0}, {"mean": 2.5, "sigma": 1.2}, {"mean": 1.5, "sigma": 0.6}],
        [0.0, 2.0, 15.0],
        lambda p: (p["mean"],),
    ),
    "crystalball_dist": Spec(
        CBShape,
        -10.0,
        10.0,
        [
            {"m0": 0.0, "sigma": 1.0, "alpha": 1.5, "n": 3.0},
            {"m0": 0.2, "sigma": 1.1, "alpha": -1.2, "n": 1.7},
            {"m0": -0.3, "sigma": 0.8, "alpha": 0.7, "n": 0.6},
        ],
        [-5.0, -1.0, 1.5],
        _cb_breaks,
    ),
    "crystalball_doublesided_dist": Spec(
        TwoTailCrystalBall, -10.0, 10.0, DSCB_POINTS, [-6.0, 0.1, 2.5], _dscb_breaks
    ),
    "crystalball_one_tail": Spec(
        OneTailCrystalBall,
        -10.0,
        10.0,
        ONE_TAIL_POINTS,
        [-6.0, 0.1, 2.5],
        lambda p: (
            p["m0"],
            p["m0"] - p["alpha"] * (p["sigma_L"] if p["alpha"] > 0 else p["sigma_R"]),
        ),
    ),
    "bifurkated_gaussian_dist": Spec(
        BifurGaussDist,
        -10.0,
        10.0,
        [
            {"mean": 0.3, "sigmaL": 1.0, "sigmaR": 2.0},
            {"mean": 0.5, "sigmaL": 1.2, "sigmaR": 1.8},
            {"mean": -8.0, "sigmaL": 0.8, "sigmaR": 2.3},
        ],
        [-2.0, 0.0, 3.0],
        lambda p: (p["mean"],),
    ),
    "ARGUS_dist": Spec(
        ArgusDist,
        5.2,
        5.29,
        [
            {"resonance": 5.291, "slope": -20.0, "power": 0.5},
            {"resonance": 5.291, "slope": -0.4, "power": 1.3},
            {"resonance": 5.3, "slope": 6.0, "power": 0.7},
        ],
        [5.21, 5.25, 5.28],
    ),
    "polynomial_dist": Spec(
        PolynomialDist,
        0.0,
        5.0,
        [
            {"coefficients": [1.0, 0.3, -0.05]},
            {"coefficients": [2.0, -0.2]},
            {"coefficients": [0.5, 0.1, 0.02, 0.001]},
        ],
        [0.2, 2.5, 4.8],
    ),
    "chebychev_dist": Spec(
        ChebychevDist,
        -1.0,
        3.0,
        [
            {"coefficients": [0.2, -0.1]},
            {"coefficients": [0.3, -0.05, 0.1, 0.02]},
            {"coefficients": [-0.4]},
        ],
        [-0.8, 1.0, 2.7],
    ),
    "bernstein_poly_dist": Spec(
        BernsteinPolyDist,
        0.0,
        10.0,
        [
            {"coefficients": [1.0, 0.5, 0.3, 0.8]},
            {"coefficients": [0.2, 1.5]},
            {"coefficients": [1.0, 0.4, 0.5, 0.6, 0.1, 2.0]},
        ],
        [0.5, 3.0, 9.5],
    ),
    "power_sum_dist": Spec(
        PowerSumDist,
        0.5,
        6.0,
        [
            {"coefficients": [1.0, 0.4], "exponents": [-1.0, 0.5]},
            {"coefficients": [2.0, 0.1], "exponents": [-2.5, 1.2]},
            {"coefficients": [1.0], "exponents": [-1.0 + 1e-9]},
        ],
        [0.7, 2.0, 5.5],
    ),
    "legacy_exp_poly_dist": Spec(
        LegacyExpPolyDist,
        0.0,
        5.0,
        [
            {"coefficients": [1.0, -0.5, -0.05]},
            {"coefficients": [0.0, -0.3, 0.04]},
            {"coefficients": [0.0, 0.7, -1e-4]},
        ],
        [0.2, 1.0, 3.0],
    ),
}


@pytest.mark.parametrize("name", sorted(SPECS))
def test_log_integral_matches_quadrature(name: str) -> None:
    spec = SPECS[name]
    for params in spec.points:
        got = float(log_integral(spec.cls, spec.lo, spec.hi, params))
        ref = quad_integral(spec.cls, spec.lo, spec.hi, params, spec.breaks(params))
        assert math.exp(got) == pytest.approx(ref, rel=RTOL_INTEGRAL), params


def _check_gradients(spec: Spec, x: np.ndarray, params: Params, label: str) -> None:
    """jax.grad w.r.t. x and every parameter against fourth-order central differences."""
    value, grad_fn = _compiled(spec.cls, spec.lo, spec.hi)
    args = {k: np.asarray(v, dtype=np.float64) for k, v in params.items()}
    gx, gp = grad_fn(jnp.asarray(x), _arrays(args))

    def total(xv: np.ndarray, pv: dict[str, np.ndarray]) -> float:
        return float(jnp.sum(value(jnp.asarray(xv), _arrays(pv))))

    leaves: list[tuple[str, np.ndarray, np.ndarray]] = [("x", x, np.asarray(gx))]
    leaves += [(k, args[k], np.asarray(gp[k])) for k in args]
    for key, at, grad in leaves:
        assert np.all(np.isfinite(grad)), (label, key, grad)
        flat = at.reshape(-1)
        for i in range(flat.size):
            h = 1e-5 * max(1.0, abs(flat[i]))

            def shifted(step: float, key: str = key, i: int = i, at: np.ndarray = at) -> float:
                moved = at.reshape(-1).copy()
                moved[i] += step
                new = moved.reshape(at.shape)
                if key == "x":
                    return total(new, args)
                return total(x, {**args, key: new})

            fd = (8.0 * (shifted(h) - shifted(-h)) - (shifted(2 * h) - shifted(-2 * h))) / (
                12.0 * h
            )
            g = grad.reshape(-1)[i]
            assert g == pytest.approx(fd, rel=RTOL_GRAD, abs=1e-7), (label, key, i, g, fd)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_gradients_match_finite_differences(name: str) -> None:
    spec = SPECS[name]
    rng = np.random.default_rng(7)
    for params in spec.points:
        x = np.asarray(spec.xs, dtype=np.float64) + rng.uniform(-1e-3, 1e-3, len(spec.xs))
        _check_gradients(spec, x, params, name)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_nodes_broadcast_over_a_node_axis(name: str) -> None:
    """Parameters of shape (n,) and x of shape (n,) give each node's own value."""
    spec = SPECS[name]
    if any(np.ndim(v) for p in spec.points for v in p.values()):
        pytest.skip("list parameters of different lengths are padded by the compiler")
    one_by_one = [
        float(log_normalised(spec.cls, spec.xs[i], spec.lo, spec.hi, p))
        for i, p in enumerate(spec.points)
    ]
    stacked = {k: [p[k] for p in spec.points] for k in spec.points[0]}
    n = len(spec.points)
    together = np.asarray(log_normalised(spec.cls, spec.xs[:n], spec.lo, spec.hi, stacked))
    np.testing.assert_allclose(together, one_by_one[:n] if n > 1 else together, rtol=1e-13)


def test_bernstein_nan_padding_keeps_each_degree() -> None:
    """Stacked Bernstein nodes of degrees 3 and 1: NaN padding, each row keeps its degree."""
    a = [1.0, 0.5, 0.3, 0.8]
    b = [0.2, 1.5]
    stacked = jnp.asarray([a, [*b, math.nan, math.nan]])
    x = jnp.asarray([3.0, 3.0])
    got = BernsteinPolyDist.log_density_in_range(x, 0.0, 10.0, stacked)
    single_a = BernsteinPolyDist.log_density_in_range(3.0, 0.0, 10.0, jnp.asarray(a))
    single_b = BernsteinPolyDist.log_density_in_range(3.0, 0.0, 10.0, jnp.asarray(b))
    np.testing.assert_allclose(np.asarray(got), [float(single_a), float(single_b)], rtol=1e-14)


def test_legacy_exp_poly_degree_three_has_no_closed_form() -> None:
    assert LegacyExpPolyDist.log_integral(0.0, 1.0, jnp.asarray([0.0, 1.0, 0.1, 0.01])) is None


# ------------------------------------------------------------------------------------------
# document layer: registration, ROOT's numeric strings, uniform's list observable
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "type_name"),
    [
        ("distribution", t)
        for t in [
            "uniform_dist",
            "exponential_dist",
            "generalized_normal_dist",
            "gennormal_dist",
            "gamma_dist",
            "relativistic_breit_wigner_dist",
            "landau_dist",
            "crystalball_dist",
            "crystalball_doublesided_dist",
            "bifurkated_gaussian_dist",
            "argus_dist",
            "ARGUS_dist",
            "polynomial_dist",
            "chebychev_dist",
            "bernstein_poly_dist",
            "power_sum_dist",
            "legacy_exp_poly_dist",
        ]
    ]
    + [("function", "polynomial")],
)
def test_types_are_registered(kind: str, type_name: str) -> None:
    assert type_name in hs3jax.known_types(kind)


def test_numeric_strings_are_literals() -> None:
    node = PolynomialDist.model_validate(
        {"name": "p", "type": "polynomial_dist", "x": "x", "coefficients": ["1.0", "a1", "a2"]}
    )
    assert node.coefficients == [1.0, "a1", "a2"]
    assert [r.name for r in node.references()] == ["x", "a1", "a2"]


def test_polyvar_lowest_order_markers_are_zero_orders() -> None:
    """ROOT writes RooPolyVar(lowestOrder=2) as ["1.0", "0.0", "c2"]: that is c2·x², no constant."""
    node = PolynomialFunction.model_validate(
        {"name": "f", "type": "polynomial", "x": "a", "coefficients": ["1.0", "0.0", "c2"]}
    )
    assert node.coefficients == [0.0, 0.0, "c2"]
    plain = PolynomialFunction.model_validate(
        {"name": "f", "type": "polynomial", "x": "a", "coefficients": [1.0, "c1"]}
    )
    assert plain.coefficients == [1.0, "c1"]


def test_uniform_reads_roots_list_observable_and_writes_it_back() -> None:
    node = UniformDist.model_validate({"name": "u", "type": "uniform_dist", "x": ["x"]})
    assert node.x == "x"
    assert node.observables() == ("x",)
    assert node.to_dict()["x"] == ["x"]
    with pytest.raises(ValueError, match="several observables"):
        UniformDist.model_validate({"name": "u", "type": "uniform_dist", "x": ["x", "y"]})


# ------------------------------------------------------------------------------------------
# relativistic_breit_wigner_dist with decay channels (HS3 text): scipy quadrature reference
# ------------------------------------------------------------------------------------------

#: PDG's Blatt–Weisskopf factors h_l^2(z), written out (independent of the general-l code)
_PDG_H2: dict[int, Callable[[np.ndarray], np.ndarray]] = {
    0: lambda z2: np.ones_like(z2),
    1: lambda z2: 1.0 / (1.0 + z2),
    2: lambda z2: 1.0 / (9.0 + 3.0 * z2 + z2 * z2),
}


def _bw_channels_numpy(m: np.ndarray, mass: float, channels: list[tuple[float, ...]]) -> Any:
    """m Γ1(m) / |M² − m² − i M Γ(m)|², Γ_i = Γ_BW,i z^{2l} h_l²(z) 2q/m (numpy)."""
    m = np.asarray(m, dtype=np.float64)
    widths = []
    for gamma, m1, m2, ell, radius in channels:
        arg = (m * m - (m1 + m2) ** 2) * (m * m - (m1 - m2) ** 2)
        q = np.where(m > m1 + m2, np.sqrt(np.clip(arg, 0.0, None)) / (2.0 * m), 0.0)
        z2 = (q * radius) ** 2
        widths.append(gamma * z2 ** int(ell) * _PDG_H2[int(ell)](z2) * 2.0 * q / m)
    total = sum(widths)
    return m * widths[0] / ((mass**2 - m * m) ** 2 + (mass * total) ** 2)


def _bw_document(dist: dict[str, Any], lo: float, hi: float, pars: dict[str, float]) -> Any:
    return {
        "distributions": [{"name": "bw", "type": "relativistic_breit_wigner_dist", **dist}],
        "data": [
            {
                "name": "d",
                "type": "unbinned",
                "axes": [{"name": "m", "min": lo, "max": hi}],
                "entries": [[0.5], [0.77], [0.8], [1.1]],
            }
        ],
        "parameter_points": [
            {"name": "init", "parameters": [{"name": k, "value": v} for k, v in pars.items()]}
        ],
        "likelihoods": [{"name": "L", "distributions": ["bw"], "data": ["d"]}],
    }


def test_relativistic_breit_wigner_channels_against_quadrature() -> None:
    """Energy-dependent width with three channels (P wave ππ, S wave KK̄ opening inside the
    range, D wave with a parameter as R): normalised density against scipy's quadrature of an
    independent numpy formula; gradients against central differences; written back exactly."""
    lo, hi = 0.3, 1.6
    pars = {"M": 0.775, "G1": 0.149, "G2": 0.02, "R3": 2.5}
    dist = {
        "x": "m",
        "mass": "M",
        "channels": [
            {"name": "pipi", "Gamma": "G1", "m1": 0.13957, "m2": 0.13957, "l": 1, "R": 5.0},
            {"name": "KK", "Gamma": "G2", "m1": 0.493677, "m2": 0.493677},
            {"Gamma": 0.01, "m1": 0.135, "m2": 0.7, "l": 2, "R": "R3"},
        ],
    }
    document = _bw_document(dist, lo, hi, pars)
    ws = hs3jax.load(document)
    assert ws.to_dict() == document
    model = ws.model("L")
    x = np.linspace(0.31, 1.59, 17)
    for shift in (0.0, 0.03):
        p = {k: v * (1 + shift) for k, v in pars.items()}
        chans = [
            (p["G1"], 0.13957, 0.13957, 1, 5.0),
            (p["G2"], 0.493677, 0.493677, 0, 3.0),
            (0.01, 0.135, 0.7, 2, p["R3"]),
        ]
        norm = scipy.integrate.quad(
            lambda t, c=chans, mass=p["M"]: float(_bw_channels_numpy(np.array(t), mass, c)),
            lo,
            hi,
            points=[p["M"], 2 * 0.493677, 0.835],
            epsabs=0.0,
            epsrel=1e-13,
            limit=500,
        )[0]
        expected = _bw_channels_numpy(x, p["M"], chans) / norm
        got = np.asarray(model.pdf("bw", {"m": x}, p))
        np.testing.assert_allclose(got, expected, rtol=1e-10)
    _model_gradient_matches_differences(model, {"M": 0.78, "G1": 0.15, "G2": 0.025, "R3": 2.0})


def test_breit_wigner_one_massless_s_wave_channel_is_constant_width() -> None:
    """The HS3 text's special case: one channel with m1 = m2 = 0, l = 0 is the constant-width
    form (closed-form integral), also for a width far narrower than the range."""
    lo, hi = 0.3, 1.6
    for width in (0.149, 1e-4):
        pars = {"M": 0.775, "G": width}
        channel = {"x": "m", "mass": "M", "channels": [{"Gamma": "G"}]}
        constant = {"x": "m", "mass": "M", "width": "G"}
        x = np.linspace(0.31, 1.59, 9)
        a = hs3jax.load(_bw_document(channel, lo, hi, pars)).model("L").pdf("bw", {"m": x})
        b = hs3jax.load(_bw_document(constant, lo, hi, pars)).model("L").pdf("bw", {"m": x})
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-11)


def test_breit_wigner_malformed_input_is_a_document_error() -> None:
    both = {"x": "m", "mass": "M", "width": 0.1, "channels": [{"Gamma": 0.1}]}
    with pytest.raises(hs3jax.DocumentError, match=r"distributions\[0\].*'channels'"):
        hs3jax.load(_bw_document(both, 0.3, 1.6, {"M": 0.775}))
    negative_l = {"x": "m", "mass": "M", "channels": [{"Gamma": 0.1, "l": -1}]}
    with pytest.raises(hs3jax.DocumentError, match=r"channels"):
        hs3jax.load(_bw_document(negative_l, 0.3, 1.6, {"M": 0.775}))


def _model_gradient_matches_differences(model: hs3jax.Model, pars: dict[str, float]) -> None:
    """jax.grad of the model's NLL is finite and equals central differences (rtol 1e-6)."""
    vector = np.asarray(model.vector(pars), dtype=np.float64)
    grad = np.asarray(jax.grad(model.nll_fn)(model.vector(pars), model.data, model.inputs))
    assert np.all(np.isfinite(grad)), grad
    for i in range(vector.size):
        h = 1e-5 * max(1.0, abs(vector[i]))

        def at(step: float, i: int = i) -> float:
            moved = vector.copy()
            moved[i] += step
            return float(model.nll(moved))

        fd = (8.0 * (at(h) - at(-h)) - (at(2 * h) - at(-2 * h))) / (12.0 * h)
        assert grad[i] == pytest.approx(fd, rel=1e-6, abs=1e-7), (model.parameters[i], fd)


def test_crystal_ball_malformed_keys_are_document_errors() -> None:
    """crystalball_dist mixing a common key with its _L/_R pair, missing a key, or a right
    tail without n_R; crystalball_doublesided_dist with alpha_R but no n_R."""
    base = {"name": "cb", "type": "crystalball_dist", "m": "m", "m0": 0.0}
    cases = [
        ({**base, "sigma": 1.0, "sigma_L": 1.0, "alpha": 1.0, "n": 2.0}, r"\.sigma.*sigma_L"),
        ({**base, "sigma": 1.0, "alpha": 1.0}, r".*neither 'n' nor 'n_L'"),
        (
            {**base, "sigma": 1.0, "alpha_L": 1.0, "n_L": 2.0, "alpha_R": 1.5},
            r"\.n_R.*right tail",
        ),
        (
            {
                "name": "cb",
                "type": "crystalball_doublesided_dist",
                "m": "m",
                "m0": 0.0,
                "sigma_L": 1.0,
                "sigma_R": 1.0,
                "alpha_L": 1.0,
                "n_L": 2.0,
                "alpha_R": 1.5,
            },
            r"\.n_R",
        ),
    ]
    for node, message in cases:
        with pytest.raises(hs3jax.DocumentError, match=r"distributions\[0\]" + message):
            hs3jax.load({"distributions": [node]})

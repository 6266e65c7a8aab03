"""HS3-text distributions and functions (hs3_text.py, hs3_functions.py) against closed forms.

Every node is loaded end to end from a small HS3 document through :func:`hs3jax.load` and
evaluated with ``model.pdf``/``model.nll``; references are scipy or numpy recomputations.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate, stats
from scipy.interpolate import CubicSpline
from scipy.special import gammaln

import hs3jax
import hs3jax.nodes.hs3_functions
import hs3jax.nodes.hs3_text
from hs3jax.testsuite import HS3JaxBackend

RNG = np.random.default_rng(7)
COV = np.array([[1.0, 0.5], [0.5, 2.0]])
MVN_EVENTS = RNG.multivariate_normal([0.2, -0.3], COV, size=25)
BOX = {"x": (-3.0, 3.0), "y": (-4.0, 2.0)}


def _doc(**sections: Any) -> dict[str, Any]:
    return {"metadata": {"hs3_version": "0.2"}, **sections}


def _points(pars: dict[str, float]) -> list[dict[str, Any]]:
    return [
        {"name": "default_values", "parameters": [{"name": k, "value": v} for k, v in pars.items()]}
    ]


def _grad_matches_fd(model: hs3jax.Model, pars: np.ndarray, h: float = 1e-5) -> None:
    grad = np.asarray(jax.grad(model.nll_fn)(jnp.asarray(pars), model.data, model.inputs))
    assert np.all(np.isfinite(grad))
    for i in range(len(pars)):
        up, down = pars.copy(), pars.copy()
        up[i] += h
        down[i] -= h
        fd = (float(model.nll(up)) - float(model.nll(down))) / (2 * h)
        assert grad[i] == pytest.approx(fd, rel=1e-5, abs=1e-6)


# -- multivariate normal -----------------------------------------------------------------------
MVN_DOC = _doc(
    distributions=[
        {
            "name": "m",
            "type": "multivariate_normal_dist",
            "x": ["x", "y"],
            "mean": ["mx", "my"],
            "covariances": [[1.0, "cxy"], ["cxy", 2.0]],
        }
    ],
    data=[
        {
            "name": "d",
            "type": "unbinned",
            "axes": [{"name": n, "min": lo, "max": hi} for n, (lo, hi) in BOX.items()],
            "entries": MVN_EVENTS.tolist(),
        }
    ],
    likelihoods=[{"name": "L", "distributions": ["m"], "data": ["d"]}],
    parameter_points=_points({"mx": 0.1, "my": -0.2, "cxy": 0.5}),
)


def _mvn_box_mass(mean: np.ndarray, cov: np.ndarray) -> float:
    """P(X in BOX) by adaptive quadrature of the conditional normal (accurate to ~1e-14)."""
    (ax, bx), (ay, by) = BOX["x"], BOX["y"]
    sx = math.sqrt(cov[0, 0])
    slope = cov[0, 1] / cov[0, 0]
    sc = math.sqrt(cov[1, 1] - cov[0, 1] ** 2 / cov[0, 0])

    def integrand(x: float) -> float:
        mc = mean[1] + slope * (x - mean[0])
        inner = stats.norm.cdf((by - mc) / sc) - stats.norm.cdf((ay - mc) / sc)
        return float(stats.norm.pdf(x, mean[0], sx) * inner)

    return float(integrate.quad(integrand, ax, bx, epsabs=1e-16, epsrel=1e-13, limit=200)[0])


@pytest.mark.parametrize(("mx", "my", "cxy"), [(0.1, -0.2, 0.5), (1.5, -2.0, -0.9)])
def test_multivariate_normal_pdf_and_nll(mx: float, my: float, cxy: float) -> None:
    model = hs3jax.load(MVN_DOC).model()
    pars = {"mx": mx, "my": my, "cxy": cxy}
    mean = np.array([mx, my])
    cov = np.array([[1.0, cxy], [cxy, 2.0]])
    ref = stats.multivariate_normal(mean, cov)
    mass = _mvn_box_mass(mean, cov)
    pts = np.array([[0.0, 0.5], [1.0, -1.0], [-2.5, 1.5]])
    got = np.asarray(model.pdf("m", {"x": pts[:, 0], "y": pts[:, 1]}, pars))
    np.testing.assert_allclose(got, ref.pdf(pts) / mass, rtol=1e-10)
    nll = -np.sum(ref.logpdf(MVN_EVENTS) - math.log(mass))
    assert float(model.nll(pars)) == pytest.approx(nll, rel=1e-11)


def test_multivariate_normal_gradient() -> None:
    model = hs3jax.load(MVN_DOC).model()
    _grad_matches_fd(model, np.array([0.3, 0.1, -0.2]))


def test_multivariate_normal_conditions_on_numbers_and_roots_spelling() -> None:
    """x = ["x", 0.7]: the conditional normal of x given y = 0.7, truncated to x's range;
    ROOT's older ``multinormal_dist`` spelling reads the same way."""
    doc = _doc(
        distributions=[
            {
                "name": "m",
                "type": "multinormal_dist",
                "x": ["x", 0.7],
                "mean": ["mx", 0.0],
                "covariances": [[1.0, 0.5], [0.5, 2.0]],
            },
            {"name": "c", "type": "gaussian_dist", "x": "mx", "mean": 0.0, "sigma": 1.0},
        ],
        domains=[
            {"name": "dom", "type": "product_domain", "axes": [{"name": "x", "min": -2, "max": 3}]}
        ],
        likelihoods=[{"name": "L", "distributions": [], "data": [], "aux_distributions": ["c"]}],
        parameter_points=_points({"mx": 0.3}),
    )
    model = hs3jax.load(doc).model()
    mean = 0.3 + 0.5 / 2.0 * (0.7 - 0.0)
    sd = math.sqrt(1.0 - 0.25 / 2.0)
    xs = np.array([-1.0, 0.0, 2.5])
    ref = stats.truncnorm.pdf(xs, (-2 - mean) / sd, (3 - mean) / sd, loc=mean, scale=sd)
    np.testing.assert_allclose(np.asarray(model.pdf("m", {"x": xs})), ref, rtol=1e-10)


# -- Barlow-Beeston-lite constraint ------------------------------------------------------------
def test_barlow_beeston_lite_constraint() -> None:
    tau = [100.0, 25.0]
    doc = _doc(
        distributions=[
            {"name": "g", "type": "gaussian_dist", "x": "x", "mean": "mu", "sigma": 1.0},
            {
                "name": "bb",
                "type": "barlow_beeston_lite_poisson_constraint_dist",
                "x": ["gamma_0", "gamma_1"],
                "expected": tau,
            },
        ],
        data=[
            {
                "name": "d",
                "type": "unbinned",
                "axes": [{"name": "x", "min": -10, "max": 10}],
                "entries": [[0.1], [0.4]],
            }
        ],
        likelihoods=[
            {"name": "L", "distributions": ["g"], "data": ["d"], "aux_distributions": ["bb"]}
        ],
        parameter_points=_points({"mu": 0.0, "gamma_0": 1.0, "gamma_1": 1.0}),
    )
    model = hs3jax.load(doc).model()
    assert model.parameters == ("gamma_0", "gamma_1", "mu")
    g = np.array([1.05, 0.9])
    mu = 0.2
    bb = np.sum(g * tau * np.log(tau) - tau - gammaln(g * np.array(tau) + 1))
    ev = np.array([0.1, 0.4])
    main = np.sum(
        stats.norm.logpdf(ev, mu) - np.log(stats.norm.cdf(10 - mu) - stats.norm.cdf(-10 - mu))
    )
    got = float(model.nll({"gamma_0": g[0], "gamma_1": g[1], "mu": mu}))
    assert got == pytest.approx(-(bb + main), rel=1e-12)
    _grad_matches_fd(model, np.array([1.05, 0.9, 0.2]), h=1e-6)


# -- mixture_model, density functions ----------------------------------------------------------
def _aux_only(
    distributions: list[dict[str, Any]],
    functions: list[dict[str, Any]],
    pars: dict[str, float],
    obs: dict[str, tuple[float, float]],
) -> hs3jax.Model:
    """A document whose likelihood only constrains ``pars``, so model.pdf can evaluate any
    distribution of it at chosen parameter values."""
    cons = [
        {"name": f"c_{p}", "type": "gaussian_dist", "x": p, "mean": 0.0, "sigma": 1.0} for p in pars
    ]
    doc = _doc(
        distributions=distributions + cons,
        functions=functions,
        domains=[
            {
                "name": "dom",
                "type": "product_domain",
                "axes": [{"name": n, "min": lo, "max": hi} for n, (lo, hi) in obs.items()],
            }
        ],
        likelihoods=[
            {
                "name": "L",
                "distributions": [],
                "data": [],
                "aux_distributions": [c["name"] for c in cons],
            }
        ],
        parameter_points=_points(pars),
    )
    return hs3jax.load(doc).model()


def _trunc_norm(x: np.ndarray, mu: float, s: float, lo: float, hi: float) -> np.ndarray:
    return np.asarray(stats.truncnorm.pdf(x, (lo - mu) / s, (hi - mu) / s, loc=mu, scale=s))


def test_mixture_model() -> None:
    dists = [
        {"name": "a", "type": "gaussian_dist", "x": "x", "mean": "m1", "sigma": 1.0},
        {"name": "b", "type": "gaussian_dist", "x": "x", "mean": 1.0, "sigma": 2.0},
        {"name": "mm", "type": "mixture_model", "summands": ["a", "b"], "coefficients": ["f"]},
    ]
    model = _aux_only(dists, [], {"m1": -0.5, "f": 0.3}, {"x": (-4.0, 5.0)})
    xs = np.array([-3.0, 0.0, 2.0, 4.5])
    ref = 0.3 * _trunc_norm(xs, -0.5, 1.0, -4, 5) + 0.7 * _trunc_norm(xs, 1.0, 2.0, -4, 5)
    np.testing.assert_allclose(np.asarray(model.pdf("mm", {"x": xs})), ref, rtol=1e-10)


def test_density_and_log_density_function_dist() -> None:
    funcs = [
        {"name": "f", "type": "generic_function", "expression": "a*x*x"},
        {"name": "logf", "type": "generic_function", "expression": "-a*x"},
    ]
    dists = [
        {"name": "p", "type": "density_function_dist", "function": "f"},
        {"name": "q", "type": "log_density_function_dist", "function": "logf"},
    ]
    model = _aux_only(dists, funcs, {"a": 0.8}, {"x": (0.5, 3.5)})
    xs = np.array([0.6, 1.0, 3.0])
    np.testing.assert_allclose(
        np.asarray(model.pdf("p", {"x": xs})), 3 * xs**2 / (3.5**3 - 0.5**3), rtol=1e-10
    )
    a = 0.8
    ref_q = a * np.exp(-a * xs) / (np.exp(-a * 0.5) - np.exp(-a * 3.5))
    np.testing.assert_allclose(np.asarray(model.pdf("q", {"x": xs})), ref_q, rtol=1e-10)


# -- Poisson point processes and bin counts ----------------------------------------------------
EVENTS = np.array([0.3, 1.2, 2.5, 0.05, 0.7, 1.9])


def _extended_doc(
    dist: dict[str, Any],
    extra: list[dict[str, Any]],
    functions: list[dict[str, Any]],
    data: dict[str, Any],
    pars: dict[str, float],
) -> dict[str, Any]:
    return _doc(
        distributions=[dist, *extra],
        functions=functions,
        data=[data],
        likelihoods=[{"name": "L", "distributions": [dist["name"]], "data": [data["name"]]}],
        parameter_points=_points(pars),
    )


UNBINNED = {
    "name": "d",
    "type": "unbinned",
    "axes": [{"name": "x", "min": 0.0, "max": 3.0}],
    "entries": [[e] for e in EVENTS],
}


def test_rate_extended_dist() -> None:
    doc = _extended_doc(
        {"name": "r", "type": "rate_extended_dist", "rate": "lam", "dist": "e"},
        [{"name": "e", "type": "generic_dist", "expression": "exp(-k*x)"}],
        [],
        UNBINNED,
        {"lam": 5.0, "k": 0.7},
    )
    model = hs3jax.load(doc).model()
    lam, k = 4.0, 0.6
    norm = (1 - math.exp(-3 * k)) / k
    ref = -np.sum(-k * EVENTS - math.log(norm)) + lam - len(EVENTS) * math.log(lam)
    assert float(model.nll({"lam": lam, "k": k})) == pytest.approx(ref, rel=1e-11)
    _grad_matches_fd(model, np.array([0.6, 4.0]))


def test_rate_density_dist() -> None:
    doc = _extended_doc(
        {"name": "r", "type": "rate_density_dist", "x": "x", "density": "f"},
        [],
        [{"name": "f", "type": "generic_function", "expression": "a*exp(-k*x)"}],
        UNBINNED,
        {"a": 5.0, "k": 0.7},
    )
    model = hs3jax.load(doc).model()
    a, k = 4.0, 0.6
    total = a * (1 - math.exp(-3 * k)) / k
    ref = -(np.sum(math.log(a) - k * EVENTS) - total)
    assert float(model.nll({"a": a, "k": k})) == pytest.approx(ref, rel=1e-11)
    _grad_matches_fd(model, np.array([4.0, 0.6]))


EDGES = [0.0, 0.5, 1.5, 3.0]
COUNTS = [4.0, 7.0, 3.0]
BINNED = {
    "name": "b",
    "type": "binned",
    "axes": [{"name": "x", "edges": EDGES}],
    "contents": COUNTS,
}


def _bin_rates(cdf: Any, scale: float) -> np.ndarray:
    return scale * np.diff([cdf(e) for e in EDGES])


def test_bincounts_extended_dist() -> None:
    doc = _extended_doc(
        {
            "name": "bc",
            "type": "bincounts_extended_dist",
            "rate": "lam",
            "dist": "g",
            "axes": [{"name": "x", "edges": EDGES}],
        },
        [{"name": "g", "type": "gaussian_dist", "x": "x", "mean": "mu", "sigma": 1.0}],
        [],
        BINNED,
        {"lam": 12.0, "mu": 1.0},
    )
    model = hs3jax.load(doc).model()
    lam, mu = 13.0, 1.2
    mass = stats.norm.cdf(3 - mu) - stats.norm.cdf(-mu)
    nu = _bin_rates(lambda t: stats.norm.cdf(t - mu) / mass, lam)
    n = np.array(COUNTS)
    ref = -np.sum(n * np.log(nu) - nu)  # the Poisson product without the constant ln n!
    assert float(model.nll({"lam": lam, "mu": mu})) == pytest.approx(ref, rel=1e-11)
    _grad_matches_fd(model, np.array([13.0, 1.2]))


def test_bincounts_density_dist() -> None:
    doc = _extended_doc(
        {
            "name": "bc",
            "type": "bincounts_density_dist",
            "x": "x",
            "density": "f",
            "axes": [{"name": "x", "edges": EDGES}],
        },
        [],
        [{"name": "f", "type": "generic_function", "expression": "a*exp(-k*x)"}],
        BINNED,
        {"a": 5.0, "k": 0.5},
    )
    model = hs3jax.load(doc).model()
    a, k = 6.0, 0.4
    nu = _bin_rates(lambda t: -a / k * math.exp(-k * t), 1.0)
    n = np.array(COUNTS)
    ref = -np.sum(n * np.log(nu) - nu)
    assert float(model.nll({"a": a, "k": k})) == pytest.approx(ref, rel=1e-11)


# -- functions, through the HS3TestSuite function scan -----------------------------------------
def _function_values(
    functions: list[dict[str, Any]],
    target: str,
    names: list[str],
    points: list[list[float]],
    ranges: dict[str, tuple[float, float]] | None = None,
) -> np.ndarray:
    doc = _doc(
        functions=functions,
        domains=[
            {
                "name": "dom",
                "type": "product_domain",
                "axes": [
                    {"name": n, "min": lo, "max": hi} for n, (lo, hi) in (ranges or {}).items()
                ],
            }
        ],
    )
    backend = HS3JaxBackend()
    check = {
        "target": {"function": target},
        "reference_point": {},
        "scan_parameters": names,
        "scan_points": points,
    }
    return np.asarray(backend.run_function_scan(hs3jax.load(doc), check))


def test_interpolation0d_codes() -> None:
    alphas = [[-1.7], [-0.4], [0.0], [0.6], [2.0]]
    a = np.array([p[0] for p in alphas])
    base = {
        "name": "i",
        "type": "interpolation0d",
        "vars": ["alpha"],
        "nom": 2.0,
        "high": [2.4],
        "low": [1.7],
    }
    lin = _function_values([{**base, "interpolationCodes": [0]}], "i", ["alpha"], alphas)
    np.testing.assert_allclose(lin, 2.0 + np.where(a > 0, a * 0.4, a * 0.3), rtol=1e-14)
    exp = _function_values([{**base, "interpolationCodes": [1]}], "i", ["alpha"], alphas)
    ref = 2.0 * np.where(a >= 0, (2.4 / 2.0) ** a, (1.7 / 2.0) ** (-a))
    np.testing.assert_allclose(exp, ref, rtol=1e-14)
    poly = _function_values([{**base, "interpolationCodes": [4]}], "i", ["alpha"], alphas)
    # outside |alpha| >= 1 code 4 is the exponential; inside it is a smooth polynomial
    np.testing.assert_allclose(poly[[0, 4]], ref[[0, 4]], rtol=1e-14)
    assert poly[2] == pytest.approx(2.0, rel=1e-15)


def test_piecewise_interpolation() -> None:
    funcs = [
        {
            "name": "p",
            "type": "interpolation",
            "vars": ["alpha"],
            "nom": "n",
            "high": ["h"],
            "low": ["l"],
            "interpolationCodes": [0],
            "positiveDefinite": True,
        }
    ]
    pts = [[0.5, 10.0, 12.0, 9.0], [-0.5, 10.0, 12.0, 9.0], [-20.0, 10.0, 12.0, 9.0]]
    got = _function_values(funcs, "p", ["alpha", "n", "h", "l"], pts)
    np.testing.assert_allclose(got, [11.0, 9.5, 0.0], rtol=1e-14)


HIST = {
    "name": "h",
    "type": "histogram",
    "data": {"axes": [{"name": "x", "edges": [0.0, 1.0, 3.0, 4.0]}], "contents": [2.0, 5.0, 1.0]},
}


def test_histogram_binwidth_weighted_sum() -> None:
    funcs = [
        HIST,
        {"name": "w", "type": "binwidth", "histogram": "h", "divideByBinWidth": True},
        {"name": "s", "type": "weighted_sum", "samples": ["h", "w"], "coefficients": ["c", 3.0]},
    ]
    xs = [[0.5, 2.0], [2.9, 2.0], [3.5, 2.0], [5.0, 2.0]]
    np.testing.assert_allclose(_function_values(funcs, "h", ["x", "c"], xs), [2, 5, 1, 0])
    np.testing.assert_allclose(_function_values(funcs, "w", ["x", "c"], xs), [1, 0.5, 1, 1])
    np.testing.assert_allclose(
        _function_values(funcs, "s", ["x", "c"], xs), [7.0, 11.5, 5.0, 3.0], rtol=1e-14
    )


def test_spline_is_the_not_a_knot_cubic() -> None:
    x0, y0 = [0.0, 1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 1.5, 1.0, 0.5]
    funcs = [
        {"name": "sp", "type": "spline", "x": "x", "x0": x0, "y0": y0, "interpolation": "poly3"}
    ]
    xs = [0.0, 0.3, 1.7, 3.99, 4.5, -0.5]
    got = _function_values(funcs, "sp", ["x"], [[v] for v in xs])
    ref = CubicSpline(x0, y0, bc_type="not-a-knot")(xs, extrapolate=True)
    np.testing.assert_allclose(got, ref, rtol=1e-13, atol=1e-15)


def test_spline_poly5_is_the_natural_quintic() -> None:
    """interpolation "poly5" (ROOT's TSpline5): the natural quintic spline (third and fourth
    derivatives zero at the end knots, scipy's make_interp_spline), the first quintic below the
    first knot and the quadratic Taylor polynomial at the last knot above it (TSpline5::Eval;
    ROOT's own values are checked in the corpus case spline_mean_width)."""
    from scipy.interpolate import make_interp_spline

    x0, y0 = [0.0, 0.7, 2.0, 3.0, 4.5, 5.0], [1.0, 2.0, 1.5, 3.0, 2.5, 2.0]
    funcs = [
        {"name": "sp", "type": "spline", "x": "x", "x0": x0, "y0": y0, "interpolation": "poly5"}
    ]
    inside = [0.0, 0.3, 1.7, 2.99, 4.6, 5.0]
    outside_low, outside_high = [-0.8, -0.1], [5.2, 6.5]
    xs = inside + outside_low + outside_high
    got = np.asarray(_function_values(funcs, "sp", ["x"], [[v] for v in xs]))
    ends = [(3, 0.0), (4, 0.0)]
    ref = make_interp_spline(x0, y0, k=5, bc_type=(ends, ends))
    np.testing.assert_allclose(got[: len(inside) + 2], ref(inside + outside_low), rtol=1e-12)
    d = np.asarray(outside_high) - x0[-1]
    taylor = y0[-1] + ref(x0[-1], 1) * d + 0.5 * ref(x0[-1], 2) * d * d
    np.testing.assert_allclose(got[len(inside) + 2 :], taylor, rtol=1e-12)


def test_spline_and_step_malformed_input() -> None:
    """Unknown spline order, unsorted knots and a step function with too few parameters are
    DocumentErrors with the JSON path."""
    base = {"name": "sp", "type": "spline", "x": "x", "x0": [0, 1, 2], "y0": [1, 2, 3]}
    step = {
        "name": "st",
        "type": "step",
        "axes": [{"name": "x", "edges": [0, 1, 2]}],
        "parameters": ["g0"],
    }
    cases = [
        ({**base, "interpolation": "poly4"}, r"functions\[0\]\.interpolation.*poly5"),
        ({**base, "x0": [0, 2, 1]}, r"functions\[0\]\.x0.*increasing"),
        (step, r"functions\[0\]\.parameters.*2 names or numbers"),
    ]
    for node, message in cases:
        with pytest.raises(hs3jax.DocumentError, match=message):
            hs3jax.load({"distributions": [], "functions": [node]})


def test_integral_and_derivative() -> None:
    funcs = [
        {"name": "f", "type": "generic_function", "expression": "a*x^3"},
        {"name": "i", "type": "integral", "integrand": "f", "variables": ["x"]},
        {"name": "d1", "type": "derivative", "function": "f", "x": "x", "order": 1, "eps": 1e-3},
        {"name": "d2", "type": "derivative", "function": "f", "x": "x", "order": 2, "eps": 1e-3},
    ]
    pts = [[0.5, 1.3], [2.0, -0.7]]
    ranges = {"x": (0.0, 2.0)}
    a = np.array([1.3, -0.7])
    x = np.array([0.5, 2.0])
    np.testing.assert_allclose(
        _function_values(funcs, "i", ["x", "a"], pts, ranges), a * 4.0, rtol=1e-13
    )
    np.testing.assert_allclose(
        _function_values(funcs, "d1", ["x", "a"], pts, ranges), 3 * a * x**2, rtol=1e-13
    )
    np.testing.assert_allclose(
        _function_values(funcs, "d2", ["x", "a"], pts, ranges), 6 * a * x, rtol=1e-13
    )


def test_resolution_models_of_the_hs3_draft() -> None:
    """gaussian_resolution_model, delta_resolution_model and mixture_resolution_model (HS3 draft
    chapter 2.1.3) as the resolution of a decay_dist: the density is the numerical convolution
    f·(e^{-u/τ}θ(u) ⊗ N(m, s)) + (1 − f)·e^{-t/τ}θ(t) normalised over t (scipy quad)."""
    from scipy.integrate import quad

    events = [0.3, 1.7, 2.2, 0.9, 4.1, 0.05, 1.3]
    doc = _doc(
        distributions=[
            {
                "name": "core",
                "type": "gaussian_resolution_model",
                "x": "t",
                "mean": "m",
                "sigma": "s",
            },
            {"name": "perfect", "type": "delta_resolution_model", "x": "t"},
            {
                "name": "res",
                "type": "mixture_resolution_model",
                "x": "t",
                "summands": ["core", "perfect"],
                "coefficients": ["f"],
            },
            {
                "name": "dec",
                "type": "decay_dist",
                "t": "t",
                "tau": "tau",
                "resolutionModel": "res",
                "decayType": 0,
            },
        ],
        data=[
            {
                "name": "d",
                "type": "unbinned",
                "axes": [{"name": "t", "min": -1.0, "max": 6.0}],
                "entries": [[e] for e in events],
            }
        ],
        likelihoods=[{"name": "L", "distributions": ["dec"], "data": ["d"]}],
        parameter_points=_points({"tau": 1.4, "m": 0.1, "s": 0.3, "f": 0.7}),
    )
    ws = hs3jax.load(doc)
    assert ws.to_dict()["distributions"] == doc["distributions"]
    model = ws.model("L")

    def shape(t: float) -> float:
        smeared = quad(
            lambda u: math.exp(-u / 1.4) * stats.norm.pdf(t - u, 0.1, 0.3),
            0,
            40,
            epsabs=0,
            epsrel=1e-13,
        )[0]
        return 0.7 * smeared + (0.3 * math.exp(-t / 1.4) if t >= 0 else 0.0)

    total = quad(shape, -1.0, 6.0, points=[0.0], epsabs=0, epsrel=1e-12, limit=200)[0]
    expected = -sum(math.log(shape(t) / total) for t in events)
    assert float(model.nll()) == pytest.approx(expected, rel=1e-10)
    _grad_matches_fd(model, np.asarray(model.init))
    bad = {**doc["distributions"][2], "coefficients": ["f", 0.2, 0.1]}
    with pytest.raises(hs3jax.DocumentError, match=r"distributions\[2\]\.coefficients"):
        hs3jax.load(
            {**doc, "distributions": [*doc["distributions"][:2], bad, doc["distributions"][3]]}
        )


@pytest.mark.parametrize("decay_type", [1, 2])
def test_double_sided_and_flipped_decay_with_an_offset_gaussian_resolution(
    decay_type: int,
) -> None:
    """decayType 1 (e^{-|u|/τ}) and 2 (e^{u/τ}θ(−u)) convolved with N(μ = 0.25, σ): the
    resolution keeps its mean on both sides (scipy's numerical convolution, rtol 1e-10)."""
    from scipy.integrate import quad

    events = [-2.1, -0.3, 0.05, 0.4, 1.9]
    doc = _doc(
        distributions=[
            {
                "name": "res",
                "type": "gaussian_resolution_model",
                "x": "t",
                "mean": "m",
                "sigma": "s",
            },
            {
                "name": "dec",
                "type": "decay_dist",
                "t": "t",
                "tau": "tau",
                "resolutionModel": "res",
                "decayType": decay_type,
            },
        ],
        data=[
            {
                "name": "d",
                "type": "unbinned",
                "axes": [{"name": "t", "min": -5.0, "max": 5.0}],
                "entries": [[e] for e in events],
            }
        ],
        likelihoods=[{"name": "L", "distributions": ["dec"], "data": ["d"]}],
        parameter_points=_points({"tau": 1.1, "m": 0.25, "s": 0.4}),
    )
    model = hs3jax.load(doc).model("L")
    lo_u = -40.0
    hi_u = 40.0 if decay_type == 1 else 0.0

    def shape(t: float) -> float:
        return quad(
            lambda u: math.exp(-abs(u) / 1.1) * stats.norm.pdf(t - u, 0.25, 0.4),
            lo_u,
            hi_u,
            points=[0.0] if decay_type == 1 else None,
            epsabs=0,
            epsrel=1e-13,
            limit=200,
        )[0]

    total = quad(shape, -5.0, 5.0, epsabs=0, epsrel=1e-12, limit=200)[0]
    expected = -sum(math.log(shape(t) / total) for t in events)
    assert float(model.nll()) == pytest.approx(expected, rel=1e-10)


def test_spline_with_one_knot_is_a_document_error() -> None:
    node = {"name": "sp", "type": "spline", "x": "x", "x0": [0], "y0": [1]}
    with pytest.raises(hs3jax.DocumentError, match=r"spline 'sp' needs at least two"):
        hs3jax.load({"distributions": [], "functions": [node]})

"""Composite, conditional and binned densities against closed forms and scipy."""

from __future__ import annotations

import itertools
import math
from typing import Any

import jax
import numpy as np
import pytest
from scipy.integrate import quad
from scipy.stats import norm

import hs3jax


def _doc(
    distributions: list[dict[str, Any]], data: dict[str, Any], top: str, **extra: Any
) -> dict[str, Any]:
    return {
        "metadata": {"hs3_version": "0.2"},
        "distributions": distributions,
        "functions": extra.get("functions", []),
        "data": [data],
        "likelihoods": [{"name": "L", "distributions": [top], "data": [data["name"]]}],
        "parameter_points": [
            {
                "name": "default_values",
                "parameters": [{"name": k, "value": v} for k, v in extra["pars"].items()],
            }
        ],
    }


EDGES = np.linspace(-3.0, 5.0, 9)
COUNTS = [3.0, 7.0, 15.0, 22.0, 18.0, 9.0, 4.0, 1.0]
BINNED = {
    "name": "d",
    "type": "binned",
    "axes": [{"name": "x", "edges": EDGES.tolist()}],
    "contents": COUNTS,
}


def _bin_probabilities(mu: float, sigma: float) -> np.ndarray:
    cdf = norm.cdf(EDGES, mu, sigma)
    return np.diff(cdf) / (cdf[-1] - cdf[0])


@pytest.mark.parametrize(("mu", "sigma"), [(0.5, 1.2), (1.1, 0.9)])
def test_binned_integrated_multinomial(mu: float, sigma: float) -> None:
    doc = _doc(
        [{"name": "g", "type": "gaussian_dist", "x": "x", "mean": "mu", "sigma": "sigma"}],
        BINNED,
        "g",
        pars={"mu": mu, "sigma": sigma},
    )
    model = hs3jax.load(doc).model(binned_density="integrated")
    expected = -np.sum(np.asarray(COUNTS) * np.log(_bin_probabilities(mu, sigma)))
    assert float(model.nll()) == pytest.approx(expected, rel=1e-13)
    # ROOT's convention evaluates the density at the bin centres instead
    centres = 0.5 * (EDGES[1:] + EDGES[:-1])
    norm_range = norm.cdf(EDGES[-1], mu, sigma) - norm.cdf(EDGES[0], mu, sigma)
    root_like = -np.sum(np.asarray(COUNTS) * np.log(norm.pdf(centres, mu, sigma) / norm_range))
    assert float(hs3jax.load(doc).model().nll()) == pytest.approx(root_like, rel=1e-13)


def test_binned_integrated_extended() -> None:
    doc = _doc(
        [
            {"name": "g", "type": "gaussian_dist", "x": "x", "mean": "mu", "sigma": "sigma"},
            {"name": "ext", "type": "extend_pdf", "pdf": "g", "norm": "n"},
        ],
        BINNED,
        "ext",
        pars={"mu": 0.7, "sigma": 1.3, "n": 75.0},
    )
    model = hs3jax.load(doc).model(binned_density="integrated")
    nu = 75.0 * _bin_probabilities(0.7, 1.3)
    n = np.asarray(COUNTS)
    expected = -np.sum(n * np.log(nu) - nu - np.array([math.lgamma(k + 1) for k in n]))
    assert float(model.nll()) == pytest.approx(expected, rel=1e-13)


EVENTS = [0.3, 1.7, 2.2, 0.9, 4.1, 0.05, 1.3]


def test_decay_with_gaussian_resolution_matches_numerical_convolution() -> None:
    doc = _doc(
        [
            {"name": "res", "type": "gauss_model_function", "x": "t", "mean": "m", "sigma": "s"},
            {
                "name": "dec",
                "type": "decay_dist",
                "t": "t",
                "tau": "tau",
                "resolutionModel": "res",
                "decayType": 0,
            },
        ],
        {
            "name": "d",
            "type": "unbinned",
            "axes": [{"name": "t", "min": -1.0, "max": 6.0}],
            "entries": [[e] for e in EVENTS],
        },
        "dec",
        pars={"tau": 1.4, "m": 0.1, "s": 0.3},
    )
    model = hs3jax.load(doc).model()

    def shape(t: float) -> float:
        return quad(
            lambda u: math.exp(-u / 1.4) * norm.pdf(t - u, 0.1, 0.3), 0, 40, epsabs=0, epsrel=1e-13
        )[0]

    total = quad(shape, -1.0, 6.0, epsabs=0, epsrel=1e-12, limit=200)[0]
    expected = -sum(math.log(shape(t) / total) for t in EVENTS)
    assert float(model.nll()) == pytest.approx(expected, rel=1e-10)
    grad = np.asarray(jax.grad(model.nll_fn)(model.init, model.data, model.inputs))
    assert np.all(np.isfinite(grad))


def test_conditional_density_and_recursive_mixture() -> None:
    """p(y | x) with mean a + b x (a function of the other observable), mixed recursively."""
    rows = [[0.2, 0.5], [1.1, 1.9], [-0.4, 0.1], [0.8, 1.0], [1.5, 2.6]]
    doc = _doc(
        [
            {"name": "gx", "type": "gaussian_dist", "x": "x", "mean": 0.0, "sigma": 1.0},
            {"name": "gy", "type": "gaussian_dist", "x": "y", "mean": "line", "sigma": "sy"},
            {"name": "uy", "type": "gaussian_dist", "x": "y", "mean": 0.0, "sigma": 3.0},
            {"name": "wy", "type": "gaussian_dist", "x": "y", "mean": 1.0, "sigma": 2.0},
            {
                "name": "my",
                "type": "mixture_dist",
                "summands": ["gy", "uy", "wy"],
                "coefficients": ["f1", "f2"],
                "recursive": True,
            },
            {"name": "model", "type": "product_dist", "factors": ["gx", "my"]},
        ],
        {
            "name": "d",
            "type": "unbinned",
            "axes": [
                {"name": "x", "min": -5.0, "max": 5.0},
                {"name": "y", "min": -6.0, "max": 8.0},
            ],
            "entries": rows,
        },
        "model",
        functions=[{"name": "line", "type": "generic_function", "expression": "a + b*x"}],
        pars={"a": 0.3, "b": 1.2, "sy": 0.4, "f1": 0.6, "f2": 0.5},
    )
    model = hs3jax.load(doc).model()

    def truncated(v: float, m: float, s: float, lo: float, hi: float) -> float:
        return norm.pdf(v, m, s) / (norm.cdf(hi, m, s) - norm.cdf(lo, m, s))

    expected = 0.0
    for x, y in rows:
        px = truncated(x, 0.0, 1.0, -5, 5)
        c = [0.6, 0.4 * 0.5, 0.4 * 0.5]
        py = (
            c[0] * truncated(y, 0.3 + 1.2 * x, 0.4, -6, 8)
            + c[1] * truncated(y, 0.0, 3.0, -6, 8)
            + c[2] * truncated(y, 1.0, 2.0, -6, 8)
        )
        expected -= math.log(px * py)
    assert float(model.nll()) == pytest.approx(expected, rel=1e-12)


def test_point_data_and_inline_numbers_enter_the_likelihood() -> None:
    doc = {
        "distributions": [
            {"name": "meas", "type": "gaussian_dist", "x": "m_obs", "mean": "mu", "sigma": 0.5},
            {"name": "other", "type": "gaussian_dist", "x": "k", "mean": "mu", "sigma": 2.0},
        ],
        "data": [{"name": "pt", "type": "point", "value": 1.3}],
        "likelihoods": [{"name": "L", "distributions": ["meas", "other"], "data": ["pt", 0.25]}],
        "parameter_points": [
            {"name": "default_values", "parameters": [{"name": "mu", "value": 0.9}]}
        ],
    }
    model = hs3jax.load(doc).model()
    expected = -(norm.logpdf(1.3, 0.9, 0.5) + norm.logpdf(0.25, 0.9, 2.0))
    assert float(model.nll()) == pytest.approx(expected, rel=1e-13)


@hs3jax.register("test_correlated_2d_dist")
class Correlated2D(hs3jax.Distribution):
    r"""exp(−(x² − 2ρxy + y²)/2) (an unnormalised 2-D density for this test)."""

    x: hs3jax.Observable
    y: hs3jax.Observable
    rho: hs3jax.Ref

    @staticmethod
    def log_density(x: jax.Array, y: jax.Array, rho: jax.Array) -> jax.Array:  # type: ignore[override]
        return -0.5 * (x * x - 2 * rho * x * y + y * y)


def test_two_dimensional_leaf_is_normalised_numerically() -> None:
    from scipy.integrate import dblquad

    rows = [[0.1, 0.3], [-0.5, 0.2], [1.2, 0.9]]
    doc = _doc(
        [{"name": "c", "type": "test_correlated_2d_dist", "x": "x", "y": "y", "rho": "rho"}],
        {
            "name": "d",
            "type": "unbinned",
            "axes": [
                {"name": "x", "min": -2.0, "max": 3.0},
                {"name": "y", "min": -1.5, "max": 2.5},
            ],
            "entries": rows,
        },
        "c",
        pars={"rho": 0.4},
    )
    model = hs3jax.load(doc).model()
    f = lambda y, x: math.exp(-0.5 * (x * x - 0.8 * x * y + y * y))  # noqa: E731
    total = dblquad(f, -2.0, 3.0, -1.5, 2.5, epsabs=0, epsrel=1e-12)[0]
    expected = -sum(math.log(f(y, x) / total) for x, y in rows)
    assert float(model.nll()) == pytest.approx(expected, rel=1e-11)


def test_events_are_data_arguments_not_constants() -> None:
    doc = _doc(
        [{"name": "g", "type": "gaussian_dist", "x": "x", "mean": "mu", "sigma": "sigma"}],
        {
            "name": "d",
            "type": "unbinned",
            "axes": [{"name": "x", "min": -4.0, "max": 4.0}],
            "entries": [[e] for e in EVENTS],
        },
        "g",
        pars={"mu": 0.4, "sigma": 1.1},
    )
    model = hs3jax.load(doc).model()
    nll = jax.jit(model.nll_fn)
    nll(model.init, model.data, model.inputs)
    before = nll._cache_size()  # type: ignore[attr-defined]
    other = [v + 0.1 for v in EVENTS]
    data = model.make_data(model.data["main"])
    data["events"] = [{"x": jax.numpy.asarray(other), "weights": jax.numpy.ones(len(other))}]
    value = float(nll(model.init, data, model.inputs))
    assert nll._cache_size() == before  # type: ignore[attr-defined]
    cut = norm.cdf(4.0, 0.4, 1.1) - norm.cdf(-4.0, 0.4, 1.1)
    assert value == pytest.approx(-np.sum(norm.logpdf(other, 0.4, 1.1) - np.log(cut)), rel=1e-13)


def test_convolution_of_two_gaussians_is_a_gaussian() -> None:
    """fft_conv_pdf computes the convolution integral: N(m1, s1) ⊗ N(m2, s2) = N(m1+m2, √(s1²+s2²)).

    (ROOT's RooFFTConvPdf approximates it by FFT on a binned cyclic grid: on the conformance case
    fftconv its densities differ from the exact convolution by up to 4 % in the tails.)
    """
    doc = _doc(
        [
            {"name": "g1", "type": "gaussian_dist", "x": "x", "mean": 1.0, "sigma": 0.8},
            {"name": "g2", "type": "gaussian_dist", "x": "x", "mean": "shift", "sigma": 0.6},
            {"name": "conv", "type": "fft_conv_pdf", "conv_var": "x", "pdf1": "g1", "pdf2": "g2"},
        ],
        {
            "name": "d",
            "type": "unbinned",
            "axes": [{"name": "x", "min": -8.0, "max": 10.0}],
            "entries": [[e] for e in EVENTS],
        },
        "conv",
        pars={"shift": 0.3},
    )
    model = hs3jax.load(doc).model()
    points = np.asarray([-1.0, 0.5, 1.3, 2.9])
    mine = np.asarray(model.pdf("conv", {"x": points}))
    exact = norm.pdf(points, 1.3, 1.0)  # the tails outside [-8, 10] are negligible here
    np.testing.assert_allclose(mine, exact, rtol=1e-9)


def test_error_paths_of_the_density_layer() -> None:
    doc = _doc(
        [{"name": "g", "type": "gaussian_dist", "x": "x", "mean": "mu", "sigma": "sigma"}],
        BINNED,
        "g",
        pars={"mu": 0.5, "sigma": 1.2},
    )
    ws = hs3jax.load(doc)
    with pytest.raises(hs3jax.ModelError, match="binned_density must be one of"):
        ws.model(binned_density="bogus")
    # a density with no closed-form integral needs a finite observable range
    open_range = _doc(
        [{"name": "f", "type": "generic_dist", "expression": "exp(-x*x)"}],
        {"name": "d", "type": "unbinned", "axes": [{"name": "x"}], "entries": [[0.1]]},
        "f",
        pars={},
    )
    with pytest.raises(hs3jax.ModelError, match="finite range"):
        hs3jax.load(open_range).model().nll()


def test_json_patch_errors_name_the_problem(tmp_path: Any) -> None:
    doc = _doc(
        [{"name": "g", "type": "gaussian_dist", "x": "x", "mean": "mu", "sigma": 1.0}],
        BINNED,
        "g",
        pars={"mu": 0.5},
    )
    with pytest.raises(hs3jax.FormatError, match="JSON Patch does not apply"):
        hs3jax.load(doc, patches=[[{"op": "replace", "path": "/nope/0", "value": 1}]])
    patch_file = tmp_path / "patch.json"
    patch_file.write_text('{"op": "add"}')
    with pytest.raises(hs3jax.FormatError, match="must be a list of operations") as info:
        hs3jax.load(doc, patches=[str(patch_file)])
    assert str(patch_file) in str(info.value)


# -- N-dimensional bin-integrated binned data and bin counts ------------------------------------
# irregular edges on both axes; row-major contents (x slowest), HS3's order
EDGES_X = [-3.0, -1.0, 0.5, 1.0, 4.0]
EDGES_Y = [-2.0, 0.0, 1.5, 5.0]
COUNTS_2D = [3.0, 7.0, 2.0, 9.0, 15.0, 4.0, 6.0, 11.0, 5.0, 1.0, 3.0, 2.0]
BINNED_2D = {
    "name": "d2",
    "type": "binned",
    "axes": [{"name": "x", "edges": EDGES_X}, {"name": "y", "edges": EDGES_Y}],
    "contents": COUNTS_2D,
}


def _bin_masses_2d(f: Any) -> np.ndarray:
    """∫∫ f(x, y) over every bin (row-major) by scipy's dblquad, to 1e-12 relative."""
    from scipy.integrate import dblquad

    out = []
    for x0, x1 in itertools.pairwise(EDGES_X):
        for y0, y1 in itertools.pairwise(EDGES_Y):
            out.append(dblquad(lambda y, x: f(x, y), x0, x1, y0, y1, epsabs=0, epsrel=1e-12)[0])
    return np.asarray(out)


def _multinomial_nll(masses: np.ndarray) -> float:
    return float(-np.sum(np.asarray(COUNTS_2D) * np.log(masses / masses.sum())))


def test_binned_integrated_2d_product_matches_dblquad() -> None:
    doc = _doc(
        [
            {"name": "gx", "type": "gaussian_dist", "x": "x", "mean": "mx", "sigma": "sx"},
            {"name": "ey", "type": "exponential_dist", "x": "y", "c": "c"},
            {"name": "p", "type": "product_dist", "factors": ["gx", "ey"]},
        ],
        BINNED_2D,
        "p",
        pars={"mx": 0.4, "sx": 1.1, "c": -0.3},
    )
    model = hs3jax.load(doc).model(binned_density="integrated")
    for mx, sx, c in [(0.4, 1.1, -0.3), (-0.6, 0.7, 0.2)]:
        # HS3 exponential_dist: e^{-c y}
        masses = _bin_masses_2d(
            lambda x, y, mx=mx, sx=sx, c=c: norm.pdf(x, mx, sx) * math.exp(-c * y)
        )
        nll = float(model.nll({"mx": mx, "sx": sx, "c": c}))
        assert nll == pytest.approx(_multinomial_nll(masses), rel=1e-12)


def test_binned_integrated_2d_correlated_normal_matches_dblquad() -> None:
    from scipy.stats import multivariate_normal

    doc = _doc(
        [
            {
                "name": "mvn",
                "type": "multivariate_normal_dist",
                "x": ["x", "y"],
                "mean": ["mx", "my"],
                "covariances": [["vx", "cxy"], ["cxy", "vy"]],
            }
        ],
        BINNED_2D,
        "mvn",
        pars={"mx": 0.2, "my": 1.0, "vx": 1.4, "vy": 2.0, "cxy": 0.9},
    )
    model = hs3jax.load(doc).model(binned_density="integrated")
    for cxy in (0.9, -0.5):
        dist = multivariate_normal([0.2, 1.0], [[1.4, cxy], [cxy, 2.0]])
        masses = _bin_masses_2d(lambda x, y, d=dist: d.pdf([x, y]))
        assert float(model.nll({"cxy": cxy})) == pytest.approx(_multinomial_nll(masses), rel=1e-11)


def test_binned_integrated_2d_conditional_product_matches_dblquad() -> None:
    """p(x) p(y | x): the mean of y is a + b x, y's density normalised over y alone."""
    doc = _doc(
        [
            {"name": "gx", "type": "gaussian_dist", "x": "x", "mean": 0.3, "sigma": 1.2},
            {"name": "gy", "type": "gaussian_dist", "x": "y", "mean": "line", "sigma": "sy"},
            {"name": "p", "type": "product_dist", "factors": ["gx", "gy"]},
        ],
        BINNED_2D,
        "p",
        functions=[{"name": "line", "type": "generic_function", "expression": "a + b*x"}],
        pars={"a": 1.0, "b": 0.8, "sy": 0.9},
    )
    model = hs3jax.load(doc).model(binned_density="integrated")
    a, b, sy = 0.7, -0.4, 1.3

    def density(x: float, y: float) -> float:
        m = a + b * x
        mass_y = norm.cdf(EDGES_Y[-1], m, sy) - norm.cdf(EDGES_Y[0], m, sy)
        return float(norm.pdf(x, 0.3, 1.2) * norm.pdf(y, m, sy) / mass_y)

    masses = _bin_masses_2d(density)
    assert float(model.nll({"a": a, "b": b, "sy": sy})) == pytest.approx(
        _multinomial_nll(masses), rel=1e-11
    )


def test_binned_integrated_2d_extended() -> None:
    doc = _doc(
        [
            {"name": "gx", "type": "gaussian_dist", "x": "x", "mean": "mx", "sigma": 1.0},
            {"name": "gy", "type": "gaussian_dist", "x": "y", "mean": 1.0, "sigma": 2.0},
            {"name": "p", "type": "product_dist", "factors": ["gx", "gy"]},
            {"name": "ext", "type": "extend_pdf", "pdf": "p", "norm": "n"},
        ],
        BINNED_2D,
        "ext",
        pars={"mx": 0.1, "n": 70.0},
    )
    model = hs3jax.load(doc).model(binned_density="integrated")
    masses = _bin_masses_2d(lambda x, y: norm.pdf(x, 0.1, 1.0) * norm.pdf(y, 1.0, 2.0))
    nu = 70.0 * masses / masses.sum()
    n = np.asarray(COUNTS_2D)
    expected = -np.sum(n * np.log(nu) - nu - np.array([math.lgamma(k + 1) for k in n]))
    assert float(model.nll()) == pytest.approx(expected, rel=1e-12)


def test_bincounts_2d_extended_and_density_match_dblquad() -> None:
    axes = BINNED_2D["axes"]
    n = np.asarray(COUNTS_2D)
    # bincounts_extended_dist: ν_b = λ ∫_b m, m a 2-D product normalised over the ranges
    ext = _doc(
        [
            {"name": "gx", "type": "gaussian_dist", "x": "x", "mean": "mx", "sigma": 1.3},
            {"name": "gy", "type": "gaussian_dist", "x": "y", "mean": 1.0, "sigma": 1.7},
            {"name": "m", "type": "product_dist", "factors": ["gx", "gy"]},
            {"name": "bc", "type": "bincounts_extended_dist", "rate": "lam", "dist": "m"}
            | {"axes": axes},
        ],
        BINNED_2D,
        "bc",
        pars={"mx": 0.2, "lam": 60.0},
    )
    masses = _bin_masses_2d(lambda x, y: norm.pdf(x, -0.1, 1.3) * norm.pdf(y, 1.0, 1.7))
    nu = 55.0 * masses / masses.sum()
    got = float(hs3jax.load(ext).model().nll({"mx": -0.1, "lam": 55.0}))
    assert got == pytest.approx(-np.sum(n * np.log(nu) - nu), rel=1e-11)
    # bincounts_density_dist: ν_b = ∫_b f for a rate density f(x, y)
    dens = _doc(
        [{"name": "bc", "type": "bincounts_density_dist", "x": "x", "density": "f", "axes": axes}],
        BINNED_2D,
        "bc",
        functions=[
            {"name": "f", "type": "generic_function", "expression": "a*exp(-k*x*x - 0.3*y + x*y/8)"}
        ],
        pars={"a": 5.0, "k": 0.4},
    )
    nu = _bin_masses_2d(lambda x, y: 4.0 * math.exp(-0.3 * x * x - 0.3 * y + x * y / 8))
    got = float(hs3jax.load(dens).model().nll({"a": 4.0, "k": 0.3}))
    assert got == pytest.approx(-np.sum(n * np.log(nu) - nu), rel=1e-11)


# -- ROOT 6.40 references (tests/reference/root/make_density_reference.py) ----------------------
def _root_density_reference() -> dict[str, Any]:
    from conftest import REFERENCE, read_json

    ref: dict[str, Any] = read_json(REFERENCE / "root" / "density_reference.json")
    return ref


def test_integral_over_a_named_domain_matches_root_and_quad() -> None:
    """ROOT's export of createIntegral(x, NormSet(x), Range("sig")): a product_domain "sig"."""
    from hs3jax.testsuite import HS3JaxBackend

    ref = _root_density_reference()["integral_domain"]
    ws = hs3jax.load(ref["document"])
    backend = HS3JaxBackend()
    names = ["mu", "sigma", "my", "sy"]
    points = [[p["parameters"][n] for n in names] for p in ref["points"]]
    for function in ("int_sig", "int_full_norm", "int_xy_sig"):
        check = {
            "target": {"function": function},
            "reference_point": {},
            "scan_parameters": names,
            "scan_points": points,
        }
        mine = np.asarray(backend.run_function_scan(ws, check))
        root = np.asarray([p["root"][function] for p in ref["points"]])
        reimported = np.asarray([p["root_reimported"][function] for p in ref["points"]])
        np.testing.assert_array_equal(root, reimported)  # ROOT reads its export as it wrote it
        np.testing.assert_allclose(mine, root, rtol=1e-12)
    # and against scipy's quad, from the definition: ∫_sig g / ∫_full g
    for mu, sigma, my, sy in points:

        def g(t: float, m: float = mu, s: float = sigma) -> float:
            return float(norm.pdf(t, m, s))

        def g2(t: float, m: float = my, s: float = sy) -> float:
            return float(norm.pdf(t, m, s))

        ratio_x = (
            quad(g, -1.0, 2.0, epsabs=0, epsrel=1e-13)[0]
            / quad(g, -5.0, 5.0, epsabs=0, epsrel=1e-13)[0]
        )
        ratio_y = (
            quad(g2, 0.0, 1.5, epsabs=0, epsrel=1e-13)[0]
            / quad(g2, -3.0, 4.0, epsabs=0, epsrel=1e-13)[0]
        )
        check = {
            "target": {"function": "int_xy_sig"},
            "reference_point": {},
            "scan_parameters": names,
            "scan_points": [[mu, sigma, my, sy]],
        }
        (both,) = backend.run_function_scan(ws, check)
        assert both == pytest.approx(ratio_x * ratio_y, rel=1e-12)


def test_integral_with_an_unknown_domain_names_the_known_ones() -> None:
    ref = _root_density_reference()["integral_domain"]
    doc = dict(ref["document"])
    doc["functions"] = [
        {**f, "domain": "sgi"} if f["name"] == "int_sig" else f for f in doc["functions"]
    ]
    from hs3jax.testsuite import HS3JaxBackend

    check = {
        "target": {"function": "int_sig"},
        "reference_point": {},
        "scan_parameters": ["mu"],
        "scan_points": [[0.1]],
    }
    with pytest.raises(hs3jax.ModelError, match=r"unknown domain 'sgi'; did you mean 'sig'"):
        HS3JaxBackend().run_function_scan(hs3jax.load(doc), check)


def test_integrated_binned_1d_matches_root_integrate_bins() -> None:
    """ROOT's IntegrateBins (RooBinSamplingPdf: bin averages (1/V_b) ∫_b p) on irregular bins:
    ROOT's −Σ n_b ln(P_b / V_b) is hs3jax's integrated −Σ n_b ln P_b plus Σ n_b ln V_b."""
    ref = _root_density_reference()["integrate_bins_1d"]
    edges, counts = np.asarray(ref["edges"]), np.asarray(ref["counts"])
    data = {"name": "d", "type": "binned", "axes": [{"name": "x", "edges": list(edges)}]}
    doc = _doc(
        [{"name": "g", "type": "gaussian_dist", "x": "x", "mean": "mu", "sigma": "sigma"}],
        data | {"contents": list(counts)},
        "g",
        pars={"mu": 0.2, "sigma": 1.3},
    )
    integrated = hs3jax.load(doc).model(binned_density="integrated")
    centres = hs3jax.load(doc).model()
    volume_term = float(np.sum(counts * np.log(np.diff(edges))))
    for point in ref["points"]:
        pars = point["parameters"]
        assert float(integrated.nll(pars)) + volume_term == pytest.approx(
            point["nll_integrate_bins"], rel=1e-10
        )
        assert float(centres.nll(pars)) == pytest.approx(point["nll_bin_centres"], rel=1e-12)
    # ROOT 6.40 refuses bin integration for a 2-D fit and evaluates at the bin centres
    two_d = _root_density_reference()["integrate_bins_2d"]
    assert "only implemented for 1-D fits" in two_d["error"]
    assert two_d["nll_integrate_bins"] == two_d["nll_bin_centres"]


def test_binned_integrated_3d_product_matches_closed_form() -> None:
    """Three axes (8³ Gauss–Legendre nodes per bin): a product of Gaussians, whose bin masses
    are products of normal-cdf differences (scipy)."""
    edges = {"x": [-2.0, 0.3, 3.0], "y": [-1.0, 0.0, 0.8, 2.5], "z": [0.0, 1.0, 4.0]}
    counts = [4.0, 2.0, 7.0, 1.0, 3.0, 5.0, 6.0, 2.0, 8.0, 3.0, 2.0, 4.0]
    pars = {"x": (0.2, 1.1), "y": (0.5, 0.7), "z": (1.5, 1.3)}
    doc = _doc(
        [
            {"name": f"g{o}", "type": "gaussian_dist", "x": o, "mean": f"m{o}", "sigma": s}
            for o, (_, s) in pars.items()
        ]
        + [{"name": "p", "type": "product_dist", "factors": ["gx", "gy", "gz"]}],
        {
            "name": "d3",
            "type": "binned",
            "axes": [{"name": o, "edges": e} for o, e in edges.items()],
            "contents": counts,
        },
        "p",
        pars={f"m{o}": m for o, (m, _) in pars.items()},
    )
    model = hs3jax.load(doc).model(binned_density="integrated")
    per_axis = []
    for o, (m, s) in pars.items():
        cdf = norm.cdf(edges[o], m, s)
        per_axis.append(np.diff(cdf) / (cdf[-1] - cdf[0]))
    masses = np.einsum("i,j,k->ijk", *per_axis).ravel()  # row-major, x slowest
    expected = -np.sum(np.asarray(counts) * np.log(masses))
    # 8 nodes per axis on bins up to 2.3 σ wide (z: [1, 4], σ = 1.3): the rule's error is
    # ~1e-11 relative here (measured 8e-12), where 32 (1-D) and 16² (2-D) nodes reach 1e-14
    assert float(model.nll()) == pytest.approx(expected, rel=1e-10)


def test_log_sum_exp_matches_jax_logsumexp_in_value_gradient_and_edge_cases() -> None:
    """The term-by-term ln Σ w_i e^{a_i} of mixtures equals jax's stacked logsumexp: values,
    gradients, terms of −inf (one or all), underflowing terms and a negative total (NaN)."""
    import jax.numpy as jnp
    from jax.scipy.special import logsumexp

    from hs3jax.density import log_sum_exp

    with jax.enable_x64(True):
        a = jnp.asarray([-1.0, 0.5, -800.0, -jnp.inf, 3.0])
        b = jnp.asarray([2.0, -1.0, -801.0, -jnp.inf, -jnp.inf])
        c = jnp.asarray([0.0, 0.2, -1200.0, -jnp.inf, 1.0])
        w = [jnp.asarray(0.2), jnp.asarray(0.5), jnp.asarray(0.3)]

        def stacked(a: jax.Array, b: jax.Array, c: jax.Array, w0: jax.Array) -> jax.Array:
            weights = jnp.stack([jnp.broadcast_to(v, a.shape) for v in (w0, w[1], w[2])])
            return logsumexp(jnp.stack([a, b, c]), b=weights, axis=0)

        def termwise(a: jax.Array, b: jax.Array, c: jax.Array, w0: jax.Array) -> jax.Array:
            return log_sum_exp([a, b, c], [w0, w[1], w[2]])

        got, want = termwise(a, b, c, w[0]), stacked(a, b, c, w[0])
        np.testing.assert_allclose(got, want, rtol=1e-15, atol=0.0)
        assert np.isneginf(got[3])
        finite = jnp.asarray([-1.0, 0.5, -3.0])
        args = (finite, finite + 1.0, finite - 2.0, w[0])
        for k in range(4):
            g_got = jax.grad(lambda *v: jnp.sum(termwise(*v)), argnums=k)(*args)
            g_want = jax.grad(lambda *v: jnp.sum(stacked(*v)), argnums=k)(*args)
            np.testing.assert_allclose(g_got, g_want, rtol=1e-14, atol=1e-300)
        # a negative total (a fraction below zero) is NaN, as logsumexp without return_sign
        negative = termwise(jnp.zeros(1), jnp.zeros(1), jnp.zeros(1), jnp.asarray(-2.0))
        assert np.isnan(negative[0]) and np.isnan(
            stacked(*(jnp.zeros(1),) * 3, jnp.asarray(-2.0))[0]
        )
        # broadcasting: a scalar term against per-event terms
        np.testing.assert_allclose(
            log_sum_exp([jnp.asarray(0.0), finite], [1.0, 1.0]), jnp.logaddexp(0.0, finite)
        )

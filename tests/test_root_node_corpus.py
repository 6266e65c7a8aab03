"""hs3jax on the project's own ROOT 6.40 corpus of general (non-HistFactory) nodes.

tests/data/root_nodes/<case>.json are exported unchanged by ``RooJSONFactoryWSTool``; ROOT's
values (NLL at three parameter points, normalised densities) are in
tests/reference/root/node_corpus_reference.json.  Both come from one command::

    python3 tests/reference/root/make_node_corpus.py

Pass rule of the HS3TestSuite: |2ΔNLL − 2ΔNLL_ROOT| ≤ 1e-7 + 1e-8 |2ΔNLL_ROOT|; densities
rtol 1e-8, atol 1e-12.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import hs3jax
from conftest import DATA, REFERENCE, read_json

ATOL, RTOL = 1e-7, 1e-8
CORPUS = DATA / "root_nodes"
REF = read_json(REFERENCE / "root" / "node_corpus_reference.json")["cases"]
CASES = sorted(REF)

# case -> reason: where ROOT's own value is not exact (measured numbers in the reason)
XFAIL: dict[str, str] = {
    "argus_p07": (
        "ROOT normalises RooArgusBG with p != 0.5 numerically with its default integrator: "
        "ROOT's densities are off by a constant factor per point, relative -1.30e-4 / -6.46e-5 "
        "/ -1.83e-4 at default/shift1/shift2 (max |Δ2ΔNLL| 0.026); hs3jax agrees with "
        "scipy.integrate.quad to 2e-13, and so does ROOT with RooNumIntConfig epsRel 1e-13"
    ),
    "decay_addmodel_doublesided": (
        "ROOT's RooDecay with a RooAddModel(f*RooGaussModel + RooTruthModel) is not reproduced: "
        "ROOT's densities equal w*p_gauss + (1-w)*p_truth of the single-model RooDecays with "
        "w = 0.82 for f = 0.7 (measured with ROOT 6.40, single- and double-sided alike), not "
        "w = f; hs3jax mixes the normalised convolved components with f, as RooAddPdf does "
        "(max |Δ2ΔNLL| 0.37, densities up to 2.6% apart). The single-model case "
        "decay_gauss_doublesided agrees with ROOT"
    ),
    "multivargauss_2d": (
        "ROOT normalises RooMultiVarGaussian over R^2, ignoring the observable ranges, and by "
        "2*pi*sqrt(det C)*(1 + 8.41e-9); hs3jax normalises over the domain "
        "[-6,6]x[-5,5] (mass inside 1 - 3.6e-9 .. 1 - 4.4e-9): densities differ by 1.2e-8 "
        "relative, |Δ2ΔNLL| up to 3.3e-7"
    ),
}


def _model(case: str, document: dict[str, Any] | None = None) -> hs3jax.Model:
    ws = hs3jax.load(document if document is not None else CORPUS / f"{case}.json")
    return ws.model("simPdf_obsData")


def _pars(model: hs3jax.Model, value: dict[str, Any]) -> dict[str, float]:
    every = value["all_values"]
    return {name: every[name] for name in model.parameters if name in every}


def nll_deviation(case: str, document: dict[str, Any] | None = None) -> float:
    """max |2ΔNLL − 2ΔNLL_ROOT| over the points; asserts the pass rule."""
    model = _model(case, document)
    values = REF[case]["values"]
    mine = np.asarray([float(model.nll(_pars(model, v))) for v in values])
    theirs = np.asarray([v["nll"]["cpu_offset_none"] for v in values])
    two_dnll, two_dnll_ref = 2 * (mine - mine[0]), 2 * (theirs - theirs[0])
    diff = np.abs(two_dnll - two_dnll_ref)
    assert np.all(diff <= ATOL + RTOL * np.abs(two_dnll_ref)), (diff, two_dnll_ref)
    return float(diff.max())


def pdf_deviation(case: str, document: dict[str, Any] | None = None) -> float:
    """max relative deviation of the normalised densities; asserts rtol 1e-8, atol 1e-12."""
    model = _model(case, document)
    worst = 0.0
    for value in REF[case]["values"]:
        pars = _pars(model, value)
        for evals in value["pdf_evals"]:
            points = {o: [x[i] for x in evals["x"]] for i, o in enumerate(evals["obs"])}
            mine = np.asarray(model.pdf(evals["pdf"], points, pars))
            expected = np.asarray(evals["value"])
            worst = max(worst, float(np.max(np.abs(mine / expected - 1))))
            np.testing.assert_allclose(mine, expected, rtol=1e-8, atol=1e-12)
    return worst


def test_corpus_complete() -> None:
    """Every case exported, with the file present and ROOT's three points."""
    assert len(CASES) >= 8
    for case in CASES:
        entry = REF[case]
        assert entry["export"]["ok"], entry["export"]
        assert not entry["export"]["nodes_without_type"]
        assert (CORPUS / f"{case}.json").is_file()
        assert [v["point"] for v in entry["values"]] == ["default", "shift1", "shift2"]
        for v in entry["values"]:
            nll = v["nll"]
            assert abs(nll["cpu_offset_none"] - nll["legacy_offset_none"]) < 1e-9


PARAMS = [
    pytest.param(c, marks=pytest.mark.xfail(strict=True, reason=XFAIL[c])) if c in XFAIL else c
    for c in CASES
]


@pytest.mark.parametrize("case", PARAMS)
def test_node_corpus_nll(case: str) -> None:
    nll_deviation(case)


@pytest.mark.parametrize("case", PARAMS)
def test_node_corpus_pdf_values(case: str) -> None:
    pdf_deviation(case)


def _explained_by_normalisation(case: str, exact: Any) -> None:
    """hs3jax's densities are exact (``exact(pars, evals)``) and ROOT's differ from them by one
    constant factor per point, which accounts for ROOT's 2ΔNLL: NLL_ROOT − NLL = W ln(ratio)."""
    model = _model(case)
    values = REF[case]["values"]
    weight = REF[case]["model"]["sum_entries"]
    offsets, mine_nll = [], []
    for value in values:
        pars = _pars(model, value)
        evals = value["pdf_evals"][0]
        points = {o: [x[i] for x in evals["x"]] for i, o in enumerate(evals["obs"])}
        mine = np.asarray(model.pdf(evals["pdf"], points, pars))
        np.testing.assert_allclose(mine, exact(value, evals), rtol=1e-12)
        ratio = mine / np.asarray(evals["value"])
        np.testing.assert_allclose(ratio, ratio[0], rtol=1e-12)
        offsets.append(weight * np.log(ratio[0]))
        mine_nll.append(float(model.nll(pars)))
    theirs = np.asarray([v["nll"]["cpu_offset_none"] for v in values])
    explained = np.asarray(mine_nll) + np.asarray(offsets)
    np.testing.assert_allclose(explained - explained[0], theirs - theirs[0], rtol=0, atol=1e-9)


def test_argus_p07_roots_numerical_normalisation() -> None:
    from scipy.integrate import quad

    def exact(value: dict[str, Any], evals: dict[str, Any]) -> Any:
        every = value["all_values"]
        m0, c, p = every["m0"], every["c"], every["p"]

        def argus(m: Any) -> Any:
            t = 1 - (np.asarray(m) / m0) ** 2
            return m * t**p * np.exp(c * t)

        norm = quad(argus, 5.20, 5.29, epsabs=0, epsrel=1e-13, limit=200)[0]
        xs = np.asarray([x[0] for x in evals["x"]])
        np.testing.assert_allclose(argus(xs), evals["unnormalized"], rtol=1e-13)
        return argus(xs) / norm

    _explained_by_normalisation("argus_p07", exact)


def test_multivargauss_roots_untruncated_normalisation() -> None:
    from scipy.stats import multivariate_normal

    cov = np.array([[1.0, 0.4], [0.4, 0.5]])

    def exact(value: dict[str, Any], evals: dict[str, Any]) -> Any:
        every = value["all_values"]
        dist = multivariate_normal([every["mux"], every["muy"]], cov)
        mass = dist.cdf([6, 5]) - dist.cdf([-6, 5]) - dist.cdf([6, -5]) + dist.cdf([-6, -5])
        raw = dist.pdf(np.asarray(evals["x"]))
        # ROOT: the untruncated density up to one constant factor, whatever the ranges
        roots = raw / np.asarray(evals["value"])
        np.testing.assert_allclose(roots, 1 + 8.40663e-9, rtol=1e-14)
        return raw / mass

    _explained_by_normalisation("multivargauss_2d", exact)


# ----------------------------------------------------------------------------------------------
# node types checked on this corpus: projected_dist, step, spline (poly5), crystalball_dist
# ----------------------------------------------------------------------------------------------

NEW_TYPE_CASES = [
    "crystalball_onetail_negative",
    "crystalball_shared_sigma",
    "projected_mvg",
    "spline_mean_width",
    "step_realsumpdf",
]


def _gradient_matches_differences(model: hs3jax.Model, pars: dict[str, float]) -> None:
    """jax.grad of the NLL is finite and equals fourth-order central differences (rtol 1e-6)."""
    import jax

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
        assert grad[i] == pytest.approx(fd, rel=1e-6, abs=1e-6), (model.parameters[i], fd)


@pytest.mark.parametrize("case", NEW_TYPE_CASES)
def test_new_types_roundtrip_and_gradients(case: str) -> None:
    """The file is written back exactly; gradients at ROOT's shifted points match differences."""
    document = read_json(CORPUS / f"{case}.json")
    assert hs3jax.load(document).to_dict() == document
    model = _model(case)
    for value in REF[case]["values"][1:]:
        _gradient_matches_differences(model, _pars(model, value))
    # and at a random point between ROOT's shifted points (seeded)
    low, high = (_pars(model, v) for v in REF[case]["values"][1:])
    u = np.random.default_rng(11).uniform(size=len(low))
    point = {n: low[n] + t * (high[n] - low[n]) for (n, t) in zip(low, u, strict=True)}
    _gradient_matches_differences(model, point)


def _as_hs3_text_crystal_ball(document: dict[str, Any], **replace: Any) -> dict[str, Any]:
    """ROOT's crystalball_doublesided_dist rewritten as the HS3 text's crystalball_dist."""
    import copy

    out = copy.deepcopy(document)
    (node,) = [d for d in out["distributions"] if d["type"] == "crystalball_doublesided_dist"]
    node["type"] = "crystalball_dist"
    for key, value in replace.items():
        if value is None:
            node.pop(key)
        else:
            node[key] = value
    return out


def test_crystalball_dist_with_hs3_text_keys_matches_root() -> None:
    """crystalball_dist with the HS3 text's keys (alpha_L, alpha_R, n_L, n_R, sigma_L, sigma_R,
    or the common sigma) gives ROOT's RooCrystalBall numbers: 2ΔNLL and densities at the
    HS3TestSuite tolerances."""
    variants = {
        "crystalball_ds": {},
        "crystalball_shared_sigma": {"sigma_L": None, "sigma_R": None, "sigma": "s"},
        "crystalball_onetail_negative": {"sigma_L": None, "sigma_R": None, "sigma": "s"},
    }
    for case, replace in variants.items():
        document = _as_hs3_text_crystal_ball(read_json(CORPUS / f"{case}.json"), **replace)
        nll_deviation(case, document)
        pdf_deviation(case, document)
        assert hs3jax.load(document).to_dict() == document


def test_projected_dist_is_the_marginal() -> None:
    """projected_dist (RooProjectedPdf) of a correlated Gaussian in (x, y) over y is the normal
    marginal in x (closed form, truncation to [-8, 8] included), at ROOT's parameter points; the
    integrated y is not a model parameter."""
    from scipy.stats import norm

    model = _model("projected_mvg")
    assert "y" not in model.parameters
    x = np.linspace(-7.5, 7.5, 13)
    for value in REF["projected_mvg"]["values"]:
        mux = value["all_values"]["mux"]
        exact = norm.pdf(x, mux, 1.0) / (norm.cdf(8.0 - mux) - norm.cdf(-8.0 - mux))
        got = np.asarray(model.pdf("model", {"x": x}, _pars(model, value)))
        np.testing.assert_allclose(got, exact, rtol=1e-10)


def test_projected_dist_of_a_non_gaussian_density_matches_scipy() -> None:
    """A projection of a non-factorising 2-D generic_dist against scipy's nested quadrature."""
    from scipy.integrate import dblquad, quad

    document = {
        "distributions": [
            {
                "name": "q",
                "type": "generic_dist",
                "expression": "exp(-0.5*((x - a*y)/0.7)^2) * (1 + y^2)",
            },
            {"name": "p", "type": "projected_dist", "input_pdf": "q", "observables": ["y"]},
        ],
        "data": [
            {
                "name": "d",
                "type": "unbinned",
                "axes": [{"name": "x", "min": -3, "max": 3}],
                "entries": [[0.1], [1.2], [-0.4]],
            }
        ],
        "domains": [
            {
                "name": "dom",
                "type": "product_domain",
                "axes": [
                    {"name": "x", "min": -3, "max": 3},
                    {"name": "y", "min": 0, "max": 2},
                    {"name": "a", "min": -2, "max": 2},
                ],
            }
        ],
        "parameter_points": [{"name": "init", "parameters": [{"name": "a", "value": 0.8}]}],
        "likelihoods": [{"name": "L", "distributions": ["p"], "data": ["d"]}],
    }
    model = hs3jax.load(document).model("L")
    assert model.parameters == ("a",)

    def q(x: float, y: float, a: float) -> float:
        return float(np.exp(-0.5 * ((x - a * y) / 0.7) ** 2) * (1 + y * y))

    xs = np.array([-2.5, 0.1, 1.2, 2.9])
    for a in (0.8, -1.3):
        total = dblquad(lambda y, x, a: q(x, y, a), -3, 3, 0, 2, args=(a,), epsrel=1e-13)[0]
        exact = [
            quad(lambda y, x, a: q(x, y, a), 0, 2, args=(x, a), epsabs=0, epsrel=1e-13)[0] / total
            for x in xs
        ]
        got = np.asarray(model.pdf("p", {"x": xs}, {"a": a}))
        np.testing.assert_allclose(got, exact, rtol=1e-9)
    _gradient_matches_differences(model, {"a": 0.3})


def test_step_function_against_root() -> None:
    """step (ROOT's ParamHistFunc) inside a weighted_sum_dist: ROOT's 2ΔNLL and densities, and
    the function's value is the parameter of the bin (edges [0, 1, 1.5, 3, 5])."""
    nll_deviation("step_realsumpdf")
    pdf_deviation("step_realsumpdf")
    model = _model("step_realsumpdf")
    value = REF["step_realsumpdf"]["values"][1]
    pars = _pars(model, value)
    heights = [value["all_values"][f"g{i}"] for i in range(4)]
    widths = np.diff([0.0, 1.0, 1.5, 3.0, 5.0])
    x = np.array([0.2, 0.99, 1.2, 2.0, 4.9])
    bins = np.array([0, 0, 1, 2, 3])
    expected = np.asarray(heights)[bins] / np.dot(heights, widths)
    np.testing.assert_allclose(np.asarray(model.pdf("model", {"x": x}, pars)), expected, rtol=1e-13)

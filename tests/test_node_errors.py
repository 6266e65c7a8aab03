"""Error messages raised by the node classes (src/hs3jax/nodes/*.py) on malformed or unsupported
input, triggered through the public path: ``hs3jax.load`` for document errors (which name the
JSON path, and the file where there is one) and ``load(...).model().nll()`` for the model
errors raised when a node is evaluated.

Each test builds the smallest document that reaches one check and asserts the exact exception
class and a distinctive part of the message. Four inputs here once ended in a raw JAX error, a
builtin ValueError or a silently broadcast constraint (Barlow-Beeston lite with fewer expected
values than variables); their tests pin the clear errors that replaced them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import hs3jax
from hs3jax.errors import DocumentError, ModelError

X_AXES = [{"name": "x", "min": -3.0, "max": 3.0}]
X_ENTRIES = [[0.1], [0.5]]
T_AXES = [{"name": "t", "min": -1.0, "max": 5.0}]
T_ENTRIES = [[0.1], [0.5], [1.2]]


def _doc(
    distributions: list[dict[str, Any]],
    axes: list[dict[str, Any]] | None = None,
    entries: list[list[float]] | None = None,
    *,
    functions: list[dict[str, Any]] | None = None,
    pars: dict[str, float] | None = None,
    data: dict[str, Any] | None = None,
    domains: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """An HS3 document whose one likelihood pairs the last distribution with one dataset
    (unbinned on ``axes``/``entries`` unless ``data`` is given)."""
    dataset = data or {
        "name": "d",
        "type": "unbinned",
        "axes": axes or X_AXES,
        "entries": entries or X_ENTRIES,
    }
    doc: dict[str, Any] = {
        "metadata": {"hs3_version": "0.2"},
        "distributions": distributions,
        "data": [dataset],
        "likelihoods": [
            {"name": "L", "distributions": [distributions[-1]["name"]], "data": [dataset["name"]]}
        ],
    }
    if functions:
        doc["functions"] = functions
    if pars:
        doc["parameter_points"] = [
            {
                "name": "default_values",
                "parameters": [{"name": k, "value": v} for k, v in pars.items()],
            }
        ]
    if domains:
        doc["domains"] = domains
    return doc


def _nll(doc: dict[str, Any]) -> Any:
    return hs3jax.load(doc).model().nll()


@contextmanager
def _raises(cls: type[Exception], pattern: str) -> Iterator[Any]:
    """``pytest.raises`` for exactly ``cls`` (not a subclass) with ``pattern`` in the message."""
    with pytest.raises(cls, match=pattern) as info:
        yield info
    assert type(info.value) is cls, f"raised {type(info.value).__name__}: {info.value}"


def _finite(value: Any) -> bool:
    return bool(np.all(np.isfinite(np.asarray(value))))


def _gauss(name: str, x: str = "x", mean: str | float = 0.0) -> dict[str, Any]:
    return {"name": name, "type": "gaussian_dist", "x": x, "mean": mean, "sigma": 1.0}


def _product(name: str, *factors: str) -> dict[str, Any]:
    return {"name": name, "type": "product_dist", "factors": list(factors)}


# -- decay_dist and resolution models (physics.py) --------------------------------------------

TRUTH = {"name": "res", "type": "truth_model_function", "x": "t"}
DECAY = {"name": "dec", "type": "decay_dist", "t": "t", "tau": "tau", "resolutionModel": "res"}
TAU = {"tau": 1.2}
R1 = {"name": "r1", "type": "truth_model_function", "x": "t"}
R2 = {"name": "r2", "type": "gaussian_resolution_model", "x": "t", "mean": 0.0, "sigma": 0.3}
NOT_A_RESOLUTION = {"name": "r2", "type": "gaussian_dist", "x": "t", "mean": 0.0, "sigma": 0.3}


def test_decay_dist_documents_are_valid() -> None:
    """The base documents below evaluate: each error test breaks exactly one thing."""
    mixture = {"name": "res", "type": "mixture_model", "summands": ["r1", "r2"]}
    for doc in (
        _doc([TRUTH, DECAY], T_AXES, T_ENTRIES, pars=TAU),
        _doc([R1, R2, {**mixture, "coefficients": [0.3]}, DECAY], T_AXES, T_ENTRIES, pars=TAU),
        _doc(
            [
                R1,
                R2,
                {**mixture, "type": "mixture_resolution_model", "x": "t", "coefficients": [0.3]},
                DECAY,
            ],
            T_AXES,
            T_ENTRIES,
            pars=TAU,
        ),
    ):
        assert _finite(_nll(doc))


def test_decay_dist_unknown_decay_type() -> None:
    doc = _doc([TRUTH, {**DECAY, "decayType": 3}], T_AXES, T_ENTRIES, pars=TAU)
    with _raises(ModelError, r"(?m)^decay_dist 'dec': unknown decayType 3$"):
        _nll(doc)


@pytest.mark.parametrize(
    ("t", "axis", "message"),
    [
        ("u", T_AXES[0], r"decay_dist 'dec' needs observable 'u' in the data"),
        ("t", {"name": "t"}, r"decay_dist 'dec': 't' needs a finite range"),
        ("t", {"name": "t", "min": 0.0}, r"decay_dist 'dec': 't' needs a finite range"),
    ],
    ids=["not-in-data", "no-range", "half-open-range"],
)
def test_decay_dist_time_observable(t: str, axis: dict[str, Any], message: str) -> None:
    doc = _doc([TRUTH, {**DECAY, "t": t}], [axis], T_ENTRIES, pars=TAU)
    with _raises(ModelError, message):
        _nll(doc)


MIXTURE_RES = {"name": "res", "summands": ["r1", "r2"], "coefficients": [0.3]}


@pytest.mark.parametrize(
    ("resolution", "message"),
    [
        ([{**NOT_A_RESOLUTION, "name": "res"}], r"decay_dist 'dec': 'res' is not a resolution"),
        (
            [R1, NOT_A_RESOLUTION, {**MIXTURE_RES, "type": "mixture_model"}],
            r"decay_dist 'dec': 'r2' is not a resolution model",
        ),
        (
            [R1, NOT_A_RESOLUTION, {**MIXTURE_RES, "type": "mixture_resolution_model", "x": "t"}],
            r"mixture_resolution_model 'res': 'r2' is not a resolution model",
        ),
    ],
    ids=["direct", "mixture_model-summand", "mixture_resolution_model-summand"],
)
def test_decay_dist_resolution_that_is_not_a_resolution_model(
    resolution: list[dict[str, Any]], message: str
) -> None:
    """The resolution model, or a summand of a mixture used as one, is a plain density."""
    doc = _doc([*resolution, DECAY], T_AXES, T_ENTRIES, pars=TAU)
    with _raises(ModelError, message):
        _nll(doc)


def _decay_with_mixture_model(coefficients: list[float]) -> dict[str, Any]:
    mixture = {
        "name": "res",
        "type": "mixture_model",
        "summands": ["r1", "r2"],
        "coefficients": coefficients,
    }
    return _doc([R1, R2, mixture, DECAY], T_AXES, T_ENTRIES, pars=TAU)


@pytest.mark.parametrize("coefficients", [[0.1, 0.2, 0.3], []], ids=["three", "none"])
def test_decay_dist_mixture_model_with_wrong_number_of_coefficients(
    coefficients: list[float],
) -> None:
    """A mixture_model as resolution (ROOT's RooAddModel) needs n − 1 or n coefficients."""
    doc = _decay_with_mixture_model(coefficients)
    with _raises(ModelError, rf"2 resolution models with {len(coefficients)} coefficients"):
        _nll(doc)


def test_decay_dist_mixture_model_coefficient_error_names_the_node() -> None:
    with pytest.raises(
        ModelError, match=r"^mixture_model 'res': 2 resolution models with 3 coefficients"
    ):
        _nll(_decay_with_mixture_model([0.1, 0.2, 0.3]))


# -- composite.py and binned.py ---------------------------------------------------------------


@pytest.mark.parametrize("kind", ["mixture_dist", "mixture_model"])
def test_mixture_with_wrong_number_of_coefficients(kind: str) -> None:
    mixture = {
        "name": "m",
        "type": kind,
        "summands": ["a", "b"],
        "coefficients": [0.1, 0.2, 0.3],
    }
    doc = _doc([_gauss("a"), _gauss("b"), mixture])
    # a mixture_model is evaluated as a mixture_dist and reported as one
    with _raises(
        ModelError,
        r"mixture_dist 'm' has 2 summands and 3 coefficients; expected 1 fractions or 2 yields",
    ):
        _nll(doc)


HIST_Y = {
    "name": "h",
    "type": "histogram_dist",
    "data": {"axes": [{"name": "y", "min": 0.0, "max": 1.0, "nbins": 2}], "contents": [1, 2]},
}


@pytest.mark.parametrize(
    ("dists", "message"),
    [
        (
            [{"name": "c", "type": "fft_conv_pdf", "conv_var": "y", "pdf1": "a", "pdf2": "a"}],
            r"fft_conv_pdf 'c' needs observable 'y'",
        ),
        # alone it is caught when paired with the data; as a factor, when it is evaluated
        ([HIST_Y, _product("p", "a", "h")], r"histogram_dist 'h' needs observable 'y' in the data"),
    ],
    ids=["fft_conv_pdf", "histogram_dist"],
)
def test_observable_not_in_the_data(dists: list[dict[str, Any]], message: str) -> None:
    with _raises(ModelError, message):
        _nll(_doc([_gauss("a"), *dists]))


def test_weighted_sum_dist_cannot_tell_its_observable() -> None:
    """No sample has a binning and two observables are bound."""
    xy = [{"name": "x", "min": -3.0, "max": 3.0}, {"name": "y", "min": -3.0, "max": 3.0}]
    f = {"name": "f", "type": "generic_function", "expression": "x*x + y*y + 1"}
    wsd = {"name": "w", "type": "weighted_sum_dist", "samples": ["f"], "coefficients": [1.0]}
    doc = _doc([wsd], xy, [[0.1, 0.2]], functions=[f])
    with _raises(ModelError, r"weighted_sum_dist 'w': cannot tell its observable"):
        _nll(doc)


@pytest.mark.parametrize(
    ("observable", "message"),
    [
        ("y", r"binsampling_dist 'bs' needs observable 'y'"),
        (
            "x",
            r"binsampling_dist 'bs': observable 'x' has no binning "
            r"\(a binned dataset or a domain with nbins\)",
        ),
    ],
    ids=["not-bound", "unbinned"],
)
def test_binsampling_dist_needs_a_bound_binned_observable(observable: str, message: str) -> None:
    bs = {"name": "bs", "type": "binsampling_dist", "pdf": "a", "observable": observable}
    doc = _doc([_gauss("a"), bs])
    with _raises(ModelError, message):
        _nll(doc)


# -- projected_dist (projection.py) -----------------------------------------------------------

MVN_XY = {
    "name": "q",
    "type": "multivariate_normal_dist",
    "x": ["x", "y"],
    "mean": [0.0, 0.0],
    "covariances": [[1.0, 0.3], [0.3, 1.0]],
}
PROJ = {"name": "p", "type": "projected_dist", "input_pdf": "q", "observables": ["y"]}
Y_DOMAIN = [
    {
        "name": "default_domain",
        "type": "product_domain",
        "axes": [{"name": "y", "min": -3.0, "max": 3.0}],
    }
]


@pytest.mark.parametrize("observables", [[], ["y", "y"]], ids=["empty", "repeated"])
def test_projected_dist_needs_distinct_observables(observables: list[str]) -> None:
    assert _finite(_nll(_doc([MVN_XY, PROJ], domains=Y_DOMAIN)))
    doc = _doc([MVN_XY, {**PROJ, "observables": observables}], domains=Y_DOMAIN)
    with _raises(
        DocumentError,
        r"^<document>: at \$\.distributions\[1\]\.observables: projected_dist 'p' needs "
        r"distinct observables to integrate over; expected a non-empty list of distinct "
        rf"observable names; found {re.escape(repr(observables))}$",
    ):
        hs3jax.load(doc)


def test_projected_dist_error_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "projection.json"
    path.write_text(json.dumps(_doc([MVN_XY, {**PROJ, "observables": []}])), encoding="utf-8")
    with _raises(
        DocumentError, rf"^{re.escape(str(path))}: at \$\.distributions\[1\]\.observables: "
    ):
        hs3jax.load(path)


def test_projected_dist_without_a_finite_range() -> None:
    """y is neither in the data nor in a domain: nothing to integrate over."""
    doc = _doc([MVN_XY, PROJ])
    with _raises(
        ModelError,
        r"projected_dist 'p': observable 'y' needs a finite range \(a domain\) to integrate over",
    ):
        _nll(doc)


# -- hs3_text.py ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"mean": [0.0]},
            r"at \$\.distributions\[0\]\.mean: multivariate_normal_dist 'q' has 2 variables but "
            r"1 means; expected 2 entries; found 1",
        ),
        (
            {"covariances": None},
            r"at \$\.distributions\[0\]: multivariate_normal_dist 'q' needs 'covariances' "
            r"\(or 'correlations' and 'standard_deviations'\)",
        ),
        (
            {"covariances": None, "correlations": [[1.0, 0.0], [0.0, 1.0]]},
            r"at \$\.distributions\[0\]: multivariate_normal_dist 'q' needs 'covariances'",
        ),
        (
            {"covariances": [[1.0, 0.3], [0.3]]},
            r"at \$\.distributions\[0\]\.covariances: multivariate_normal_dist 'q': "
            r"'covariances' must be 2 × 2; expected 2 rows of 2 entries; found \[2, 1\]",
        ),
        (
            {
                "covariances": None,
                "correlations": [[1.0, 0.0]],
                "standard_deviations": [1.0, 1.0],
            },
            r"at \$\.distributions\[0\]\.correlations: multivariate_normal_dist 'q': "
            r"'correlations' must be 2 × 2; expected 2 rows of 2 entries; found \[2\]",
        ),
    ],
    ids=["means", "no-covariances", "correlations-without-sd", "ragged", "correlation-rows"],
)
def test_multivariate_normal_malformed(change: dict[str, Any], message: str) -> None:
    node = {k: v for k, v in {**MVN_XY, **change}.items() if v is not None}
    with _raises(DocumentError, "^<document>: " + message):
        hs3jax.load(_doc([node]))


def _mvn_with_event_mean(x: list[str], mean: list[Any], cov: list[list[float]]) -> dict[str, Any]:
    """A multivariate normal whose mean is a function of another observable y of the events."""
    mvn = {"name": "q", "type": "multivariate_normal_dist", "x": x, "mean": mean}
    axes = [
        {"name": "x", "min": -3.0, "max": 3.0},
        {"name": "y", "min": -3.0, "max": 3.0},
    ]
    return _doc(
        [_gauss("gy", "y"), {**mvn, "covariances": cov}, _product("p", "gy", "q")],
        axes,
        [[0.1, 0.2], [0.3, -0.1]],
        functions=[{"name": "fy", "type": "generic_function", "expression": "0.5*y"}],
        pars={"z": 0.1},
    )


EVENT_MEAN = (
    r"multivariate_normal_dist 'q': means that vary event by event \(functions of other "
    r"observables\) are not supported with range normalisation"
)


def test_multivariate_normal_with_event_by_event_mean() -> None:
    doc = _mvn_with_event_mean(["x"], ["fy"], [[1.0]])
    with _raises(ModelError, EVENT_MEAN):
        _nll(doc)


def test_conditional_multivariate_normal_with_event_by_event_mean() -> None:
    doc = _mvn_with_event_mean(["x", "z"], [0.0, "fy"], [[1.0, 0.2], [0.2, 1.0]])
    with pytest.raises(ModelError, match=EVENT_MEAN):
        _nll(doc)


BB = {
    "name": "bb",
    "type": "barlow_beeston_lite_poisson_constraint_dist",
    "x": ["g0", "g1"],
}


@pytest.mark.parametrize("expected", [[10.0], [10.0, 11.0, 12.0]], ids=["fewer", "more"])
def test_barlow_beeston_lite_counts_differ(expected: list[float]) -> None:
    """Over data (the γ as observables) the node's load-time check reports the mismatch."""
    axes = [{"name": "g0", "min": 0.0, "max": 3.0}, {"name": "g1", "min": 0.0, "max": 3.0}]
    doc = _doc([{**BB, "expected": expected}], axes, [[1.0, 1.1]])
    with _raises(
        DocumentError,
        rf"barlow_beeston_lite_poisson_constraint_dist 'bb' has 2 variables and "
        rf"{len(expected)} expected values",
    ):
        _nll(doc)


@pytest.mark.parametrize("expected", [[10.0], [10.0, 11.0, 12.0]], ids=["fewer", "more"])
def test_barlow_beeston_lite_counts_differ_as_a_constraint(expected: list[float]) -> None:
    doc = _doc(
        [_gauss("a"), {**BB, "expected": expected}, _product("p", "a", "bb")],
        pars={"g0": 1.0, "g1": 1.0},
    )
    # at load, with the JSON path: as a constraint on parameters the node is evaluated through
    # its log_density alone, where one value for two variables would silently broadcast
    with _raises(DocumentError, r"(?s)2 variables and \d expected values.*expected"):
        hs3jax.load(doc)


@pytest.mark.parametrize(
    ("kind", "expression"),
    [("density_function_dist", "exp(-x*x)"), ("log_density_function_dist", "-x*x")],
)
def test_density_function_dist_without_a_finite_range(kind: str, expression: str) -> None:
    """The normaliser's error is re-raised naming the distribution."""
    f = {"name": "k", "type": "generic_function", "expression": expression}
    doc = _doc([{"name": "p", "type": kind, "function": "k"}], [{"name": "x"}], functions=[f])
    with _raises(ModelError, r"^'p': observable 'x' needs a finite range to normalise over"):
        _nll(doc)


def test_rate_density_dist_needs_a_bound_observable_with_a_finite_range() -> None:
    rate = {"name": "r", "type": "rate_density_dist", "x": "x", "density": "k"}
    k = {"name": "k", "type": "generic_function", "expression": "exp(-x*x)"}
    assert _finite(_nll(_doc([rate], functions=[k])))
    with _raises(ModelError, r"rate_density_dist 'r' needs a finite range of 'x'"):
        _nll(_doc([rate], [{"name": "x"}], functions=[k]))
    # as a factor over other data: y is not bound
    ky = {"name": "k", "type": "generic_function", "expression": "exp(-y*y)"}
    doc = _doc([_gauss("a"), {**rate, "x": "y"}, _product("p", "a", "r")], functions=[ky])
    with _raises(ModelError, r"rate_density_dist 'r': observable 'y' is not bound"):
        _nll(doc)


X_BINS = [{"name": "x", "min": -3.0, "max": 3.0, "nbins": 3}]
BINNED = {"name": "d", "type": "binned", "axes": X_BINS, "contents": [1, 4, 2]}
RATE_DENSITY = {"name": "k", "type": "generic_function", "expression": "exp(-x*x)"}
EXTENDED = {"name": "b", "type": "bincounts_extended_dist", "rate": 10.0, "dist": "a"}
DENSITY = {"name": "b", "type": "bincounts_density_dist", "x": "x", "density": "k"}


@pytest.mark.parametrize(
    ("dists", "kind"),
    [([_gauss("a"), EXTENDED], "bincounts_extended_dist"), ([DENSITY], "bincounts_density_dist")],
)
def test_bincounts_without_axes(dists: list[dict[str, Any]], kind: str) -> None:
    with_axes = [*dists[:-1], {**dists[-1], "axes": X_BINS}]
    assert _finite(_nll(_doc(with_axes, data=BINNED, functions=[RATE_DENSITY])))
    doc = _doc(dists, data=BINNED, functions=[RATE_DENSITY])
    with _raises(
        ModelError, rf"(?m)^{kind} 'b' needs 'axes' \(the binning\), unless its 'dist' is binned$"
    ):
        _nll(doc)


@pytest.mark.parametrize("kind", ["extended", "density"])
def test_bincounts_binning_not_bound(kind: str) -> None:
    """A bin-count factor binned in y, over data in x."""
    y_bins = [{"name": "y", "min": -1.0, "max": 1.0, "nbins": 2}]
    if kind == "extended":
        node = {**EXTENDED, "dist": "gy", "axes": y_bins}
        dists = [_gauss("a"), _gauss("gy", "y"), node, _product("p", "a", "b")]
    else:
        node = {**DENSITY, "x": "y", "axes": y_bins}
        dists = [_gauss("a"), node, _product("p", "a", "b")]
    ky = {"name": "k", "type": "generic_function", "expression": "exp(-y*y)"}
    with _raises(ModelError, r"'b': observables \['y'\] of its binning are not bound"):
        _nll(_doc(dists, functions=[ky]))


def test_bincounts_density_x_is_not_an_axis() -> None:
    doc = _doc([{**DENSITY, "x": "y", "axes": X_BINS}], data=BINNED, functions=[RATE_DENSITY])
    with _raises(
        ModelError, r"bincounts_density_dist 'b': x = 'y' is not an axis of its binning \['x'\]"
    ):
        _nll(doc)


# -- functions (hs3_functions.py) -------------------------------------------------------------

I0D = {"name": "f", "type": "interpolation0d", "vars": ["al"], "high": [1.1], "low": [0.9]}
PIECEWISE = {
    "name": "f",
    "type": "interpolation",
    "vars": ["al"],
    "nom": "n0",
    "high": ["h0"],
    "low": ["l0"],
}
PIECEWISE_PARS = {"al": 0.3, "n0": 0.0, "h0": 0.1, "l0": -0.1}
K_OF_Z = {"name": "k", "type": "generic_function", "expression": "z*z"}


def _mean_of(function: dict[str, Any], pars: dict[str, float] | None = None, *extra: Any) -> Any:
    """A Gaussian whose mean is ``function`` (evaluated at the model's initial point)."""
    return _doc([_gauss("a", mean="f")], functions=[*extra, function], pars=pars)


FUNCTION_MODEL_ERRORS = [
    ("i0d-ok", I0D, {"al": 0.3}, (), None),
    ("piecewise-ok", PIECEWISE, PIECEWISE_PARS, (), None),
    (
        "binwidth-of-a-parameter",
        {"name": "f", "type": "binwidth", "histogram": "z"},
        {"z": 1.0},
        (),
        r"(?m)^binwidth 'f': 'z' is not a histogram$",
    ),
    (
        "binwidth-of-a-function",
        {"name": "f", "type": "binwidth", "histogram": "k"},
        {"z": 1.0},
        (K_OF_Z,),
        r"(?m)^binwidth 'f': 'k' is not a histogram$",
    ),
    (
        "integral-unbounded",
        {"name": "f", "type": "integral", "integrand": "k", "variables": ["z"]},
        None,
        (K_OF_Z,),
        r"(?m)^integral 'f': 'z' needs a finite range$",
    ),
    (
        "quintic-spline-two-knots",
        {
            "name": "f",
            "type": "spline",
            "x": "x",
            "x0": [0, 1],
            "y0": [1, 2],
            "interpolation": "poly5",
        },
        None,
        (),
        r"^cannot build a quintic spline through 2 knots: ",
    ),
]


@pytest.mark.parametrize(
    ("function", "pars", "extra", "message"),
    [case[1:] for case in FUNCTION_MODEL_ERRORS],
    ids=[case[0] for case in FUNCTION_MODEL_ERRORS],
)
def test_function_model_errors(
    function: dict[str, Any], pars: dict[str, float] | None, extra: Any, message: str | None
) -> None:
    """Malformed function nodes are reported when the model is evaluated (``None``: valid)."""
    doc = _mean_of(function, pars, *extra)
    if message is None:
        assert _finite(_nll(doc))
        return
    with _raises(ModelError, message):
        _nll(doc)


DERIVATIVE = {"name": "f", "type": "derivative", "function": "k", "x": "z"}

# (id, function, parameters, other functions, JSON path in the function, message)
FUNCTION_DOCUMENT_ERRORS = [
    (
        "i0d-lengths",
        {**I0D, "high": [1.1, 1.2]},
        {"al": 0.3},
        (),
        "high",
        "interpolation0d 'f': vars, high and low differ in length; expected 1 entries",
    ),
    (
        "i0d-code-count",
        {**I0D, "interpolationCodes": [0, 1]},
        {"al": 0.3},
        (),
        "interpolationCodes",
        "'f': 2 interpolation codes for 1 parameters",
    ),
    (
        "i0d-code-7",
        {**I0D, "interpolationCodes": [7]},
        {"al": 0.3},
        (),
        "interpolationCodes",
        "'f': unsupported interpolation code 7",
    ),
    (
        "i0d-code-name",
        {**I0D, "interpolationCodes": ["bogus"]},
        {"al": 0.3},
        (),
        "interpolationCodes",
        "'f': unknown interpolation 'bogus'; known: ",
    ),
    (
        "piecewise-lengths",
        {**PIECEWISE, "low": []},
        PIECEWISE_PARS,
        (),
        "low",
        "interpolation 'f': vars, high and low differ in length; expected 1 entries",
    ),
    (
        "piecewise-code-9",
        {**PIECEWISE, "interpolationCodes": [9]},
        PIECEWISE_PARS,
        (),
        "interpolationCodes",
        "'f': unsupported interpolation code 9",
    ),
    (
        "weighted-sum",
        {"name": "f", "type": "weighted_sum", "samples": ["s1", "s2"], "coefficients": [1, 2, 3]},
        {"s1": 1.0, "s2": 2.0},
        (),
        "coefficients",
        "weighted_sum 'f': 2 samples, 3 coefficients; expected 2 or 1 coefficients",
    ),
    (
        "derivative-order-0",
        {**DERIVATIVE, "order": 0},
        {"z": 0.5},
        (K_OF_Z,),
        "order",
        "derivative 'f': order must be 1, 2 or 3; expected 1, 2 or 3; found 0",
    ),
    (
        "derivative-order-4",
        {**DERIVATIVE, "order": 4},
        {"z": 0.5},
        (K_OF_Z,),
        "order",
        "derivative 'f': order must be 1, 2 or 3; expected 1, 2 or 3; found 4",
    ),
]


@pytest.mark.parametrize(
    ("function", "pars", "extra", "path", "message"),
    [case[1:] for case in FUNCTION_DOCUMENT_ERRORS],
    ids=[case[0] for case in FUNCTION_DOCUMENT_ERRORS],
)
def test_function_document_errors(
    function: dict[str, Any],
    pars: dict[str, float] | None,
    extra: Any,
    path: str,
    message: str,
) -> None:
    """Malformed static fields of function nodes are reported at load, with the JSON path."""
    where = rf"at \$\.functions\[{len(extra)}\]\.{path}: "
    with _raises(DocumentError, where + re.escape(message)):
        hs3jax.load(_mean_of(function, pars, *extra))


@pytest.mark.parametrize(
    ("function", "message"),
    [
        (
            {
                "name": "f",
                "type": "histogram",
                "data": {
                    "axes": [{"name": "x", "min": -3.0, "max": 3.0, "nbins": 2}],
                    "contents": [1.0, 2.0, 3.0],
                },
            },
            r"at \$\.functions\[0\]\.data\.contents: histogram 'f' has 3 contents for 2 bins; "
            r"expected 2 numbers; found 3$",
        ),
        (
            {
                "name": "f",
                "type": "step",
                "axes": [{"name": "x", "edges": [-3.0, 0.0, 3.0]}],
                "parameters": [0.1, 0.2],
                "variables": ["y"],
            },
            r"at \$\.functions\[0\]\.variables: step 'f': variables \['y'\] differ from the "
            r"axes \['x'\]; expected the axes' names \['x'\]; found \['y'\]$",
        ),
    ],
    ids=["histogram-contents", "step-variables"],
)
def test_binned_function_document_errors(function: dict[str, Any], message: str) -> None:
    ok = (
        {**function, "data": {**function["data"], "contents": [1.0, 2.0]}}
        if "data" in function
        else {
            **function,
            "variables": ["x"],
        }
    )
    assert _finite(_nll(_mean_of(ok)))
    with _raises(DocumentError, "^<document>: " + message):
        hs3jax.load(_mean_of(function))

"""Gradients of every registered built-in node type against finite differences.

For each type (iterating the registry; a built-in type without a case fails
``test_every_type_has_a_gradient_case``) a small workspace that uses it (a conformance case of
tests/data/conformance, or an inline HS3 document) is evaluated at a few seeded random valid
parameter points near its initial values. ``jax.grad`` of the NLL (and, for function types,
of the function's value, read through a ``log_density_function_dist`` probe with no bound
observable) must be finite and equal the five-point central difference

    f'(p) ≈ [f(p − 2h) − 8 f(p − h) + 8 f(p + h) − f(p + 2h)] / (12 h),  h = 1e-3 · max(|p|, 0.1)

in every free coordinate. Why these numbers: the stencil's truncation error is h⁴ f⁽⁵⁾/30 ≈
3e-14 f⁽⁵⁾ for parameters of order one, and its rounding error is about 1.5 κ ε |f| / h with
ε = 2.2e-16 and κ the condition of the sum of many terms a likelihood or a quadrature is
(measured κ ≈ 1 on a 200-event NLL). The check is |AD − FD| ≤ 1e-6 |AD| + 1e-13 (1 + |f|) / h:
a relative 1e-6 for the truncation and a rounding allowance for κ up to about 300; a wrong
derivative (a missed chain-rule term, a gradient through the wrong branch of a ``where``) is
off by far more. Where a join of a piecewise density falls inside the stencil, a 10× smaller
step is tried (see :func:`_assert_gradient_matches`).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import hs3jax
from conftest import DATA, REFERENCE, read_json
from hs3jax.registry import registered
from test_every_type import ALIASES, ROOT_CASES

CONFORMANCE = DATA / "conformance" / "cases"
SEED = 20261123
N_POINTS = 2
PROBE = "gradient_probe"


@dataclass(frozen=True)
class Case:
    """A document using the type; ``function``: also check the gradient of this function's
    value with respect to ``function_inputs`` (names that become parameters of a probe)."""

    document: Callable[[], dict[str, Any]]
    model: str | None = None
    binned_density: str = "bin_centres"
    function: str | None = None
    function_inputs: tuple[str, ...] = ()
    skip_nll: bool = False
    notes: str = ""


# -- document builders --------------------------------------------------------------------------
def _conformance(case: str) -> Callable[[], dict[str, Any]]:
    def load() -> dict[str, Any]:
        document: dict[str, Any] = read_json(CONFORMANCE / f"{case}.json")
        return document

    return load


def _doc(
    distributions: list[dict[str, Any]],
    data: list[dict[str, Any]] | dict[str, Any] | None,
    top: list[str] | str,
    pars: dict[str, float],
    functions: list[dict[str, Any]] | None = None,
    aux: list[str] | None = None,
    domains: list[dict[str, Any]] | None = None,
) -> Callable[[], dict[str, Any]]:
    datasets = [] if data is None else data if isinstance(data, list) else [data]
    tops = [top] if isinstance(top, str) else top

    def build() -> dict[str, Any]:
        out: dict[str, Any] = {
            "metadata": {"hs3_version": "0.2"},
            "distributions": copy.deepcopy(distributions),
            "functions": copy.deepcopy(functions or []),
            "data": copy.deepcopy(datasets),
            "likelihoods": [
                {
                    "name": "L",
                    "distributions": tops,
                    "data": [d["name"] for d in datasets],
                    **({"aux_distributions": aux} if aux else {}),
                }
            ],
            "parameter_points": [
                {
                    "name": "default_values",
                    "parameters": [{"name": k, "value": v} for k, v in pars.items()],
                }
            ],
        }
        if domains:
            out["domains"] = copy.deepcopy(domains)
        return out

    return build


def _unbinned(ranges: dict[str, tuple[float, float]], rows: list[list[float]], **kw: Any) -> Any:
    return {
        "name": "d",
        "type": "unbinned",
        "axes": [{"name": n, "min": lo, "max": hi} for n, (lo, hi) in ranges.items()],
        "entries": rows,
        **kw,
    }


def _events(lo: float, hi: float, n: int = 9, seed: int = 7) -> list[list[float]]:
    rng = np.random.default_rng(seed)
    return [[float(v)] for v in np.sort(rng.uniform(lo, hi, n))]


def _events_2d(rx: tuple[float, float], ry: tuple[float, float], n: int = 7) -> list[list[float]]:
    rng = np.random.default_rng(11)
    return [[float(rng.uniform(*rx)), float(rng.uniform(*ry))] for _ in range(n)]


BINNED_1D = {
    "name": "d",
    "type": "binned",
    "axes": [{"name": "x", "edges": [0.0, 0.5, 1.2, 2.0, 3.0]}],
    "contents": [5.0, 9.0, 7.0, 3.0],
}
BINNED_2D = {
    "name": "d",
    "type": "binned",
    "axes": [
        {"name": "x", "edges": [-3.0, -1.0, 0.5, 1.0, 4.0]},
        {"name": "y", "edges": [-2.0, 0.0, 1.5, 5.0]},
    ],
    "contents": [3.0, 7.0, 2.0, 9.0, 15.0, 4.0, 6.0, 11.0, 5.0, 1.0, 3.0, 2.0],
}
UNB_X = _unbinned({"x": (-5.0, 5.0)}, _events(-4.0, 4.0))


def _gauss(name: str, x: str, mean: Any, sigma: Any) -> dict[str, Any]:
    return {"name": name, "type": "gaussian_dist", "x": x, "mean": mean, "sigma": sigma}


def _one(
    dist: dict[str, Any],
    data: Any,
    pars: dict[str, float],
    functions: list[dict[str, Any]] | None = None,
) -> Case:
    return Case(_doc([dist], data, dist["name"], pars, functions))


def _inline_number(
    dist: dict[str, Any], value: float, pars: dict[str, float], lower: float | None = None
) -> Case:
    """The density paired with an inline number: its observable has no range (−∞, ∞), or
    [lower, ∞) through a domain, so its normalisation meets an infinite end."""
    domains = None
    if lower is not None:
        axis = {"name": "x", "min": lower}
        domains = [{"name": "default_domain", "type": "product_domain", "axes": [axis]}]

    def build() -> dict[str, Any]:
        doc = _doc([dist], None, dist["name"], pars, domains=domains)()
        doc["likelihoods"][0]["data"] = [value]
        return doc

    return Case(build, notes="inline number, infinite range")


def _probe(
    functions: list[dict[str, Any]],
    target: str,
    inputs: dict[str, float],
    distributions: list[dict[str, Any]] | None = None,
    domains: list[dict[str, Any]] | None = None,
) -> Case:
    """A function type checked through its value only (the probe makes its inputs parameters)."""
    return Case(
        _doc(distributions or [], None, [], inputs, functions, domains=domains),
        function=target,
        function_inputs=tuple(inputs),
        skip_nll=True,
    )


HIST = {
    "name": "h",
    "type": "histogram",
    "data": {"axes": [{"name": "x", "edges": [0.0, 1.0, 3.0, 4.0]}], "contents": [2.0, 5.0, 1.0]},
}
INTEGRAL_ROOT = read_json(REFERENCE / "root" / "density_reference.json")["integral_domain"]

# -- the cases: type -> one or more small workspaces using it ----------------------------------
INLINE: dict[str, list[Case]] = {
    "barlow_beeston_lite_poisson_constraint_dist": [
        Case(
            _doc(
                [
                    _gauss("g", "x", "mu", 1.2),
                    {
                        "name": "bbl",
                        "type": "barlow_beeston_lite_poisson_constraint_dist",
                        "x": ["gam1", "gam2"],
                        "expected": [20.0, "tau2"],
                    },
                ],
                UNB_X,
                "g",
                {"mu": 0.3, "gam1": 1.05, "gam2": 0.97, "tau2": 35.0},
                aux=["bbl"],
            )
        )
    ],
    "bincounts_density_dist": [
        _one(
            {
                "name": "bc",
                "type": "bincounts_density_dist",
                "x": "x",
                "density": "f",
                "axes": BINNED_1D["axes"],
            },
            BINNED_1D,
            {"a": 5.0, "k": 0.5},
            functions=[{"name": "f", "type": "generic_function", "expression": "a*exp(-k*x)"}],
        ),
        Case(
            _doc(
                [
                    {
                        "name": "bc",
                        "type": "bincounts_density_dist",
                        "x": "x",
                        "density": "f2",
                        "axes": BINNED_2D["axes"],
                    }
                ],
                BINNED_2D,
                "bc",
                {"a": 4.0, "k": 0.3},
                functions=[
                    {
                        "name": "f2",
                        "type": "generic_function",
                        "expression": "a*exp(-k*x*x - 0.3*y + x*y/8)",
                    }
                ],
            )
        ),
    ],
    "bincounts_extended_dist": [
        Case(
            _doc(
                [
                    _gauss("g", "x", "mu", "sigma"),
                    {
                        "name": "bc",
                        "type": "bincounts_extended_dist",
                        "rate": "lam",
                        "dist": "g",
                        "axes": BINNED_1D["axes"],
                    },
                ],
                BINNED_1D,
                "bc",
                {"mu": 1.2, "sigma": 0.9, "lam": 25.0},
            )
        ),
        Case(
            _doc(
                [
                    _gauss("gx", "x", "mx", 1.3),
                    _gauss("gy", "y", "line", "sy"),
                    {"name": "m", "type": "product_dist", "factors": ["gx", "gy"]},
                    {
                        "name": "bc",
                        "type": "bincounts_extended_dist",
                        "rate": "lam",
                        "dist": "m",
                        "axes": BINNED_2D["axes"],
                    },
                ],
                BINNED_2D,
                "bc",
                {"mx": 0.2, "lam": 60.0, "a": 0.8, "b": 0.3, "sy": 1.4},
                functions=[{"name": "line", "type": "generic_function", "expression": "a + b*x"}],
            )
        ),
    ],
    "crystalball_doublesided_dist": [
        _one(
            {
                "name": "cb",
                "type": "crystalball_doublesided_dist",
                "m": "x",
                "m0": "m0",
                "sigma_L": "sL",
                "sigma_R": "sR",
                "alpha_L": "aL",
                "n_L": "nL",
                "alpha_R": "aR",
                "n_R": "nR",
            },
            UNB_X,
            {"m0": 0.2, "sL": 0.9, "sR": 1.3, "aL": 1.1, "nL": 3.0, "aR": 1.6, "nR": 4.5},
        )
    ],
    "crystalball_dist": [
        _one(
            {
                "name": "cb",
                "type": "crystalball_dist",
                "m": "x",
                "m0": "m0",
                "sigma": "s",
                "alpha": "a",
                "n": "n",
            },
            UNB_X,
            {"m0": 0.2, "s": 1.1, "a": 1.3, "n": 2.5},
        )
    ],
    "density_function_dist": [
        Case(
            _doc(
                [{"name": "p", "type": "density_function_dist", "function": "f"}],
                UNB_X,
                "p",
                {"a": 0.4, "k": 0.3},
                functions=[
                    {"name": "f", "type": "generic_function", "expression": "exp(-k*x)*(1+a*x*x)"}
                ],
            )
        )
    ],
    "log_density_function_dist": [
        Case(
            _doc(
                [{"name": "q", "type": "log_density_function_dist", "function": "g"}],
                UNB_X,
                "q",
                {"a": 0.2, "k": 0.3},
                functions=[{"name": "g", "type": "generic_function", "expression": "-k*x - a*x*x"}],
            )
        )
    ],
    "fft_conv_pdf": [
        Case(
            _doc(
                [
                    _gauss("g1", "x", 1.0, "s1"),
                    _gauss("g2", "x", "shift", 0.6),
                    {"name": "conv", "type": "fft_conv_pdf", "conv_var": "x", "pdf1": "g1"}
                    | {"pdf2": "g2"},
                ],
                _unbinned({"x": (-8.0, 10.0)}, _events(-2.0, 4.0)),
                "conv",
                {"shift": 0.3, "s1": 0.8},
            )
        )
    ],
    "gamma_dist": [
        _one(
            {"name": "g", "type": "gamma_dist", "x": "x", "gamma": "k", "beta": "th", "mu": "m"},
            _unbinned({"x": (0.5, 12.0)}, _events(0.6, 11.0)),
            {"k": 2.5, "th": 1.5, "m": 0.1},
        )
    ],
    "gauss_model_function": [
        Case(
            _doc(
                [
                    {"name": "res", "type": "gauss_model_function", "x": "t", "mean": "m"}
                    | {"sigma": "s"},
                    {
                        "name": "dec",
                        "type": "decay_dist",
                        "t": "t",
                        "tau": "tau",
                        "resolutionModel": "res",
                        "decayType": decay_type,
                    },
                ],
                _unbinned({"t": (-1.0, 6.0)}, _events(-0.5, 5.5)),
                "dec",
                {"tau": 1.4, "m": 0.1, "s": 0.3},
            )
        )
        for decay_type in (0, 1, 2)
    ],
    "generalized_normal_dist": [
        _one(
            {"name": "g", "type": "generalized_normal_dist", "x": "x", "mean": "m"}
            | {"alpha": "a", "beta": "b"},
            UNB_X,
            {"m": 0.3, "a": 1.4, "b": 2.6},
        )
    ],
    "landau_dist": [
        _one(
            {"name": "l", "type": "landau_dist", "x": "x", "mean": "m", "sigma": "s"},
            UNB_X,
            {"m": -0.5, "s": 0.8},
        )
    ],
    "mixture_resolution_model": [
        Case(
            _doc(
                [
                    {"name": "core", "type": "gaussian_resolution_model", "x": "t", "mean": "m"}
                    | {"sigma": "s"},
                    {"name": "perfect", "type": "delta_resolution_model", "x": "t"},
                    {"name": "res", "type": "mixture_resolution_model", "x": "t"}
                    | {"summands": ["core", "perfect"], "coefficients": ["f"]},
                    {"name": "dec", "type": "decay_dist", "t": "t", "tau": "tau"}
                    | {"resolutionModel": "res", "decayType": decay_type},
                ],
                _unbinned({"t": (-1.0, 6.0)}, _events(-0.5, 5.5)),
                "dec",
                {"tau": 1.4, "m": 0.1, "s": 0.3, "f": 0.7},
            )
        )
        for decay_type in (0, 1)
    ],
    "mixture_model": [
        Case(
            _doc(
                [
                    _gauss("a", "x", "m1", 1.0),
                    _gauss("b", "x", 1.0, 2.0),
                    {"name": "mm", "type": "mixture_model", "summands": ["a", "b"]}
                    | {"coefficients": ["f"]},
                ],
                UNB_X,
                "mm",
                {"m1": -0.4, "f": 0.35},
            )
        )
    ],
    "multivariate_normal_dist": [
        Case(
            _doc(
                [
                    {
                        "name": "mvn",
                        "type": "multivariate_normal_dist",
                        "x": ["x", "y"],
                        "mean": ["mx", "my"],
                        "covariances": [["vx", "cxy"], ["cxy", "vy"]],
                    }
                ],
                _unbinned({"x": (-3.0, 4.0), "y": (-2.0, 5.0)}, _events_2d((-2, 3), (-1, 4))),
                "mvn",
                {"mx": 0.2, "my": 1.0, "vx": 1.4, "vy": 2.0, "cxy": 0.6},
            )
        ),
        Case(
            _doc(
                [
                    {
                        "name": "mvn",
                        "type": "multivariate_normal_dist",
                        "x": ["x", "y"],
                        "mean": ["mx", 1.0],
                        "correlations": [[1.0, "rho"], ["rho", 1.0]],
                        "standard_deviations": ["sx", 1.5],
                    }
                ],
                BINNED_2D,
                "mvn",
                {"mx": 0.2, "rho": -0.4, "sx": 1.2},
            ),
            binned_density="integrated",
        ),
    ],
    "power_sum_dist": [
        _one(
            {"name": "p", "type": "power_sum_dist", "x": "x", "coefficients": ["c1", "c2"]}
            | {"exponents": ["e1", 2.0]},
            _unbinned({"x": (0.5, 3.0)}, _events(0.6, 2.9)),
            {"c1": 1.2, "c2": 0.4, "e1": -1.3},
        )
    ],
    "rate_density_dist": [
        Case(
            _doc(
                [{"name": "r", "type": "rate_density_dist", "x": "x", "density": "f"}],
                _unbinned({"x": (0.0, 3.0)}, _events(0.1, 2.9)),
                "r",
                {"a": 5.0, "k": 0.5},
                functions=[{"name": "f", "type": "generic_function", "expression": "a*exp(-k*x)"}],
            )
        )
    ],
    "rate_extended_dist": [
        Case(
            _doc(
                [
                    {"name": "e", "type": "generic_dist", "expression": "exp(-k*x)"},
                    {"name": "r", "type": "rate_extended_dist", "rate": "lam", "dist": "e"},
                ],
                _unbinned({"x": (0.0, 3.0)}, _events(0.1, 2.9)),
                "r",
                {"lam": 12.0, "k": 0.6},
            )
        )
    ],
    "relativistic_breit_wigner_dist": [
        _one(
            {"name": "bw", "type": "relativistic_breit_wigner_dist", "x": "x", "mass": "m"}
            | {"width": "w"},
            _unbinned({"x": (0.5, 2.0)}, _events(0.6, 1.9)),
            {"m": 1.1, "w": 0.25},
        )
    ],
    "mixture_dist": [
        Case(
            _doc(
                [
                    _gauss("a", "x", "m1", 0.7),
                    _gauss("b", "x", 1.0, "s2"),
                    _gauss("c", "x", -1.0, 2.0),
                    {
                        "name": "mix",
                        "type": "mixture_dist",
                        "summands": ["a", "b", "c"],
                        "coefficients": ["f1", "f2"],
                        "recursive": True,
                    },
                ],
                UNB_X,
                "mix",
                {"m1": -0.4, "s2": 1.3, "f1": 0.3, "f2": 0.6},
            ),
            notes="recursive fractions (the conformance cases give plain fractions and yields)",
        )
    ],
    "product_dist": [
        Case(
            _doc(
                [
                    _gauss("gx", "x", 0.3, "sx"),
                    _gauss("gy", "y", "line", "sy"),
                    {"name": "p", "type": "product_dist", "factors": ["gx", "gy"]},
                ],
                _unbinned({"x": (-5.0, 5.0), "y": (-6.0, 8.0)}, _events_2d((-2, 2), (-2, 3))),
                "p",
                {"a": 0.3, "b": 1.2, "sy": 0.4, "sx": 1.1},
                functions=[{"name": "line", "type": "generic_function", "expression": "a + b*x"}],
            ),
            notes="conditional: p(x) p(y | x)",
        ),
        Case(
            _doc(
                [
                    _gauss("gx", "x", 0.3, "sx"),
                    _gauss("gy", "y", "line", "sy"),
                    {"name": "p", "type": "product_dist", "factors": ["gx", "gy"]},
                ],
                BINNED_2D,
                "p",
                {"a": 1.0, "b": 0.8, "sy": 0.9, "sx": 1.2},
                functions=[{"name": "line", "type": "generic_function", "expression": "a + b*x"}],
            ),
            binned_density="integrated",
            notes="conditional product on 2-D bin-integrated data",
        ),
    ],
    "uniform_dist": [
        Case(
            _doc(
                [
                    {"name": "u", "type": "uniform_dist", "x": "x"},
                    _gauss("g", "x", "m", 1.0),
                    {"name": "mix", "type": "mixture_dist", "summands": ["u", "g"]}
                    | {"coefficients": ["f"]},
                ],
                UNB_X,
                "mix",
                {"m": 0.5, "f": 0.3},
            ),
            notes="uniform has no parameters: checked inside a mixture",
        )
    ],
    "gaussian_dist": [
        Case(
            lambda: {
                "metadata": {"hs3_version": "0.2"},
                "distributions": [
                    _gauss("g", "x", "mu", "sigma"),
                    _gauss("meas", "m_obs", "mu", 0.5),
                    _gauss("other", "k", "mu", "s2"),
                    _gauss("constraint", "s2", 2.0, 0.3),
                ],
                "data": [
                    _unbinned(
                        {"x": (-5.0, 5.0)},
                        _events(-4.0, 4.0),
                        weights=[0.5 + 0.1 * i for i in range(9)],
                    ),
                    {"name": "pt", "type": "point", "value": 1.3},
                ],
                "likelihoods": [
                    {
                        "name": "L",
                        "distributions": ["g", "meas", "other"],
                        "data": ["d", "pt", 0.25],
                        "aux_distributions": ["constraint"],
                    }
                ],
                "parameter_points": [
                    {
                        "name": "default_values",
                        "parameters": [
                            {"name": "mu", "value": 0.4},
                            {"name": "sigma", "value": 1.2},
                            {"name": "s2", "value": 2.1},
                        ],
                    }
                ],
            },
            notes="weighted unbinned data, point data, an inline number and an aux constraint",
        )
    ],
    "histogram_dist": [
        Case(
            _doc(
                [
                    {
                        "name": "h",
                        "type": "histogram_dist",
                        "data": {
                            "axes": [{"name": "x", "edges": [-5.0, -1.0, 0.5, 5.0]}],
                            "contents": [1.0, 4.0, 2.0],
                        },
                    },
                    _gauss("g", "x", "m", 1.0),
                    {"name": "mix", "type": "mixture_dist", "summands": ["h", "g"]}
                    | {"coefficients": ["f"]},
                ],
                UNB_X,
                "mix",
                {"m": 0.5, "f": 0.3},
            ),
            notes="a histogram has no parameters: checked inside a mixture",
        )
    ],
    "projected_dist": [
        Case(
            _doc(
                [
                    {
                        "name": "mvn",
                        "type": "multivariate_normal_dist",
                        "x": ["x", "y"],
                        "mean": ["mx", 0.5],
                        "covariances": [["vx", "cxy"], ["cxy", 1.5]],
                    },
                    {
                        "name": "proj",
                        "type": "projected_dist",
                        "input_pdf": "mvn",
                        "observables": ["y"],
                    },
                ],
                _unbinned({"x": (-3.0, 4.0)}, _events(-2.5, 3.5)),
                "proj",
                {"mx": 0.2, "vx": 1.3, "cxy": 0.5},
                domains=[
                    {
                        "name": "default_domain",
                        "type": "product_domain",
                        "axes": [{"name": "y", "min": -4.0, "max": 5.0}],
                    }
                ],
            )
        ),
        Case(
            _doc(
                [
                    _gauss("gx", "x", "mx", "sx"),
                    {"name": "gy", "type": "generalized_normal_dist", "x": "y", "mean": "line"}
                    | {"alpha": 1.2, "beta": "b"},
                    {"name": "q", "type": "product_dist", "factors": ["gx", "gy"]},
                    {"name": "proj", "type": "projected_dist", "input_pdf": "q"}
                    | {"observables": ["y"]},
                ],
                _unbinned({"x": (-3.0, 4.0)}, _events(-2.5, 3.5)),
                "proj",
                {"mx": 0.2, "sx": 1.1, "a": 0.3, "k": 0.7, "b": 2.5},
                functions=[{"name": "line", "type": "generic_function", "expression": "a + k*x"}],
                domains=[
                    {
                        "name": "default_domain",
                        "type": "product_domain",
                        "axes": [{"name": "y", "min": -4.0, "max": 5.0}],
                    }
                ],
            )
        ),
    ],
    "extend_pdf": [
        Case(
            _doc(
                [
                    _gauss("g", "x", "mu", "sigma"),
                    {"name": "ext", "type": "extend_pdf", "pdf": "g", "norm": "n"},
                ],
                BINNED_1D,
                "ext",
                {"mu": 1.1, "sigma": 0.8, "n": 22.0},
            ),
            binned_density="integrated",
        )
    ],
    # -- functions: their value, and where a conformance case uses them, the NLL ------------
    "binwidth": [
        _probe(
            [
                HIST,
                {"name": "w", "type": "binwidth", "histogram": "h", "divideByBinWidth": True},
                {
                    "name": "s",
                    "type": "weighted_sum",
                    "samples": ["h", "w"],
                    "coefficients": ["c", "d"],
                },
            ],
            "s",
            {"x": 2.2, "c": 1.3, "d": 0.7},
        )
    ],
    "weighted_sum": [
        _probe(
            [
                HIST,
                {
                    "name": "s",
                    "type": "weighted_sum",
                    "samples": ["h", "q"],
                    "coefficients": ["c", 2.0],
                },
                {"name": "q", "type": "generic_function", "expression": "x*x + e"},
            ],
            "s",
            {"x": 2.2, "c": 1.3, "e": 0.4},
        )
    ],
    "derivative": [
        _probe(
            [
                {"name": "f", "type": "generic_function", "expression": "a*x^3 + exp(b*x)"},
                {"name": "d1", "type": "derivative", "function": "f", "x": "x", "order": 1},
            ],
            "d1",
            {"x": 0.7, "a": 1.3, "b": -0.4},
        ),
        _probe(
            [
                {"name": "f", "type": "generic_function", "expression": "a*x^3 + exp(b*x)"},
                {"name": "d2", "type": "derivative", "function": "f", "x": "x", "order": 2},
            ],
            "d2",
            {"x": 0.7, "a": 1.3, "b": -0.4},
        ),
    ],
    "integral": [
        _probe(
            [
                {"name": "f", "type": "generic_function", "expression": "a*x^3 + exp(b*x)"},
                {"name": "i", "type": "integral", "integrand": "f", "variables": ["x"]},
            ],
            "i",
            {"a": 1.3, "b": -0.4},
            domains=[
                {
                    "name": "dom",
                    "type": "product_domain",
                    "axes": [{"name": "x", "min": 0.0, "max": 2.0}],
                }
            ],
        ),
        Case(
            lambda: copy.deepcopy(INTEGRAL_ROOT["document"]),
            function="int_sig",
            function_inputs=("mu", "sigma"),
            skip_nll=True,
            notes="ROOT's export: a pdf integrated over the named range 'sig'",
        ),
        Case(
            lambda: copy.deepcopy(INTEGRAL_ROOT["document"]),
            function="int_xy_sig",
            function_inputs=("mu", "sigma", "my", "sy"),
            skip_nll=True,
        ),
    ],
    "interpolation": [
        _probe(
            [
                {
                    "name": "p",
                    "type": "interpolation",
                    "vars": ["alpha", "beta"],
                    "nom": "n",
                    "high": ["h", 11.5],
                    "low": ["l", 8.5],
                    "interpolationCodes": [code, 4],
                }
            ],
            "p",
            {"alpha": 0.4, "beta": -1.3, "n": 10.0, "h": 12.0, "l": 9.0},
        )
        for code in (0, 1, 2, 4, 5, 6)
    ],
    "interpolation0d": [
        _probe(
            [
                {
                    "name": "i",
                    "type": "interpolation0d",
                    "vars": ["alpha", "beta"],
                    "nom": 2.0,
                    "high": [2.4, 2.2],
                    "low": [1.7, 1.9],
                    "interpolationCodes": [code, 4],
                }
            ],
            "i",
            {"alpha": 0.45, "beta": -1.6},
        )
        for code in (0, 1, 2, 4)
    ],
    "spline": [
        _probe(
            [
                {
                    "name": "sp",
                    "type": "spline",
                    "x": "x",
                    "x0": [0.0, 1.0, 2.0, 3.0, 4.0],
                    "y0": [1.0, 2.0, 1.5, 1.0, 0.5],
                    "interpolation": "poly3",
                },
                {"name": "f", "type": "generic_function", "expression": "sp * a"},
            ],
            "f",
            {"x": 1.7, "a": 1.5},
        )
    ],
    "step": [
        Case(
            _doc(
                [{"name": "p", "type": "density_function_dist", "function": "st"}],
                _unbinned({"x": (0.0, 3.0)}, _events(0.1, 2.9)),
                "p",
                {"g1": 1.0, "g2": 2.5, "g3": 0.7},
                functions=[
                    {
                        "name": "st",
                        "type": "step",
                        "axes": [{"name": "x", "edges": [0.0, 1.0, 1.8, 3.0]}],
                        "parameters": ["g1", "g2", "g3"],
                    }
                ],
            ),
            function="st",
            function_inputs=("x", "g1", "g2", "g3"),
        ),
        Case(
            _doc(
                [
                    {
                        "name": "ws",
                        "type": "weighted_sum_dist",
                        "samples": ["st", "h"],
                        "coefficients": ["c", 1.0],
                        "extended": True,
                    }
                ],
                _unbinned({"x": (0.0, 4.0)}, _events(0.1, 3.9)),
                "ws",
                {"g1": 1.0, "g2": 2.5, "c": 0.6},
                functions=[
                    {
                        "name": "st",
                        "type": "step",
                        "axes": [{"name": "x", "edges": [0.0, 2.5, 4.0]}],
                        "parameters": ["g1", "g2"],
                    },
                    HIST,
                ],
            )
        ),
    ],
    "histogram": [
        _probe(
            [HIST, {"name": "f", "type": "generic_function", "expression": "h * a + x"}],
            "f",
            {"x": 2.2, "a": 1.5},
        )
    ],
}

# inline numbers: normalisations over infinite ranges (NaN-gradient regressions)
for _type, _case in [
    (
        "lognormal_dist",
        _inline_number(
            {"name": "p", "type": "lognormal_dist", "x": "x", "mu": "m", "sigma": "s"},
            1.7,
            {"m": 0.3, "s": 0.8},
        ),
    ),
    (
        "gamma_dist",
        _inline_number(
            {"name": "p", "type": "gamma_dist", "x": "x", "gamma": "k", "beta": "th", "mu": "m"},
            2.2,
            {"k": 2.5, "th": 1.5, "m": 0.1},
        ),
    ),
    (
        "generalized_normal_dist",
        _inline_number(
            {"name": "p", "type": "generalized_normal_dist", "x": "x", "mean": "m"}
            | {"alpha": "a", "beta": "b"},
            0.9,
            {"m": 0.3, "a": 1.4, "b": 2.6},
        ),
    ),
    (
        "landau_dist",
        _inline_number(
            {"name": "p", "type": "landau_dist", "x": "x", "mean": "m", "sigma": "s"},
            1.4,
            {"m": -0.5, "s": 0.8},
        ),
    ),
    (
        "exponential_dist",
        _inline_number(
            {"name": "p", "type": "exponential_dist", "x": "x", "c": "c"},
            1.4,
            {"c": 0.7},
            lower=0.5,
        ),
    ),
]:
    INLINE.setdefault(_type, []).append(_case)

# ROOT_CASES documents without a free parameter (their types are checked inline instead)
WITHOUT_PARAMETERS = {"uniform", "histpdf"}
# conformance cases that add forms of a type beyond its ROOT_CASES entry (fftconv is left out:
# its NLL over ROOT's 1000-bin cyclic grid takes minutes per gradient check; the inline
# fft_conv_pdf case checks the same class)
EXTRA_CONFORMANCE: dict[str, list[str]] = {
    "mixture_dist": ["addpdf_extended", "addpdf_frac"],
    "histfactory_dist": [
        "hf_histosys",
        "hf_lumi",
        "hf_normfactor",
        "hf_shapefactor",
        "hf_shapesys_gauss",
        "hf_staterror_gauss",
        "hf_multichannel_statpoisson",
    ],
    "efficiency_product_pdf_dist": ["effprod"],
    "generic_dist": ["genericpdf"],
    "legacy_exp_poly_dist": ["legacyexppoly"],
    "landau_dist": ["landau"],
    "product_dist": ["constraint_in_prodpdf"],
    "exponential_dist": ["exponential_negcoef"],
    "decay_dist": ["decay_truthmodel"],
}


def _builtin_types() -> list[str]:
    out = []
    for table in registered().values():
        for name, cls in table.items():
            if cls.__module__.startswith("hs3jax."):
                out.append(name)
    return sorted(set(out))


def _renamed(case: Case, old: str, new: str) -> Case:
    """The same case with every node of type ``old`` written as its alias ``new``."""
    build = case.document

    def document() -> dict[str, Any]:
        doc = build()
        for section in ("distributions", "functions"):
            for node in doc.get(section, []):
                if node.get("type") == old:
                    node["type"] = new
        return doc

    return Case(
        document,
        case.model,
        case.binned_density,
        case.function,
        case.function_inputs,
        case.skip_nll,
        f"alias of {old}",
    )


def _cases_of(type_name: str) -> list[Case]:
    if type_name in ALIASES:
        target = ALIASES[type_name]
        return [_renamed(c, target, type_name) for c in _cases_of(target)]
    cases = list(INLINE.get(type_name, []))
    for case in [ROOT_CASES.get(type_name), *EXTRA_CONFORMANCE.get(type_name, [])]:
        if case is not None and case not in WITHOUT_PARAMETERS:
            cases.append(Case(_conformance(case), model="simPdf_obsData", notes=case))
    return cases


def test_every_type_has_a_gradient_case() -> None:
    missing = [t for t in _builtin_types() if not _cases_of(t)]
    assert not missing, f"built-in types without a gradient case: {missing}"


def _all_cases() -> list[Any]:
    out = []
    for type_name in _builtin_types():
        for i, _ in enumerate(_cases_of(type_name)):
            out.append(pytest.param(type_name, i, id=f"{type_name}-{i}"))
    return out


# -- the check ----------------------------------------------------------------------------------
def _random_points(
    init: np.ndarray, bounds: np.ndarray, free: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Points with the free parameters within ±5 % (at least ±0.01) of their initial values,
    kept 1 % inside finite bounds; constant parameters stay at their values."""
    scale = np.where(free, 0.05 * np.maximum(np.abs(init), 0.2), 0.0)
    points = init + rng.uniform(-1.0, 1.0, (N_POINTS, len(init))) * scale
    lo, hi = bounds[:, 0], bounds[:, 1]
    width = np.where(np.isfinite(hi - lo), hi - lo, 0.0)
    lo_in = np.where(np.isfinite(lo) & free, lo + 0.01 * width, -np.inf)
    hi_in = np.where(np.isfinite(hi) & free, hi - 0.01 * width, np.inf)
    return np.clip(points, lo_in, hi_in)


STENCIL = np.array([-2.0, -1.0, 1.0, 2.0])


def _assert_gradient_matches(
    f: Callable[[jax.Array], jax.Array], points: np.ndarray, free: np.ndarray, what: str
) -> None:
    """AD gradient finite everywhere, and equal to the 5-point difference along free axes
    (constant parameters, such as an ARGUS endpoint at the edge of the data, are not moved).

    Densities that are C¹ but not C² in a parameter (bifurcated Gaussian and Crystal Ball at
    their joins, quadrature nodes crossing them) break the stencil's h⁴ error bound when a join
    falls inside [p − 2h, p + 2h]; then the step 10× smaller is tried (a join inside that
    window is 10× less likely), with the rounding allowance scaled by 1/h as before.
    Each function is compiled once per case: the gradient, and ``f`` mapped over all stencil
    points of a step (``lax.map``, sequential, so memory does not grow with the batch).
    """
    value_and_grad = jax.jit(jax.value_and_grad(f))
    f_many = jax.jit(lambda ps: jax.lax.map(f, ps))
    axes = np.flatnonzero(free)
    for point in points:
        value, grad = value_and_grad(jnp.asarray(point))
        value, grad = float(value), np.asarray(grad)
        assert np.isfinite(value), f"{what}: value {value} at {point}"
        assert np.all(np.isfinite(grad)), f"{what}: gradient {grad} at {point}"
        pending = list(axes)
        misses: dict[int, list[str]] = {int(i): [] for i in axes}
        for rel in (1e-3, 1e-4):
            if not pending:
                break
            h = rel * np.maximum(np.abs(point[pending]), 0.1)
            shifted = np.repeat(point[None, :], 4 * len(pending), axis=0)
            for k, i in enumerate(pending):
                shifted[4 * k : 4 * k + 4, i] += STENCIL * h[k]
            values = np.asarray(f_many(jnp.asarray(shifted))).reshape(len(pending), 4)
            fd = (values[:, 0] - 8 * values[:, 1] + 8 * values[:, 2] - values[:, 3]) / (12 * h)
            still = []
            for k, i in enumerate(pending):
                tolerance = 1e-6 * abs(grad[i]) + 1e-13 * (1 + abs(value)) / h[k]
                if abs(grad[i] - fd[k]) > tolerance:
                    still.append(i)
                    misses[int(i)].append(f"h={h[k]:.1e}: FD {fd[k]!r} (tol {tolerance:.1e})")
            pending = still
        assert not pending, "; ".join(
            f"{what}: d/dp[{i}] AD {grad[i]!r} vs {misses[int(i)]} at {point}" for i in pending
        )


def _probe_value_fn(
    doc: dict[str, Any], case: Case
) -> tuple[Callable[[jax.Array], jax.Array], np.ndarray]:
    """The function's value as a function of its inputs: a log_density_function_dist probe with
    no bound observable is the function itself; unit Gaussian terms make the inputs parameters."""
    raw = copy.deepcopy(doc)
    dists = list(raw.get("distributions", []))
    dists.append({"name": PROBE, "type": "log_density_function_dist", "function": case.function})
    aux = []
    for i, name in enumerate(case.function_inputs):
        dists.append(
            {"name": f"{PROBE}_{i}", "type": "gaussian_dist", "x": name, "mean": 0.0, "sigma": 1.0}
        )
        aux.append(f"{PROBE}_{i}")
    raw["distributions"] = dists
    raw["likelihoods"] = [
        {"name": PROBE, "distributions": [], "data": [], "aux_distributions": aux}
    ]
    raw["data"] = []  # the function's inputs are parameters of the probe, not data axes
    raw.pop("analyses", None)
    model = hs3jax.load(raw).model(PROBE)
    assert model.density_fn is not None
    density_fn, aux_values = model.density_fn, model.data["aux"]

    def value(pars: jax.Array) -> jax.Array:
        return jnp.reshape(density_fn(pars, aux_values, PROBE, {}), ())

    return value, np.asarray(model.init)


@pytest.mark.parametrize(("type_name", "index"), _all_cases())
def test_gradient_matches_finite_differences(type_name: str, index: int) -> None:
    case = _cases_of(type_name)[index]
    doc = case.document()
    assert type_name in str(doc), f"case {index} of {type_name} does not use it"
    rng = np.random.default_rng(SEED + index)
    with jax.enable_x64(True):
        if not case.skip_nll:
            model = hs3jax.load(doc).model(case.model, binned_density=case.binned_density)
            assert model.parameters, f"{type_name}: the case has no parameters"
            nll_fn, data, inputs = model.nll_fn, model.data, model.inputs

            def nll(pars: jax.Array) -> jax.Array:
                return nll_fn(pars, data, inputs)

            free = ~np.asarray(model.fixed)
            assert free.any(), f"{type_name}: the case has no free parameters"
            init, bounds = np.asarray(model.init), np.asarray(model.bounds)
            points = _random_points(init, bounds, free, rng)
            _assert_gradient_matches(nll, points, free, f"{type_name} NLL")
        if case.function is not None:
            value, init = _probe_value_fn(doc, case)
            bounds = np.tile([-np.inf, np.inf], (len(init), 1))
            free = np.ones(len(init), dtype=bool)
            points = _random_points(init, bounds, free, rng)
            _assert_gradient_matches(value, points, free, f"{type_name} value")

"""Every registered node type against its reference, in one parameterised test.

Each built-in type maps to a reference: a case of the ROOT 6.40 conformance corpus (normalised
densities at ROOT's points to rtol 1e-8 here, gradients finite), or the test that checks it
against a closed form or scipy (named below; this file asserts that test exists and names the
type). A new built-in type without an entry fails ``test_every_type_has_a_reference``.
"""

from __future__ import annotations

import re

import jax
import numpy as np
import pytest

import hs3jax
from conftest import DATA, ROOT, read_json
from hs3jax.registry import registered

CONFORMANCE = DATA / "conformance"

# type -> conformance case whose pdf values (rtol 1e-8) check it
ROOT_CASES: dict[str, str] = {
    "ARGUS_dist": "argus",
    "bernstein_poly_dist": "bernstein",
    "bifurkated_gaussian_dist": "bifurgauss",
    "binsampling": "binsampling",
    "chebychev_dist": "chebychev",
    "crystalball_dist": "cbshape",
    "decay_dist": "decay_truthmodel",
    "truth_model_function": "decay_truthmodel",
    "exponential_dist": "exponential",
    "extend_pdf": "extendpdf",
    "gaussian_dist": "gaussian",
    "generic_function": "formulavar",
    "histfactory_dist": "hf_normsys",
    "histogram": "realsumpdf_histfunc",
    "histogram_dist": "histpdf",
    "lognormal_dist": "lognormal",
    "mixture_dist": "addpdf_3comp",
    "poisson_dist": "poisson",
    "polynomial": "polyvar",
    "polynomial_dist": "polynomial",
    "product": "product",
    "product_dist": "prodpdf",
    "sum": "addition",
    "uniform_dist": "uniform",
    "weighted_sum_dist": "realsumpdf_histfunc",
}

# type -> (test file, test function) that checks it against a closed form, scipy or ROOT with
# a documented tolerance
OTHER_TESTS: dict[str, tuple[str, str]] = {
    "barlow_beeston_lite_poisson_constraint_dist": (
        "test_hs3_text_nodes.py",
        "test_barlow_beeston_lite_constraint",
    ),
    "bincounts_density_dist": ("test_hs3_text_nodes.py", "test_bincounts_density_dist"),
    "bincounts_extended_dist": ("test_hs3_text_nodes.py", "test_bincounts_extended_dist"),
    "binwidth": ("test_hs3_text_nodes.py", "test_histogram_binwidth_weighted_sum"),
    "crystalball_doublesided_dist": (
        "test_node_library.py",
        "test_double_sided_crystal_ball_matches_numpy_and_quad",
    ),
    "density_function_dist": (
        "test_hs3_text_nodes.py",
        "test_density_and_log_density_function_dist",
    ),
    "derivative": ("test_hs3_text_nodes.py", "test_integral_and_derivative"),
    "efficiency_product_pdf_dist": ("test_root_hs3.py", "test_conformance_numerical_normalisation"),
    "fft_conv_pdf": ("test_density.py", "test_convolution_of_two_gaussians_is_a_gaussian"),
    "gamma_dist": ("test_node_library.py", "test_gamma_matches_scipy"),
    "gauss_model_function": (
        "test_density.py",
        "test_decay_with_gaussian_resolution_matches_numerical_convolution",
    ),
    "generalized_normal_dist": ("test_node_library.py", "test_generalized_normal_matches_scipy"),
    "generic_dist": ("test_root_hs3.py", "test_conformance_numerical_normalisation"),
    "integral": ("test_hs3_text_nodes.py", "test_integral_and_derivative"),
    "interpolation": ("test_hs3_text_nodes.py", "test_piecewise_interpolation"),
    "interpolation0d": ("test_hs3_text_nodes.py", "test_interpolation0d_codes"),
    "landau_dist": ("test_root_hs3.py", "test_conformance_landau_within_roots_approximation_error"),
    "legacy_exp_poly_dist": ("test_root_hs3.py", "test_conformance_numerical_normalisation"),
    "log_density_function_dist": (
        "test_hs3_text_nodes.py",
        "test_density_and_log_density_function_dist",
    ),
    "mixture_model": ("test_hs3_text_nodes.py", "test_mixture_model"),
    "mixture_resolution_model": (
        "test_hs3_text_nodes.py",
        "test_resolution_models_of_the_hs3_draft",
    ),
    "multivariate_normal_dist": ("test_hs3_text_nodes.py", "test_multivariate_normal_pdf_and_nll"),
    "power_sum_dist": ("test_node_library.py", "test_power_sum_formula"),
    "rate_density_dist": ("test_hs3_text_nodes.py", "test_rate_density_dist"),
    "rate_extended_dist": ("test_hs3_text_nodes.py", "test_rate_extended_dist"),
    "projected_dist": ("test_root_node_corpus.py", "test_projected_dist_is_the_marginal"),
    "relativistic_breit_wigner_dist": (
        "test_node_library.py",
        "test_relativistic_breit_wigner_channels_against_quadrature",
    ),
    "spline": ("test_hs3_text_nodes.py", "test_spline_poly5_is_the_natural_quintic"),
    "step": ("test_root_node_corpus.py", "test_step_function_against_root"),
    "weighted_sum": ("test_hs3_text_nodes.py", "test_histogram_binwidth_weighted_sum"),
}


# spellings registered to the same class as another, checked type
ALIASES: dict[str, str] = {
    "argus_dist": "ARGUS_dist",
    "bifurcated_gaussian_dist": "bifurkated_gaussian_dist",
    "binsampling_dist": "binsampling",
    "gennormal_dist": "generalized_normal_dist",
    "delta_resolution_model": "truth_model_function",
    "gaussian_resolution_model": "gauss_model_function",
    "multinormal_dist": "multivariate_normal_dist",
    "normal_dist": "gaussian_dist",
}


def _builtin_types() -> list[str]:
    out = []
    for table in registered().values():
        for name, cls in table.items():
            if cls.__module__.startswith("hs3jax."):
                out.append(name)
    return sorted(set(out))


def test_every_type_has_a_reference() -> None:
    checked = set(ROOT_CASES) | set(OTHER_TESTS) | set(ALIASES)
    missing = [t for t in _builtin_types() if t not in checked]
    assert not missing, f"built-in types without a reference test: {missing}"


@pytest.mark.parametrize("alias", sorted(ALIASES))
def test_alias_is_the_checked_class(alias: str) -> None:
    from hs3jax.registry import lookup

    target = ALIASES[alias]
    assert target in ROOT_CASES or target in OTHER_TESTS
    kinds = [k for k in ("distribution", "function") if lookup(k, alias) is not None]
    assert kinds and all(lookup(k, alias) is lookup(k, target) for k in kinds)


@pytest.mark.parametrize("type_name", sorted(ROOT_CASES))
def test_type_against_root(type_name: str) -> None:
    case = ROOT_CASES[type_name]
    document = read_json(CONFORMANCE / "cases" / f"{case}.json")
    assert type_name in str(document), f"{case} does not use {type_name}"
    ws = hs3jax.load(document)
    model = ws.model("simPdf_obsData")
    ref = read_json(CONFORMANCE / "root" / f"{case}.json")
    for value in ref["values"]:
        pars = {n: value["all_values"][n] for n in model.parameters if n in value["all_values"]}
        for evals in value["pdf_evals"]:
            points = {o: [x[i] for x in evals["x"]] for i, o in enumerate(evals["obs"])}
            mine = np.asarray(model.pdf(evals["pdf"], points, pars))
            np.testing.assert_allclose(mine, evals["value"], rtol=1e-8, atol=1e-12)
        if model.parameters:
            grad = jax.grad(model.nll_fn)(model.vector(pars), model.data, model.inputs)
            assert np.all(np.isfinite(np.asarray(grad)))


@pytest.mark.parametrize("type_name", sorted(OTHER_TESTS))
def test_type_has_its_reference_test(type_name: str) -> None:
    file, function = OTHER_TESTS[type_name]
    text = (ROOT / "tests" / file).read_text(encoding="utf-8")
    assert re.search(rf"^def {function}\(", text, flags=re.MULTILINE), f"{file}::{function}"
    # the test module must actually exercise the type (by name or through its conformance case)
    body = text + "".join(
        (CONFORMANCE / "cases" / f"{case}.json").read_text(encoding="utf-8")
        for case in re.findall(r'"([a-z_0-9]+)"', text)
        if (CONFORMANCE / "cases" / f"{case}.json").exists()
    )
    assert type_name in body or type_name.replace("_dist", "") in body


def test_every_builtin_type_documents_formula_and_reference() -> None:
    lacking = []
    for table in registered().values():
        for name, cls in table.items():
            if not cls.__module__.startswith("hs3jax."):
                continue
            doc = cls.__doc__ or ""
            mentions_reference = any(key in doc for key in ("ROOT", "scipy", "HS3", "pyhf", "Roo"))
            has_formula = any(key in doc for key in (":math:", "=", "∝", "Σ", "∫"))
            if not (mentions_reference and has_formula):
                lacking.append(f"{name} ({cls.__qualname__})")
    assert not lacking, lacking

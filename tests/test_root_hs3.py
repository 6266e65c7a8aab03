"""hs3jax on HS3 files written by ROOT 6.40: twice the NLL difference equals ROOT's.

Two corpora, both exported by ``RooJSONFactoryWSTool`` and evaluated with ``createNLL``:

* tests/data/conformance: the project's conformance corpus (values in tests/data/conformance/root,
  see its README); the HistFactory cases and the general nodes hs3jax implements so far;
* tests/data/root_hf: pyhf models taken through HistFactory XML into ROOT and exported
  (``python tests/reference/root/make_root_hf_reference.py`` regenerates them and
  tests/reference/root/hf_nll_reference.json).

Pass rule of the HS3TestSuite: |2ΔNLL − 2ΔNLL_ROOT| ≤ 1e-7 + 1e-8 |2ΔNLL_ROOT|.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import hs3jax
from conftest import DATA, REFERENCE, ROOT, read_json

ATOL, RTOL = 1e-7, 1e-8

CONFORMANCE = DATA / "conformance"
# cases whose node types hs3jax implements today (the rest arrive with the full node library)
CONFORMANCE_CASES = [
    "addition",
    "addpdf_3comp",
    "addpdf_extended",
    "addpdf_frac",
    "argus",
    "bernstein",
    "bifurgauss",
    "binned_gaussian",
    "binsampling",
    "cbshape",
    "chebychev",
    "constraint_in_prodpdf",
    "constvar",
    "decay_truthmodel",
    "exponential",
    "exponential_negcoef",
    "extendpdf",
    "formulavar",
    "gaussian",
    "hf_histosys",
    "hf_lumi",
    "hf_multichannel_statpoisson",
    "hf_normfactor",
    "hf_normsys",
    "hf_shapefactor",
    "hf_shapesys_gauss",
    "hf_staterror_gauss",
    "histpdf",
    "lognormal",
    "poisson",
    "polynomial",
    "polyvar",
    "prodpdf",
    "product",
    "realsumpdf_histfunc",
    "simultaneous_2ch",
    "uniform",
]
# ROOT normalises these numerically (RooGenericPdf: adaptive integration to ~1e-7); hs3jax's
# normalisation is exact to rounding, checked against scipy.integrate.quad below
ROOT_NUMERICAL_NORMALISATION = ["effprod", "genericpdf", "legacyexppoly"]


def _check_scan(mine: np.ndarray, ref: np.ndarray) -> None:
    two_dnll = 2 * (mine - mine[0])
    two_dnll_ref = 2 * (ref - ref[0])
    diff = np.abs(two_dnll - two_dnll_ref)
    assert np.all(diff <= ATOL + RTOL * np.abs(two_dnll_ref)), (diff, two_dnll_ref)


@pytest.mark.parametrize("case", CONFORMANCE_CASES)
def test_conformance_case(case: str) -> None:
    ws = hs3jax.load(CONFORMANCE / "cases" / f"{case}.json")
    ref = read_json(CONFORMANCE / "root" / f"{case}.json")
    model = ws.model("simPdf_obsData")
    mine, theirs = [], []
    for value in ref["values"]:
        every = value["all_values"]
        pars = {name: every[name] for name in model.parameters if name in every}
        mine.append(float(model.nll(pars)))
        theirs.append(value["nll"]["cpu_offset_none"])
    if len(mine) == 1:
        # no free parameters (histpdf): one channel, so ROOT's NLL has no extra constant
        assert abs(mine[0] - theirs[0]) <= ATOL + RTOL * abs(theirs[0])
        return
    assert len(mine) >= 3
    _check_scan(np.asarray(mine), np.asarray(theirs))


def _pdf_evals(case: str) -> list[tuple[hs3jax.Model, str, dict[str, Any], dict[str, Any], Any]]:
    ws = hs3jax.load(CONFORMANCE / "cases" / f"{case}.json")
    model = ws.model("simPdf_obsData")
    ref = read_json(CONFORMANCE / "root" / f"{case}.json")
    out = []
    for value in ref["values"]:
        pars = {n: value["all_values"][n] for n in model.parameters if n in value["all_values"]}
        for evals in value["pdf_evals"]:
            points = {o: [x[i] for x in evals["x"]] for i, o in enumerate(evals["obs"])}
            out.append((model, evals["pdf"], points, pars, evals["value"]))
    return out


@pytest.mark.parametrize("case", CONFORMANCE_CASES)
def test_conformance_pdf_values(case: str) -> None:
    """Normalised densities at ROOT's points: rtol 1e-8, atol 1e-12 (HS3TestSuite)."""
    for model, name, points, pars, expected in _pdf_evals(case):
        mine = np.asarray(model.pdf(name, points, pars))
        np.testing.assert_allclose(mine, expected, rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("case", ROOT_NUMERICAL_NORMALISATION)
def test_conformance_numerical_normalisation(case: str) -> None:
    """hs3jax's normalisation is exact; ROOT's is off by its integrator's precision.

    The densities agree with scipy.integrate.quad-normalised values to 1e-12; ROOT's values
    differ from those by a constant factor per parameter point (the normalisation), and that
    factor explains ROOT's 2ΔNLL to rounding: NLL_ROOT − NLL = W ln(pdf/pdf_ROOT).
    """
    from scipy.integrate import quad

    ws = hs3jax.load(CONFORMANCE / "cases" / f"{case}.json")
    model = ws.model("simPdf_obsData")
    ref = read_json(CONFORMANCE / "root" / f"{case}.json")
    data = next(d for d in ws.data if d.type == "unbinned")
    axis = data.axes[0]
    weight = float(len(data.entries))
    offsets, mine_nll = [], []
    for value in ref["values"]:
        pars = {n: value["all_values"][n] for n in model.parameters if n in value["all_values"]}
        evals = value["pdf_evals"][0]
        xs = [x[0] for x in evals["x"]]
        mine = np.asarray(model.pdf(evals["pdf"], {axis.name: xs}, pars))
        unnorm = np.asarray(evals["unnormalized"])
        exact = (
            unnorm
            / quad(
                lambda t, p=pars, e=evals: float(
                    np.asarray(model.pdf(e["pdf"], {axis.name: [t]}, p))[0]
                ),
                axis.lo,
                axis.hi,
                epsabs=0,
                epsrel=1e-13,
            )[0]
            * (mine[0] / unnorm[0])
        )
        np.testing.assert_allclose(mine, exact, rtol=1e-12)
        ratio = mine / np.asarray(evals["value"])
        np.testing.assert_allclose(ratio, ratio[0], rtol=1e-13)
        offsets.append(weight * np.log(ratio[0]))
        mine_nll.append(float(model.nll(pars)))
        assert abs(ratio[0] - 1) < 1e-7  # ROOT's integrator: ~1e-7 relative
    theirs = np.asarray([v["nll"]["cpu_offset_none"] for v in ref["values"]])
    explained = np.asarray(mine_nll) + np.asarray(offsets)
    np.testing.assert_allclose(explained - explained[0], theirs - theirs[0], rtol=0, atol=1e-9)


def test_conformance_expected_counts() -> None:
    for case in [c for c in CONFORMANCE_CASES if c.startswith("hf_")]:
        ws = hs3jax.load(CONFORMANCE / "cases" / f"{case}.json")
        model = ws.model("simPdf_obsData")
        ref = read_json(CONFORMANCE / "root" / f"{case}.json")
        for value in ref["values"]:
            every = value["all_values"]
            expected = model.expected_data({n: every[n] for n in model.parameters if n in every})
            for channel in value["hf_expected"]:
                name = f"model_{channel['channel']}"
                np.testing.assert_allclose(
                    np.asarray(expected[name]), channel["expected_total"], rtol=1e-12, atol=1e-12
                )


ROOT_HF = read_json(REFERENCE / "root" / "hf_nll_reference.json")["cases"]
# ROOT writes staterror uncertainties with 7 significant digits; the NLL ROOT computed on the
# original workspace used the unrounded ones, so the file cannot reproduce it to 1e-8. hs3jax
# follows the file (Gaussian staterror where it says Gauss, which ROOT's own re-import wrongly
# turns into Poisson, ROOT_REPORT.md). These cases are held to 2e-6 absolute, and the test
# asserts that the 1e-7 rule does fail, so the day the rounding is gone this test says so.
ROUNDED_ERRORS = {
    "hf_onechannel",
    "hf_onechannel_gaussstat",
    "hf_twochannel",
    "hf_twochannel_gaussstat",
}


def _root_hf_scan(name: str, entry: dict[str, Any], key: str) -> tuple[np.ndarray, np.ndarray]:
    ws = hs3jax.load(ROOT / entry["hs3_file"])
    model = ws.model("simPdf_obsData")
    mine, theirs = [], []
    for point in entry["points"]:
        pars = {k: v for k, v in point["set"].items() if k in model.parameters}
        mine.append(float(model.nll(pars)))
        theirs.append(point[key]["default(cpu)"])
    return np.asarray(mine), np.asarray(theirs)


@pytest.mark.parametrize(
    "name", [n for n in ROOT_HF if n not in ROUNDED_ERRORS and "3lerjr" not in n]
)
def test_root_export_of_pyhf_model(name: str) -> None:
    entry = ROOT_HF[name]
    mine, theirs = _root_hf_scan(name, entry, "nll")
    assert len(mine) >= 11
    _check_scan(mine, theirs)


@pytest.mark.parametrize("name", sorted(ROUNDED_ERRORS))
def test_root_export_with_rounded_staterror(name: str) -> None:
    """Documents the 7-digit rounding: agreement is 1e-6 absolute, not 1e-7."""
    mine, theirs = _root_hf_scan(name, ROOT_HF[name], "nll")
    diff = np.abs(2 * (mine - mine[0]) - 2 * (theirs - theirs[0]))
    assert np.all(diff <= 2e-6), diff
    with pytest.raises(AssertionError):
        _check_scan(mine, theirs)


def test_root_export_of_atlas_3lerjr() -> None:
    """ROOT loses precision in the tau ~ 1.9e11 Poisson constraints of this model (its NLL moves
    in steps of 2^-9, tests/reference/root/README.md); hs3jax agrees to that resolution."""
    name = next(n for n in ROOT_HF if "3lerjr" in n)
    mine, theirs = _root_hf_scan(name, ROOT_HF[name], "nll")
    diff = np.abs(2 * (mine - mine[0]) - 2 * (theirs - theirs[0]))
    assert np.all(diff <= 4 * 2.0**-9), diff


def test_root_file_paths_exist() -> None:
    for entry in ROOT_HF.values():
        assert Path(ROOT / entry["hs3_file"]).exists()


def test_conformance_landau_within_roots_approximation_error() -> None:
    """ROOT's RooLandau uses CERNLIB's rational approximations of the Landau density, good to a
    few 1e-9 relative; hs3jax's is exact to ~4e-12 (tests/test_node_library.py, against
    mpmath). The densities differ by at most 3e-9 relative, and 2ΔNLL by at most what that
    allows over the dataset: 2 · N · 3e-9."""
    case = "landau"
    ws = hs3jax.load(CONFORMANCE / "cases" / f"{case}.json")
    model = ws.model("simPdf_obsData")
    ref = read_json(CONFORMANCE / "root" / f"{case}.json")
    for model_, name, points, pars, expected in _pdf_evals(case):
        mine = np.asarray(model_.pdf(name, points, pars))
        np.testing.assert_allclose(mine, expected, rtol=3e-9)
    n_events = len(next(d for d in ws.data if d.type == "unbinned").entries)
    mine_nll, theirs = [], []
    for value in ref["values"]:
        pars = {n: value["all_values"][n] for n in model.parameters if n in value["all_values"]}
        mine_nll.append(float(model.nll(pars)))
        theirs.append(value["nll"]["cpu_offset_none"])
    diff = 2 * (np.asarray(mine_nll) - mine_nll[0]) - 2 * (np.asarray(theirs) - theirs[0])
    assert np.all(np.abs(diff) <= 2 * n_events * 3e-9), diff


def test_conformance_cases_not_supported_are_listed() -> None:
    """Every case of the corpus is checked above, except these (with the reason)."""
    not_supported = {
        # no likelihood or analysis in the file: only densities (HS3TestSuite backend covers it)
        "nomodelconfig_gaussian",
    }
    checked = set(CONFORMANCE_CASES) | set(ROOT_NUMERICAL_NORMALISATION) | {"landau", "fftconv"}
    every = {p.stem for p in (CONFORMANCE / "cases").glob("*.json")}
    assert every - checked == not_supported


def test_conformance_fft_convolution_is_roots_approximation() -> None:
    """RooFFTConvPdf convolves by FFT on a binned, cyclic grid; hs3jax integrates (exact to
    1e-9, tests/test_density.py). ROOT's densities on this case differ from the exact
    convolution by 0.05 % near the peak and up to 4 % in the left tail: documented, not matched.
    """
    worst = 0.0
    for model, name, points, pars, expected in _pdf_evals("fftconv"):
        mine = np.asarray(model.pdf(name, points, pars))
        worst = max(worst, float(np.max(np.abs(mine / np.asarray(expected) - 1))))
    assert 1e-3 < worst < 5e-2

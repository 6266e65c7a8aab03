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
    "binned_gaussian",
    "constraint_in_prodpdf",
    "constvar",
    "gaussian",
    "hf_histosys",
    "hf_lumi",
    "hf_multichannel_statpoisson",
    "hf_normfactor",
    "hf_normsys",
    "hf_shapefactor",
    "hf_shapesys_gauss",
    "hf_staterror_gauss",
    "poisson",
    "simultaneous_2ch",
]


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
    assert len(mine) >= 3
    _check_scan(np.asarray(mine), np.asarray(theirs))


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

"""hs3jax.testsuite driven as the HS3TestSuite runner drives a backend, against ROOT's numbers.

The checks are built as the suite's fixture generator builds them (reference point = the
file's ``default_values``, scan over the parameters ROOT moved) and compared with the suite's
rule |a − e| ≤ atol + rtol·|e| (2ΔNLL: rtol 1e-8, atol 1e-7; densities: rtol 1e-8, atol 1e-12).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import hs3jax
from hs3jax.testsuite import HS3JaxBackend, HS3TestSuiteBackend

CONFORMANCE = Path(__file__).resolve().parent / "data" / "conformance"


def _compare(actual: list[float], expected: list[float], rtol: float, atol: float) -> None:
    assert len(actual) == len(expected)
    for got, want in zip(actual, expected, strict=True):
        assert abs(got - want) <= atol + rtol * abs(want), (got, want)


def _case(name: str) -> tuple[Path, dict[str, Any], dict[str, Any]]:
    path = CONFORMANCE / "cases" / f"{name}.json"
    return (
        path,
        json.loads(path.read_text()),
        json.loads((CONFORMANCE / "root" / f"{name}.json").read_text()),
    )


def _default_point(doc: dict[str, Any]) -> dict[str, float]:
    for point in doc.get("parameter_points", []):
        if point["name"] == "default_values":
            return {p["name"]: float(p["value"]) for p in point["parameters"]}
    return {}


@pytest.mark.parametrize("case", ["gaussian", "hf_normsys"])
def test_twice_delta_nll_scan_matches_root(case: str) -> None:
    path, doc, root = _case(case)
    backend = HS3TestSuiteBackend()
    assert backend.name == "hs3jax"
    ws = backend.load_workspace(path)
    likelihood = f"simPdf_{root['model']['data']}"
    reference = {**_default_point(doc), **{p["name"]: p["value"] for p in root["parameters"]}}
    names = sorted({k for v in root["values"] for k in v["set"]})
    check = {
        "id": "twice_delta_nll_scan",
        "kind": "twice_delta_nll_scan",
        "target": {"likelihood": likelihood},
        "reference_point": reference,
        "scan_parameters": names,
        "scan_points": [[{**reference, **v["set"]}[n] for n in names] for v in root["values"]],
    }
    got = backend.run_twice_delta_nll_scan(ws, check, path)
    base = root["values"][0]["nll"]["cpu_offset_none"]
    want = [2.0 * (v["nll"]["cpu_offset_none"] - base) for v in root["values"]]
    _compare(got, want, rtol=1e-8, atol=1e-7)


def test_twice_delta_nll_scan_pdf_data_target() -> None:
    path, doc, root = _case("gaussian")
    backend = HS3JaxBackend()
    ws = backend.load_workspace(path)
    check = {
        "target": {"pdf": "model", "data": "obsData_ch1"},
        "reference_point": _default_point(doc),
        "scan_parameters": ["mu", "sigma"],
        "scan_points": [[0.5, 1.2], [0.8, 1.0], [0.2, 1.5]],
    }
    base = root["values"][0]["nll"]["cpu_offset_none"]
    want = [2.0 * (v["nll"]["cpu_offset_none"] - base) for v in root["values"]]
    _compare(backend.run_twice_delta_nll_scan(ws, check, path), want, rtol=1e-8, atol=1e-7)


def test_pdf_scan_matches_root() -> None:
    path, doc, root = _case("gaussian")
    backend = HS3JaxBackend()
    ws = backend.load_workspace(path)
    for value in root["values"]:
        for ev in value["pdf_evals"]:
            reference = {**_default_point(doc), **value["set"]}
            check = {
                "target": {"pdf": ev["pdf"], "observables": ev["obs"]},
                "reference_point": reference,
                "scan_parameters": ev["obs"],
                "scan_points": ev["x"],
            }
            _compare(backend.run_pdf_scan(ws, check, path), ev["value"], rtol=1e-8, atol=1e-12)


def test_structure_check() -> None:
    path, _, _ = _case("hf_normsys")
    backend = HS3JaxBackend()
    ws = backend.load_workspace(path)
    structure = backend.structure(ws)
    assert "model_SR" in structure["pdfs"]
    backend.run_structure_check(ws, {"target": {"pdfs": ["model_SR"], "data": ["obsData_SR"]}})
    with pytest.raises(AssertionError, match="missing pdfs"):
        backend.run_structure_check(ws, {"target": {"pdfs": ["nope"]}})


def test_function_scan() -> None:
    doc = {
        "metadata": {"hs3_version": "0.2"},
        "functions": [{"name": "s", "type": "sum", "summands": ["a", "b", 0.5]}],
    }
    backend = HS3JaxBackend()
    check = {
        "target": {"function": "s"},
        "reference_point": {"a": 1.0, "b": 2.0},
        "scan_parameters": ["a"],
        "scan_points": [[0.0], [3.0]],
    }
    assert backend.run_function_scan(hs3jax.load(doc), check) == pytest.approx([2.5, 5.5])


def test_upconvert_round_trips(tmp_path: Path) -> None:
    path, _, _ = _case("gaussian")
    out = tmp_path / "hs3.json"
    HS3JaxBackend().upconvert(path, out)
    again = hs3jax.load(out)
    assert float(again.model().nll()) == pytest.approx(
        float(hs3jax.load(path).model().nll()), rel=1e-14
    )

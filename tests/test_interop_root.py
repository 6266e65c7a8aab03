"""Closure with real ROOT 6.40 (``pip install root==0.1a12``): hs3jax's HS3 in ROOT's hands.

Three loops (issue 4), each at a default point and random points, compared as 2ΔNLL:

(a) pyhf JSON -> hs3jax -> HS3 for ROOT (``ws.to_dict(for_root=True)``) -> ROOT import:
    ROOT's 2ΔNLL equals pyhf's (``-logpdf``) to 1e-6 relative;
(b) ROOT's HS3 export (conformance corpus, tests/data/root_hf) -> hs3jax -> HS3 -> ROOT import:
    ROOT's 2ΔNLL on hs3jax's file equals ROOT's on the original file to 1e-8;
(c) hs3jax's own 2ΔNLL on each file equals ROOT's.

ROOT runs in subprocesses (this file with ``--worker``): one per file, so a ROOT crash fails one
test, not the session. Marked ``interop``; skipped with the reason when ROOT is not importable.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(
        importlib.util.find_spec("ROOT") is None,
        reason="ROOT is not importable (pip install root==0.1a12 to run the ROOT interop tests)",
    ),
]

SEED = 4
N_POINTS = 6
ROOT_TIMEOUT = 300


# ----------------------------------------------------------------------------------------------
# ROOT side (subprocess)
# ----------------------------------------------------------------------------------------------


def _worker(job_file: str, out_file: str) -> None:  # pragma: no cover - runs under ROOT
    import ROOT

    ROOT.gROOT.SetBatch(True)
    ROOT.RooMsgService.instance().setGlobalKillBelow(ROOT.RooFit.ERROR)
    job = json.loads(Path(job_file).read_text())
    with open(out_file, "a", encoding="utf-8") as out:
        for task in job["tasks"]:
            try:
                result = _root_nll(ROOT, task)
            except Exception as exc:  # ROOT's error text is the result
                result = {"error": f"{type(exc).__name__}: {exc}"}
            out.write(json.dumps(result) + "\n")
            out.flush()


def _root_nll(ROOT: Any, task: dict[str, Any]) -> dict[str, Any]:  # pragma: no cover
    ws = ROOT.RooWorkspace("w")
    ROOT.RooJSONFactoryWSTool(ws).importJSON(task["file"])
    raw = json.loads(Path(task["file"]).read_text())
    analysis = task.get("analysis") or raw["analyses"][0]["name"]
    configs = raw.get("misc", {}).get("ROOT_internal", {}).get("ModelConfigs", {})
    mc = ws.obj(configs.get(analysis, {}).get("mcName", analysis))
    pdf = mc.GetPdf()
    lik = next(a["likelihood"] for a in raw["analyses"] if a["name"] == analysis)
    pdf_name = configs.get(analysis, {}).get("pdfName", pdf.GetName())
    candidates = [lik.removeprefix(f"{pdf_name}_"), "obsData"]
    data = next((ws.data(n) for n in candidates if ws.data(n)), None) or ws.allData()[0]
    globs = mc.GetGlobalObservables() or ROOT.RooArgSet()
    nll = pdf.createNLL(data, ROOT.RooFit.GlobalObservables(globs), ROOT.RooFit.Offset("none"))
    variables = {v.GetName(): v for v in pdf.getParameters(data)}
    defaults = {n: v.getVal() for n, v in variables.items()}
    values, missing = [], set()
    for point in task["points"]:
        for n, v in defaults.items():
            variables[n].setVal(v)
        for n, v in point.items():
            if n in variables:
                variables[n].setVal(v)
            else:
                missing.add(n)
        values.append(nll.getVal())
    return {
        "nll": values,
        "missing": sorted(missing),
        "globs": sorted(g.GetName() for g in globs),
        "parameters": {n: [v.getMin(), v.getMax()] for n, v in variables.items()},
    }


def run_root(tasks: list[dict[str, Any]], tmp_path: Path) -> list[dict[str, Any]]:
    """ROOT's NLL for each task {file, analysis, points}, in as few subprocesses as possible.

    Results are written one line per task; if ROOT dies, the task it died on gets the error
    (with the tail of ROOT's output) and a fresh process takes the remaining ones.
    """
    results: list[dict[str, Any]] = []
    while len(results) < len(tasks):
        job, out = tmp_path / f"job{len(results)}.json", tmp_path / f"out{len(results)}.jsonl"
        job.write_text(json.dumps({"tasks": tasks[len(results) :]}))
        try:
            proc = subprocess.run(
                [sys.executable, __file__, "--worker", str(job), str(out)],
                capture_output=True,
                text=True,
                timeout=ROOT_TIMEOUT,
            )
            tail = (proc.stdout + proc.stderr)[-2000:]
        except subprocess.TimeoutExpired:
            tail = f"timeout after {ROOT_TIMEOUT} s"
        lines = out.read_text().splitlines() if out.exists() else []
        results.extend(json.loads(line) for line in lines)
        if len(results) < len(tasks):  # ROOT died on the next task
            results.append({"error": f"ROOT died: {tail}"})
    return results


# ----------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------


def _two_dnll(values: Any) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64)
    return 2.0 * (v - v[0])


def _assert_close(mine: Any, ref: Any, rtol: float, atol: float, what: str) -> None:
    a, b = _two_dnll(mine), _two_dnll(ref)
    diff = np.abs(a - b)
    ok = diff <= atol + rtol * np.abs(b)
    assert ok.all(), f"{what}: 2ΔNLL {a.tolist()} vs {b.tolist()} (diff {diff.tolist()})"


def _load(source: Any) -> Any:
    import hs3jax

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return hs3jax.load(source)


# ----------------------------------------------------------------------------------------------
# (a) pyhf JSON -> hs3jax -> HS3 -> ROOT
# ----------------------------------------------------------------------------------------------

# float64 cancellation in Poisson terms with tau ~ 1.9e11 (shapesys of 3LeRJR): ROOT's NLL moves in
# steps of 2^-9 there and pyhf's carries ~1e-3 of rounding (docs/conventions.md)
PYHF_ATOL = {"ATLAS-3LeRJR__ERJR_200p0_100p0": 5e-3}
PYHF_FILES = [
    DATA / "likelihoods" / "ATLAS-SUSY-2018-14__Comb_bkgonly.json",
    DATA / "likelihoods" / "ATLAS-3LeRJR__ERJR_200p0_100p0.json",
    *sorted((DATA / "pyhf").glob("*.json")),
]


def _pyhf_points(spec: dict[str, Any], n: int, seed: int) -> tuple[Any, Any, list[np.ndarray]]:
    """pyhf model, data and parameter vectors: init, then random points near init."""
    import pyhf

    pyhf.set_backend("numpy")
    ws = pyhf.Workspace(spec)
    try:
        model = ws.model()
    except pyhf.exceptions.InvalidModel:
        model = ws.model(poi_name=None)
    data = ws.data(model)
    init = np.asarray(model.config.suggested_init(), dtype=np.float64)
    bounds = np.asarray(model.config.suggested_bounds(), dtype=np.float64)
    fixed = np.asarray(model.config.suggested_fixed(), dtype=bool)
    widths = _pyhf_widths(model)
    rng = np.random.default_rng(seed)
    points = [init]
    while len(points) < n + 1:
        p = init + widths * rng.uniform(-1.0, 1.0, size=init.shape)
        p = np.where(fixed, init, np.clip(p, bounds[:, 0], bounds[:, 1]))
        by_sample = model.main_model.expected_data(p, return_by_sample=True)
        if np.all(np.asarray(by_sample) >= 0):  # ROOT clips negative sample bins, pyhf doesn't
            points.append(p)
    return model, data, points


def _pyhf_widths(model: Any) -> np.ndarray:
    """How far each parameter moves: ±1.5 for α, ±50% for free factors, 2σ for γ (σ < 0.1)."""
    widths = np.zeros(len(model.config.suggested_init()))
    for name in model.config.par_order:
        sl = model.config.par_slice(name)
        pset = model.config.param_set(name)
        if not pset.constrained:
            widths[sl] = 0.5
        elif name in [m for m, t in model.config.modifiers if t in ("normsys", "histosys")]:
            widths[sl] = 1.5
        else:
            n = pset.n_parameters
            sigmas = np.asarray(pset.width()) if hasattr(pset, "width") else np.full(n, 0.05)
            widths[sl] = np.minimum(2.0 * sigmas, 0.1)
    return widths


def _pyhf_names(model: Any) -> list[str]:
    names = []
    for name in model.config.par_order:
        n = model.config.param_set(name).n_parameters
        scalar = model.config.param_set(name).is_scalar
        names.extend([name] if scalar else [f"{name}[{i}]" for i in range(n)])
    return names


@pytest.fixture(scope="module")
def pyhf_cases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """For every pyhf file: pyhf's NLL at the points, hs3jax's HS3 for ROOT, ROOT's NLL."""
    tmp = tmp_path_factory.mktemp("pyhf_to_root")
    cases: dict[str, dict[str, Any]] = {}
    tasks = []
    for path in PYHF_FILES:
        spec = json.loads(path.read_text())
        model, data, points = _pyhf_points(spec, N_POINTS, SEED)
        names = _pyhf_names(model)
        ws = _load(spec)
        hs3 = ws.to_dict(for_root=True)
        to_root = {v: k for k, v in hs3["misc"]["hs3jax"].get("root_names", {}).items()}
        out = tmp / path.name
        out.write_text(json.dumps(hs3))
        named = [{n: float(v) for n, v in zip(names, p, strict=True)} for p in points]
        tasks.append(
            {
                "file": str(out),
                "points": [{to_root.get(n, n): v for n, v in p.items()} for p in named],
            }
        )
        cases[path.stem] = {
            "ws": ws,
            "file": out,
            "points": named,
            "pyhf_nll": [float(-model.logpdf(p, data)[0]) for p in points],
        }
    for case, result in zip(cases.values(), run_root(tasks, tmp), strict=True):
        case["root"] = result
    return cases


@pytest.mark.parametrize("path", PYHF_FILES, ids=lambda p: p.stem)
def test_pyhf_to_root(path: Path, pyhf_cases: dict[str, dict[str, Any]]) -> None:
    case = pyhf_cases[path.stem]
    res = case["root"]
    assert "error" not in res, res.get("error")
    assert not res["missing"], f"ROOT lacks parameters {res['missing']}"
    atol = PYHF_ATOL.get(path.stem, 1e-8)
    _assert_close(res["nll"], case["pyhf_nll"], 1e-6, atol, f"ROOT vs pyhf on {path.name}")

    # hs3jax reading its own ROOT-flavoured file back: pyhf's names, the same numbers
    back, original = _load(case["file"]).model(), case["ws"].model()
    assert back.parameters == original.parameters
    mine = [float(back.nll(p)) for p in case["points"]]
    np.testing.assert_allclose(mine, [float(original.nll(p)) for p in case["points"]], rtol=1e-12)


# ----------------------------------------------------------------------------------------------
# (b), (c): ROOT's exports -> hs3jax -> HS3 -> ROOT
# ----------------------------------------------------------------------------------------------


def _root_files() -> list[Path]:
    return [
        *sorted((DATA / "conformance" / "cases").glob("*.json")),
        *sorted((DATA / "root_hf").glob("*.json")),
    ]


def _points_for(path: Path) -> list[dict[str, float]]:
    """The conformance points (all variable values) where stored, else shifted defaults."""
    ref = DATA / "conformance" / "root" / path.name
    if ref.exists() and path.parent.name == "cases":
        values = json.loads(ref.read_text()).get("values", [])
        if values:
            return [dict(v["all_values"]) for v in values]
    raw = json.loads(path.read_text())
    default = next(
        (p for p in raw.get("parameter_points", []) if p["name"] == "default_values"),
        {"parameters": []},
    )
    free = [p for p in default["parameters"] if not p.get("const")]
    rng = np.random.default_rng(SEED)
    points: list[dict[str, float]] = [{}]
    for _ in range(N_POINTS):
        pt = {}
        for p in free:
            lo, hi = p.get("min", -np.inf), p.get("max", np.inf)
            step = 0.3 if p["name"].startswith("alpha") else 0.02
            pt[p["name"]] = float(np.clip(p["value"] + step * rng.uniform(-1, 1), lo, hi))
        points.append(pt)
    return points


# (c) where ROOT's import of a file is not ROOT's model: hs3jax is compared with the NLL ROOT
# computed on the original workspace (stored reference) instead, and the ROOT bug is asserted
ROOT_IMPORT_BUGS = {
    "hf_staterror_gauss": "ROOT's importer ignores the modifier-level constraint_type Gauss of "
    "staterror (it reads only the channel-level staterror block) and builds Poisson constraints",
    "hf_onechannel_gaussstat": "as hf_staterror_gauss (Gaussian staterror read back as Poisson)",
    "hf_twochannel_gaussstat": "as hf_staterror_gauss (Gaussian staterror read back as Poisson)",
}
# ROOT writes staterror errors with 7 significant digits but global observables (tau) from the
# unrounded ones; its import mixes both, hs3jax follows the errors: 2ΔNLL differ by < 2e-5
ROUNDED = {"hf_onechannel": 2e-5, "hf_twochannel": 2e-5, "hf_multichannel_statpoisson": 2e-5}
# ROOT's NLL on 3LeRJR moves in steps of 2^-9 (float64 cancellation in Poisson terms with
# tau ~ 1.9e11); hs3jax is exact there (docs/conventions.md)
ROUNDED["atlas_3lerjr_erjr_200p0_100p0"] = 4e-3
# hs3jax's own numbers that do not yet match ROOT (owned by the node library, not the writer)
# ROOT's own numbers are inexact here; tests/test_root_hs3.py shows the difference is ROOT's
# numerical normalisation (to ~1e-7 relative) or its CERNLIB Landau approximation (~3e-9)
HS3JAX_GAPS = {
    "genericpdf": "ROOT normalises RooGenericPdf numerically (2ΔNLL off by 1.5e-5)",
    "effprod": "ROOT normalises RooEffProd numerically (2ΔNLL off by 2e-5)",
    "landau": "ROOT's CERNLIB Landau approximation (2ΔNLL off by 3.5e-7)",
    "legacyexppoly": "ROOT normalises RooLegacyExpPoly numerically (2ΔNLL off by 2.3e-6)",
    "fftconv": "ROOT's FFT convolution on a binned cyclic grid (densities off by up to 4 %)",
}


def _stored_reference(path: Path) -> tuple[list[dict[str, float]], list[float]] | None:
    """Points and the NLL ROOT computed on the original workspace, where stored."""
    conf = DATA / "conformance" / "root" / path.name
    if path.parent.name == "cases" and conf.exists():
        values = json.loads(conf.read_text())["values"]
        return [v["all_values"] for v in values], [v["nll"]["cpu_offset_none"] for v in values]
    ref = json.loads((HERE / "reference" / "root" / "hf_nll_reference.json").read_text())
    entry = ref["cases"].get(path.stem)
    if entry is None:
        return None
    return [p["set"] for p in entry["points"]], [p["nll"]["default(cpu)"] for p in entry["points"]]


@pytest.fixture(scope="module")
def root_cases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """ROOT's NLL on ROOT's export and on hs3jax's re-written file, for every loadable file."""
    import hs3jax

    tmp = tmp_path_factory.mktemp("root_round_trip")
    cases: dict[str, dict[str, Any]] = {}
    tasks = []
    for path in _root_files():
        key = f"{path.parent.name}/{path.stem}"
        try:
            ws = _load(path)
        except hs3jax.HS3JaxError as exc:
            cases[key] = {"skip": f"hs3jax cannot load it yet: {str(exc).splitlines()[0]}"}
            continue
        out = tmp / f"{path.parent.name}_{path.name}"
        hs3jax.dump(ws, out, for_root=True)
        names = {a.name for a in ws.analyses}
        analysis = "simPdf_obsData" if "simPdf_obsData" in names else None
        stored = _stored_reference(path)
        points = stored[0] if stored else _points_for(path)
        cases[key] = {"ws": ws, "analysis": analysis, "points": points, "stored": stored}
        tasks.append({"file": str(path), "analysis": analysis, "points": points})
        tasks.append({"file": str(out), "analysis": analysis, "points": points})
    results = iter(run_root(tasks, tmp))
    for case in cases.values():
        if "skip" not in case:
            case["original"], case["rewritten"] = next(results), next(results)
    return cases


@pytest.mark.parametrize("path", _root_files(), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_root_export_round_trip(path: Path, root_cases: dict[str, dict[str, Any]]) -> None:
    case = root_cases[f"{path.parent.name}/{path.stem}"]
    if "skip" in case:
        pytest.skip(case["skip"])
    original, rewritten = case["original"], case["rewritten"]
    if "error" in original:
        # listed in docs/formats.md; hs3jax's file is then not importable either
        pytest.skip(f"ROOT cannot import its own export: {original['error'][:300]}")
    assert "error" not in rewritten, f"ROOT cannot import hs3jax's file: {rewritten['error']}"
    # (b) ROOT on hs3jax's file == ROOT on ROOT's file
    _assert_close(rewritten["nll"], original["nll"], 1e-8, 1e-8, f"ROOT re-import {path.name}")


@pytest.mark.parametrize("path", _root_files(), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_hs3jax_nll_equals_root(path: Path, root_cases: dict[str, dict[str, Any]]) -> None:
    case = root_cases[f"{path.parent.name}/{path.stem}"]
    if "skip" in case:
        pytest.skip(case["skip"])
    if not case["ws"].analyses and not case["ws"].likelihoods:
        pytest.skip("no analysis or likelihood in the file: no NLL to compare")
    model = case["ws"].model(case["analysis"])
    mine = [
        float(model.nll({k: v for k, v in p.items() if k in model.parameters}))
        for p in case["points"]
    ]
    if path.stem in HS3JAX_GAPS:
        try:
            _assert_close(mine, case["original"]["nll"], 1e-8, 1e-7, path.name)
        except AssertionError:
            pytest.xfail(HS3JAX_GAPS[path.stem])
        return
    original = case["original"]
    if path.stem in ROOT_IMPORT_BUGS or "error" in original:
        # (c) against the NLL ROOT computed on its workspace before exporting
        assert case["stored"] is not None, ROOT_IMPORT_BUGS.get(path.stem, original.get("error"))
        stored = case["stored"][1]
        tol = 2e-6 if path.stem.endswith("gaussstat") else 1e-7  # rounded errors, as above
        _assert_close(mine, stored, 1e-8, tol, f"hs3jax vs ROOT's workspace on {path.name}")
        if "error" not in original:  # the ROOT bug is still there
            diff = np.abs(_two_dnll(original["nll"]) - _two_dnll(stored))
            assert diff.max() > 1e-3, f"ROOT fixed its import of {path.name}?"
        return
    atol = ROUNDED.get(path.stem, 1e-7)
    _assert_close(mine, original["nll"], 1e-8, atol, f"hs3jax vs ROOT on {path.name}")


if __name__ == "__main__":  # pragma: no cover
    if len(sys.argv) == 4 and sys.argv[1] == "--worker":
        _worker(sys.argv[2], sys.argv[3])

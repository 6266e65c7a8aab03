#!/usr/bin/env python3
"""Regenerate ROOT's HS3 exports of pyhf models and ROOT's NLL values on them.

One command (needs ROOT 6.40, ``pip install root==0.1a12``, plus pyhf 0.7.6 and uproot)::

    python3 tests/reference/root/make_root_hf_reference.py

Pipeline, for every case in ``CASES``:

1. pyhf JSON (``tests/data/root_hf/inputs/``) -> HistFactory XML + ``data.root`` with pyhf's own
   writer (``pyhf.writexml.writexml``), in a temporary directory.
2. XML -> ``RooStats::HistFactory::Measurement``.  The ROOT wheel has neither ``hist2workspace``
   nor ``ConfigParser`` (HistFactory is built without its XML reader), so ``read_xml`` below
   translates the XML elements pyhf writes one-to-one into the Measurement C++ API, leaving every
   default to ROOT.  ``HistoToWorkspaceFactoryFast.MakeCombinedModel`` -> RooWorkspace.
3. ROOT's NLL (``createNLL`` with the ModelConfig's global observables, ``Offset("none")``; default
   EvalBackend and ``legacy``) at the default point and at ``N_POINTS`` random points, ROOT's
   expected counts per channel bin, the interpolation codes ROOT used.
4. ``RooJSONFactoryWSTool(ws).exportJSONtoString()`` saved unchanged to
   ``tests/data/root_hf/<case>.json``; that file is re-imported into a fresh workspace and the NLL
   recomputed at the same points (what ROOT says the HS3 file means).
5. pyhf's ``-logpdf`` at the same points, translated to pyhf parameter names.

Steps 2-4 run in subprocesses (one per step) because ROOT's exporter is known to crash on some
setups; a crash is recorded, not fatal.  Everything goes to
``tests/reference/root/hf_nll_reference.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
import zlib
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
INPUTS = REPO / "tests" / "data" / "root_hf" / "inputs"
EXPORTS = REPO / "tests" / "data" / "root_hf"
OUTPUT = HERE / "hf_nll_reference.json"

SEED = 20240611
N_POINTS = 10
RANGES = {  # ranges the random points draw from, by kind of parameter
    "normfactor": (0.5, 2.0),
    "alpha": (-1.5, 1.5),
    "gamma": (0.8, 1.2),
    "lumi": (0.95, 1.05),
}
GAMMA_SIGMAS = 3.0  # gammas also stay within 3 sigma (ROOT's parameter error) of 1

# (case name, input file, statistical-error config to put in each channel's XML or None)
# None keeps what pyhf's writer gives (no <StatErrorConfig>, so ROOT's defaults apply);
# "gaussstat" adds <StatErrorConfig RelErrorThreshold="0" ConstraintType="Gaussian"/>, which is
# what pyhf's staterror means.
CASES: list[tuple[str, str, tuple[float, str] | None]] = [
    ("hf_onechannel", "hf_onechannel.json", None),
    ("hf_onechannel_gaussstat", "hf_onechannel.json", (0.0, "Gaussian")),
    ("hf_twochannel", "hf_twochannel.json", None),
    ("hf_twochannel_gaussstat", "hf_twochannel.json", (0.0, "Gaussian")),
    ("hf_shapesys_lumi", "hf_shapesys_lumi.json", None),
    ("hf_lumi_partial", "hf_lumi_partial.json", None),  # one sample without lumi
    ("atlas_susy_2018_14_comb_bkgonly", "ATLAS-SUSY-2018-14__Comb_bkgonly.json", None),
    ("atlas_3lerjr_erjr_200p0_100p0", "ATLAS-3LeRJR__ERJR_200p0_100p0.json", None),
]


# ----------------------------------------------------------------------------------------------
# pyhf side (parent process)
# ----------------------------------------------------------------------------------------------


def prepare_spec(spec: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Drop fixed measurement parameter configs that no modifier uses (``lumi`` excepted).

    pyhf 0.7.6's XML writer raises KeyError on them (e.g. a fixed ``mu_BG`` that no sample
    carries); they do not change pyhf's likelihood.  Everything else is left to the writer.
    """
    used = {m["name"] for c in spec["channels"] for s in c["samples"] for m in s["modifiers"]}
    spec = json.loads(json.dumps(spec))
    dropped: list[str] = []

    def unused(p: dict[str, Any]) -> bool:
        return bool(p.get("fixed")) and p["name"] not in used and p["name"] != "lumi"

    for meas in spec["measurements"]:
        params = meas["config"]["parameters"]
        dropped += [p["name"] for p in params if unused(p)]
        meas["config"]["parameters"] = [p for p in params if not unused(p)]
    return spec, dropped


def write_xml(spec: dict[str, Any], outdir: Path, stat_config: tuple[float, str] | None) -> Path:
    """Write HistFactory XML + data.root with pyhf's writer; optionally add a StatErrorConfig."""
    import pyhf.writexml

    (outdir / "config").mkdir(parents=True)
    (outdir / "data").mkdir()
    cwd = os.getcwd()
    os.chdir(outdir)
    try:
        top = pyhf.writexml.writexml(spec, "config", "data", "FitConfig")
    finally:
        os.chdir(cwd)
    (outdir / "config" / "FitConfig.xml").write_bytes(top)
    if stat_config is not None:
        for chan_xml in (outdir / "config").glob("FitConfig_*.xml"):
            text = chan_xml.read_text()
            cfg = (
                f'<StatErrorConfig RelErrorThreshold="{stat_config[0]}" '
                f'ConstraintType="{stat_config[1]}" />'
            )
            text = re.sub(r"(<Channel [^>]*>)", r"\1\n  " + cfg, text, count=1)
            chan_xml.write_text(text)
    return outdir / "config" / "FitConfig.xml"


def pyhf_model(spec: dict[str, Any]) -> tuple[Any, Any, np.ndarray, str | None]:
    """pyhf model (POI None when the measurement's POI is not in the model), data, init."""
    import pyhf

    pyhf.set_backend("numpy")
    ws = pyhf.Workspace(spec)
    note = None
    try:
        model = ws.model()
    except pyhf.exceptions.InvalidModel as err:
        note = f"pyhf: {err}; model built with poi_name=None"
        model = ws.model(poi_name=None)
    return model, ws.data(model), np.asarray(model.config.suggested_init(), float), note


def root_to_pyhf_names(spec: dict[str, Any], model: Any) -> dict[str, list[Any]]:
    """Map ROOT parameter names to [pyhf parameter, index] as HistFactory names them."""
    stat_channel = {
        m["name"]: c["name"]
        for c in spec["channels"]
        for s in c["samples"]
        for m in s["modifiers"]
        if m["type"] == "staterror"
    }
    out: dict[str, list[Any]] = {}
    for name, mtype in model.config.modifiers:
        n = model.config.param_set(name).n_parameters
        if mtype == "normfactor":
            out[name] = [name, 0]
        elif mtype in ("normsys", "histosys"):
            out[f"alpha_{name}"] = [name, 0]
        elif mtype == "lumi":
            out["Lumi"] = [name, 0]
        elif mtype in ("shapesys", "shapefactor"):
            out.update({f"gamma_{name}_bin_{i}": [name, i] for i in range(n)})
        elif mtype == "staterror":
            ch = stat_channel[name]
            out.update({f"gamma_stat_{ch}_bin_{i}": [name, i] for i in range(n)})
    return out


def pyhf_point(
    model: Any, init: np.ndarray, name_map: dict[str, list[Any]], root_values: dict[str, float]
) -> tuple[np.ndarray, dict[str, Any]]:
    """pyhf parameter vector for a ROOT point (parameters ROOT doesn't set stay at init)."""
    pars = init.copy()
    named: dict[str, Any] = {}
    for rname, value in root_values.items():
        if rname not in name_map:
            continue
        pname, idx = name_map[rname]
        sl = model.config.par_slice(pname)
        pars[sl.start + idx] = value
    for pname in model.config.par_order:
        vals = pars[model.config.par_slice(pname)].tolist()
        named[pname] = (
            vals if len(vals) > 1 or model.config.param_set(pname).n_parameters > 1 else vals[0]
        )
    return pars, named


def pyhf_expected(model: Any, pars: np.ndarray) -> dict[str, list[float]]:
    exp = np.asarray(model.expected_actualdata(pars), float)
    return {ch: exp[model.config.channel_slices[ch]].tolist() for ch in model.config.channels}


# ----------------------------------------------------------------------------------------------
# ROOT side (subprocesses)
# ----------------------------------------------------------------------------------------------


def _root() -> Any:
    import ROOT

    ROOT.gROOT.SetBatch(True)
    ROOT.RooMsgService.instance().setGlobalKillBelow(ROOT.RooFit.WARNING)
    return ROOT


def read_xml(top_xml: Path) -> Any:
    """Build a HistFactory Measurement from the XML elements pyhf's writer emits."""
    ROOT = _root()
    HF = ROOT.RooStats.HistFactory
    ctypes = {"Gaussian": HF.Constraint.Gaussian, "Poisson": HF.Constraint.Poisson}
    base = top_xml.parent.parent  # paths in the XML are relative to the writer's cwd
    top = ET.parse(top_xml).getroot()
    mel = top.find("Measurement")
    assert mel is not None
    meas = HF.Measurement(mel.get("Name"), mel.get("Name"))
    meas.SetPOI(mel.findtext("POI"))
    meas.SetLumi(float(mel.get("Lumi", "1")))
    meas.SetLumiRelErr(float(mel.get("LumiRelErr", "0")))
    for ps in mel.findall("ParamSetting"):
        if ps.get("Const") == "True":
            for p in (ps.text or "").split():
                meas.AddConstantParam(p)
    for inp in top.findall("Input"):
        cel = ET.parse(base / (inp.text or "")).getroot()
        chan = HF.Channel(cel.get("Name"))
        for el in cel:
            if el.tag == "StatErrorConfig":
                chan.SetStatErrorConfig(
                    float(el.get("RelErrorThreshold")), ctypes[el.get("ConstraintType")]
                )
            elif el.tag == "Data":
                chan.SetData(el.get("HistoName"), el.get("InputFile", cel.get("InputFile")))
            elif el.tag == "Sample":
                fname = el.get("InputFile", cel.get("InputFile"))
                smp = HF.Sample(el.get("Name"), el.get("HistoName"), fname)
                smp.SetNormalizeByTheory(el.get("NormalizeByTheory") == "True")
                for m in el:
                    mf = m.get("InputFile", fname)
                    if m.tag == "NormFactor":
                        smp.AddNormFactor(
                            m.get("Name"),
                            float(m.get("Val")),
                            float(m.get("Low")),
                            float(m.get("High")),
                        )
                    elif m.tag == "OverallSys":
                        smp.AddOverallSys(m.get("Name"), float(m.get("Low")), float(m.get("High")))
                    elif m.tag == "HistoSys":
                        smp.AddHistoSys(
                            m.get("Name"),
                            m.get("HistoNameLow"),
                            mf,
                            "",
                            m.get("HistoNameHigh"),
                            mf,
                            "",
                        )
                    elif m.tag == "StatError":
                        if m.get("Activate") == "True":
                            smp.ActivateStatError(m.get("HistoName"), mf, "")
                    elif m.tag == "ShapeSys":
                        smp.AddShapeSys(
                            m.get("Name"),
                            ctypes[m.get("ConstraintType", "Gaussian")],
                            m.get("HistoName"),
                            mf,
                            "",
                        )
                    elif m.tag == "ShapeFactor":
                        smp.AddShapeFactor(m.get("Name"))
                    else:
                        raise ValueError(f"unsupported XML element {m.tag}")
                chan.AddSample(smp)
        meas.AddChannel(chan)
    meas.CollectHistograms()
    return meas


def build_workspace(top_xml: Path) -> tuple[Any, list[Any]]:
    ROOT = _root()
    meas = read_xml(top_xml)
    factory = ROOT.RooStats.HistFactory.HistoToWorkspaceFactoryFast(meas)
    ws = factory.MakeCombinedModel(meas)
    return ws, [meas, factory]  # keep the C++ owners alive


def root_params(ws: Any) -> tuple[Any, Any, Any, Any]:
    mc = ws.obj("ModelConfig")
    pdf = mc.GetPdf()
    data = ws.data("obsData")
    return mc, pdf, data, mc.GetGlobalObservables()


def make_nlls(pdf: Any, data: Any, globs: Any) -> dict[str, Any]:
    ROOT = _root()
    backend = ROOT.RooFit.EvalBackend(ROOT.RooFit.EvalBackend.defaultValue()).name()
    common = (ROOT.RooFit.GlobalObservables(globs), ROOT.RooFit.Offset("none"))
    return {
        f"default({backend})": pdf.createNLL(data, *common),
        "legacy": pdf.createNLL(data, *common, ROOT.RooFit.EvalBackend("legacy")),
    }


def free_parameters(pdf: Any, data: Any, globs: Any) -> list[Any]:
    gnames = {g.GetName() for g in globs}
    return [p for p in pdf.getParameters(data) if p.GetName() not in gnames]


def kind_of(name: str) -> str:
    if name == "Lumi":
        return "lumi"
    if name.startswith("alpha_"):
        return "alpha"
    if name.startswith("gamma_"):
        return "gamma"
    return "normfactor"


def expected_counts(ws: Any, pdf: Any) -> dict[str, list[float]]:
    """Expected events per bin: normalised density at the bin centre * width * total."""
    ROOT = _root()
    out: dict[str, list[float]] = {}
    cat = pdf.indexCat()
    for state in cat:
        label = state.first if hasattr(state, "first") else state[0]
        sumpdf = ws.pdf(f"{label}_model")
        obs = ws.var(f"obs_x_{label}")
        nset = ROOT.RooArgSet(obs)
        total = sumpdf.expectedEvents(nset)
        binning = obs.getBinning()
        keep = obs.getVal()
        counts = []
        for i in range(binning.numBins()):
            obs.setVal(binning.binCenter(i))
            counts.append(sumpdf.getVal(nset) * binning.binWidth(i) * total)
        obs.setVal(keep)
        out[str(label)] = counts
    return out


def interp_codes(ws: Any) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {"FlexibleInterpVar": {}, "PiecewiseInterpolation": {}}
    for f in ws.allFunctions():
        for cls in out:
            if f.ClassName().endswith(cls):
                params = (
                    [p.GetName() for p in f.paramList()]
                    if cls == "PiecewiseInterpolation"
                    else [p.GetName() for p in f.getVariables() if p.GetName().startswith("alpha_")]
                )
                out[cls][f.GetName()] = {
                    "codes": list(f.interpolationCodes()),
                    "parameters": params,
                }
                if cls == "PiecewiseInterpolation":
                    out[cls][f.GetName()]["positiveDefinite"] = bool(f.positiveDefinite())
    return out


def constraint_classes(ws: Any) -> dict[str, str]:
    """Class of every constraint pdf (name ending in 'onstraint'), e.g. RooPoisson/RooGaussian."""
    return {
        p.GetName(): p.ClassName()
        for p in ws.allPdfs()
        if p.GetName().lower().endswith("constraint")
    }


def worker_nll(top_xml: Path, case: str, out: Path) -> None:
    """Build the workspace, evaluate ROOT's NLL at the points, write JSON."""
    ROOT = _root()
    ws, _keep = build_workspace(top_xml)
    mc, pdf, data, globs = root_params(ws)
    params = free_parameters(pdf, data, globs)
    info = {
        p.GetName(): {
            "value": p.getVal(),
            "error": p.getError(),
            "min": p.getMin(),
            "max": p.getMax(),
            "const": bool(p.isConstant()),
            "kind": kind_of(p.GetName()),
        }
        for p in params
    }
    defaults = {n: v["value"] for n, v in info.items()}
    floating = [n for n, v in info.items() if not v["const"]]
    rng = np.random.default_rng(SEED + zlib.crc32(case.encode()))
    points: list[dict[str, float]] = [{}]
    for _ in range(N_POINTS):
        pt = {}
        for n in floating:
            lo, hi = RANGES[info[n]["kind"]]
            if info[n]["kind"] == "gamma" and info[n]["error"] > 0:
                # stay within GAMMA_SIGMAS of nominal: a published shapesys with relative
                # sigma 2e-6 (tau 2e11) makes ROOT's Poisson constraint underflow to 0 (NLL inf)
                # once gamma moves by 1e-2
                lo = max(lo, 1 - GAMMA_SIGMAS * info[n]["error"])
                hi = min(hi, 1 + GAMMA_SIGMAS * info[n]["error"])
            lo, hi = max(lo, info[n]["min"]), min(hi, info[n]["max"])
            pt[n] = float(rng.uniform(lo, hi))
        points.append(pt)
    nlls = make_nlls(pdf, data, globs)
    values = []
    for pt in points:
        for n, v in defaults.items():
            ws.var(n).setVal(v)
        for n, v in pt.items():
            ws.var(n).setVal(v)
        values.append(
            {
                "set": pt,
                "nll": {k: nll.getVal() for k, nll in nlls.items()},
                "expected": expected_counts(ws, pdf),
            }
        )
    interpolation = interp_codes(ws)  # before the diagnostic below changes positiveDefinite
    # diagnostic: the same NLL with PiecewiseInterpolation's clamp of negative bins switched off
    # (pyhf does not clamp); only the default backend
    for f in ws.allFunctions():
        if f.ClassName() == "PiecewiseInterpolation":
            f.setPositiveDefinite(False)
    unclamped = make_nlls(pdf, data, globs)
    key = next(iter(unclamped))
    for pt, rec in zip(points, values, strict=False):
        for n, v in {**defaults, **pt}.items():
            ws.var(n).setVal(v)
        rec["nll_unclamped"] = {key: unclamped[key].getVal()}
    result = {
        "parameters": info,
        "poi": [p.GetName() for p in mc.GetParametersOfInterest() or []],
        "global_observables": {g.GetName(): g.getVal() for g in globs},
        "sum_weights": data.sumEntries(),
        "n_channels": pdf.indexCat().size(),
        "interpolation": interpolation,
        "constraints": constraint_classes(ws),
        "points": values,
        "root_version": str(ROOT.gROOT.GetVersion()),
    }
    out.write_text(json.dumps(result))


def worker_export(top_xml: Path, target: Path) -> None:
    ROOT = _root()
    ws, _keep = build_workspace(top_xml)
    text = ROOT.RooJSONFactoryWSTool(ws).exportJSONtoString()
    target.write_text(str(text))


def worker_reimport(hs3: Path, points_json: Path, out: Path) -> None:
    """Import the HS3 file into a fresh workspace and evaluate the NLL at the same points."""
    ROOT = _root()
    ws = ROOT.RooWorkspace("w")
    ok = ROOT.RooJSONFactoryWSTool(ws).importJSON(str(hs3))
    _mc, pdf, data, globs = root_params(ws)
    nlls = make_nlls(pdf, data, globs)
    ref = json.loads(points_json.read_text())
    defaults = {n: v["value"] for n, v in ref["parameters"].items()}
    imported_defaults = {p.GetName(): p.getVal() for p in free_parameters(pdf, data, globs)}
    vals = []
    missing = sorted(n for n in defaults if not ws.var(n))
    for pt in ref["points"]:
        for n, v in {**defaults, **pt["set"]}.items():
            if ws.var(n):
                ws.var(n).setVal(v)
        vals.append({k: nll.getVal() for k, nll in nlls.items()})
    out.write_text(
        json.dumps(
            {
                "import_ok": bool(ok),
                "nll": vals,
                "missing_parameters": missing,
                "constraints": constraint_classes(ws),
                "global_observables": {g.GetName(): g.getVal() for g in globs},
                "imported_defaults": imported_defaults,
            }
        )
    )


# ----------------------------------------------------------------------------------------------
# driver
# ----------------------------------------------------------------------------------------------


def run_step(args: list[str], log: Path, timeout: float = 600) -> dict[str, Any]:
    t0 = time.time()
    with open(log, "w") as fh:
        try:
            proc = subprocess.run(
                [sys.executable, __file__, *args],
                stdout=fh,
                stderr=subprocess.STDOUT,
                timeout=timeout,
            )
            rc = proc.returncode
        except subprocess.TimeoutExpired:
            rc = "timeout"
    tail = log.read_text(errors="replace").splitlines()
    err = [
        ln
        for ln in tail
        if re.search(
            r"error|exception|segmentation|traceback|fatal|"
            r"\*\*\*",
            ln,
            re.I,
        )
    ]
    return {
        "rc": rc,
        "seconds": round(time.time() - t0, 2),
        "error_lines": err[-15:] if rc != 0 else [],
        "log_tail": tail[-20:] if rc != 0 else [],
    }


def compare(root_nll: list[float], pyhf_nll: list[float]) -> dict[str, Any]:
    r, p = np.asarray(root_nll), np.asarray(pyhf_nll)
    const = r - p
    d_r, d_p = 2 * (r - r[0]), 2 * (p - p[0])
    rel = np.abs(d_r[1:] - d_p[1:]) / np.maximum(np.abs(d_p[1:]), 1e-300)
    return {
        "constant_root_minus_pyhf": float(const[0]),
        "constant_spread": float(const.max() - const.min()),
        "max_rel_diff_2dnll": float(rel.max()) if rel.size else 0.0,
        "agree_2dnll_rel_1e-8": bool(rel.size and rel.max() <= 1e-8),
    }


def run_case(
    case: str, input_name: str, stat_config: tuple[float, str] | None, tmp: Path
) -> dict[str, Any]:
    spec_raw = json.loads((INPUTS / input_name).read_text())
    spec, dropped = prepare_spec(spec_raw)
    cdir = tmp / case
    top_xml = write_xml(spec, cdir, stat_config)
    entry: dict[str, Any] = {
        "input": f"tests/data/root_hf/inputs/{input_name}",
        "statErrorConfig_added": None
        if stat_config is None
        else {"RelErrorThreshold": stat_config[0], "ConstraintType": stat_config[1]},
        "dropped_unused_parameter_configs": dropped,
    }
    nll_json = cdir / "root_nll.json"
    entry["steps"] = {
        "nll": run_step(["--worker-nll", str(top_xml), case, str(nll_json)], cdir / "nll.log")
    }
    export_file = EXPORTS / f"{case}.json"
    export_tmp = cdir / "export.json"
    entry["steps"]["export"] = run_step(
        ["--worker-export", str(top_xml), str(export_tmp)], cdir / "export.log"
    )
    if entry["steps"]["export"]["rc"] == 0 and export_tmp.exists():
        shutil.copyfile(export_tmp, export_file)
        entry["hs3_file"] = f"tests/data/root_hf/{case}.json"
    else:
        entry["hs3_file"] = None
        export_file.unlink(missing_ok=True)
    if not nll_json.exists():
        return entry
    root = json.loads(nll_json.read_text())
    entry.update(
        {
            k: root[k]
            for k in (
                "root_version",
                "poi",
                "n_channels",
                "sum_weights",
                "interpolation",
                "constraints",
                "global_observables",
            )
        }
    )
    entry["root_parameters"] = root["parameters"]

    # re-import of the exported HS3 file
    if entry["hs3_file"]:
        re_json = cdir / "reimport.json"
        entry["steps"]["reimport"] = run_step(
            ["--worker-reimport", str(export_file), str(nll_json), str(re_json)],
            cdir / "reimport.log",
        )
        reimp = json.loads(re_json.read_text()) if re_json.exists() else None
    else:
        reimp = None

    # pyhf at the same points
    model, data, init, note = pyhf_model(spec_raw)
    name_map = root_to_pyhf_names(spec_raw, model)
    entry["pyhf_note"] = note
    entry["root_to_pyhf"] = name_map
    entry["root_parameters_without_pyhf"] = sorted(set(root["parameters"]) - set(name_map))
    entry["pyhf_parameters_without_root"] = sorted(
        {p for p in model.config.par_order}
        - {v[0] for k, v in name_map.items() if k in root["parameters"]}
    )
    points = []
    for i, pt in enumerate(root["points"]):
        full = {n: v["value"] for n, v in root["parameters"].items()} | pt["set"]
        pars, named = pyhf_point(model, init, name_map, full)
        rec = {
            "set": pt["set"],
            "nll": pt["nll"],
            "nll_unclamped": pt["nll_unclamped"],
            "expected": pt["expected"],
            "pyhf_pars": named,
            "pyhf_nll": float(-np.asarray(model.logpdf(pars, data)).item()),
            "pyhf_expected": pyhf_expected(model, pars),
        }
        if reimp is not None and i < len(reimp["nll"]):
            rec["nll_reimported_hs3"] = reimp["nll"][i]
        points.append(rec)
    entry["points"] = points
    nll_keys = list(points[0]["nll"])
    pyhf_vals = [p["pyhf_nll"] for p in points]
    entry["root_vs_pyhf"] = {k: compare([p["nll"][k] for p in points], pyhf_vals) for k in nll_keys}
    entry["root_vs_pyhf"].update(
        {
            f"unclamped:{k}": compare([p["nll_unclamped"][k] for p in points], pyhf_vals)
            for k in points[0]["nll_unclamped"]
        }
    )
    if reimp is not None:
        entry["reimport"] = {k: v for k, v in reimp.items() if k != "nll"}
        entry["root_vs_pyhf"].update(
            {
                f"reimported_hs3:{k}": compare(
                    [p["nll_reimported_hs3"][k] for p in points], pyhf_vals
                )
                for k in reimp["nll"][0]
            }
        )
        entry["reimport"]["max_abs_diff_vs_original"] = {
            k: max(abs(p["nll_reimported_hs3"][k] - p["nll"][k]) for p in points)
            for k in reimp["nll"][0]
        }
    entry["max_abs_diff_expected_root_vs_pyhf"] = max(
        abs(a - b)
        for p in points
        for ch in p["expected"]
        for a, b in zip(p["expected"][ch], p["pyhf_expected"].get(ch, [math.nan]), strict=False)
    )
    return entry


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--worker-nll", nargs=3, metavar=("XML", "CASE", "OUT"))
    ap.add_argument("--worker-export", nargs=2, metavar=("XML", "OUT"))
    ap.add_argument("--worker-reimport", nargs=3, metavar=("HS3", "POINTS", "OUT"))
    ap.add_argument("--cases", nargs="*", help="only these cases (default: all)")
    ap.add_argument("--keep-tmp", action="store_true", help="keep the XML and logs")
    args = ap.parse_args()
    if args.worker_nll:
        worker_nll(Path(args.worker_nll[0]), args.worker_nll[1], Path(args.worker_nll[2]))
        return
    if args.worker_export:
        worker_export(Path(args.worker_export[0]), Path(args.worker_export[1]))
        return
    if args.worker_reimport:
        worker_reimport(*(Path(a) for a in args.worker_reimport))
        return

    import pyhf

    t0 = time.time()
    tmp = Path(tempfile.mkdtemp(prefix="root_hf_"))
    cases = [c for c in CASES if not args.cases or c[0] in args.cases]
    old = json.loads(OUTPUT.read_text())["cases"] if OUTPUT.exists() and args.cases else {}
    results: dict[str, Any] = dict(old)
    for case, inp, stat in cases:
        t1 = time.time()
        results[case] = run_case(case, inp, stat, tmp)
        print(
            f"{case}: {time.time() - t1:.1f}s",
            {k: v["rc"] for k, v in results[case]["steps"].items()},
            flush=True,
        )
    out = {
        "description": "ROOT 6.40 NLL of HistFactory workspaces built from pyhf JSON via pyhf's "
        "XML writer, and pyhf's -logpdf at the same points; see README.md",
        "generator": "tests/reference/root/make_root_hf_reference.py",
        "versions": {
            "root": json.loads(
                json.dumps(
                    next(
                        (r.get("root_version") for r in results.values() if r.get("root_version")),
                        None,
                    )
                )
            ),
            "pyhf": pyhf.__version__,
            "numpy": np.__version__,
        },
        "seed": SEED,
        "n_random_points": N_POINTS,
        "ranges": RANGES,
        "gamma_max_sigmas": GAMMA_SIGMAS,
        "nll_settings": "pdf.createNLL(obsData, GlobalObservables(mc.GetGlobalObservables()), "
        "Offset('none')) with the default EvalBackend and EvalBackend('legacy')",
        "cases": results,
    }
    OUTPUT.write_text(json.dumps(out, indent=1) + "\n")
    if not args.keep_tmp:
        shutil.rmtree(tmp)
    else:
        print("kept", tmp)
    print(f"wrote {OUTPUT.relative_to(REPO)} in {time.time() - t0:.1f}s")


if __name__ == "__main__":
    main()

"""ROOT 6.40: the HS3 file imported with ``RooJSONFactoryWSTool::importJSON``; the NLL from
``pdf.createNLL(data, GlobalObservables(...), Offset("none"))`` (RooFit's default CPU evaluation
backend); fits with ``RooMinimizer`` (Minuit2, Migrad, strategy 1); hypotest and limit with
RooStats' ``AsymptoticCalculator`` (one-sided, q~mu) and ``HypoTestInverter`` (CLs, 95% CL, its
automatic scan). ROOT has no compile step and no AD gradient on this path: those columns are n/a.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from timing import first_and_warm, steady

from . import NotAvailable


class _Root:
    """The imported workspace, its ModelConfig, data and NLL."""

    def __init__(self, path: str) -> None:
        import ROOT

        ROOT.gROOT.SetBatch(True)
        ROOT.RooMsgService.instance().setGlobalKillBelow(ROOT.RooFit.FATAL)
        ROOT.RooStats.AsymptoticCalculator.SetPrintLevel(-1)
        raw = json.loads(Path(path).read_text())
        analysis = raw["analyses"][0]
        configs = raw.get("misc", {}).get("ROOT_internal", {}).get("ModelConfigs", {})
        mc_name = configs.get(analysis["name"], {}).get("mcName", analysis["name"])
        pdf_name = configs.get(analysis["name"], {}).get("pdfName", "")
        lik = analysis["likelihood"]
        t0 = time.perf_counter()
        self.ws = ROOT.RooWorkspace("w")
        ROOT.RooJSONFactoryWSTool(self.ws).importJSON(path)
        self.mc = self.ws.obj(mc_name)
        self.pdf = self.mc.GetPdf()
        names = [lik.removeprefix(f"{pdf_name}_"), "obsData"]
        self.data = (
            next((self.ws.data(n) for n in names if self.ws.data(n)), None) or self.ws.allData()[0]
        )
        self.globs = self.mc.GetGlobalObservables() or ROOT.RooArgSet()
        self.nll = self.pdf.createNLL(
            self.data, ROOT.RooFit.GlobalObservables(self.globs), ROOT.RooFit.Offset("none")
        )
        self.build_s = time.perf_counter() - t0
        self.params = self.pdf.getParameters(self.data)
        self.floating = [
            p
            for p in self.params
            if not p.isConstant() and p.GetName() not in {g.GetName() for g in self.globs}
        ]
        self.init = self.params.snapshot()
        self.ROOT = ROOT

    def reset(self) -> None:
        self.params.assign(self.init)


def run(task: str, files: dict[str, str], opts: dict[str, Any]) -> dict[str, Any]:
    r = _Root(files["root"])
    out: dict[str, Any] = {"build_s": r.build_s, "n_params": len(r.floating)}
    reps, max_s = opts["inference_repeats"], opts["inference_max_time"]
    if task == "eval":
        out.update(_eval(r, opts))
    elif task == "fit":

        def fit() -> float:
            r.reset()
            m = r.ROOT.RooMinimizer(r.nll)
            m.setPrintLevel(-1)
            m.setStrategy(1)
            m.minimize("Minuit2", "Migrad")
            return 2.0 * float(r.nll.getVal())

        first, warm, twice_nll = first_and_warm(fit, reps, max_s)
        out.update(first_s=first, warm_s=warm, twice_nll=twice_nll)
    elif task in ("hypotest", "limit"):
        if r.mc.GetParametersOfInterest() is None or r.mc.GetParametersOfInterest().getSize() == 0:
            raise NotAvailable("no parameter of interest in the ModelConfig")
        f = (lambda: _hypotest(r)) if task == "hypotest" else (lambda: _limit(r))
        first, warm, value = first_and_warm(f, reps, max_s)
        out.update(
            first_s=first,
            warm_s=warm,
            **{"cls_obs" if task == "hypotest" else "upper_limit": value},
        )
    else:
        raise ValueError(f"unknown task {task}")
    return out


def _eval(r: _Root, opts: dict[str, Any]) -> dict[str, Any]:
    # two parameter points, assigned alternately, so that RooFit cannot answer from its cache
    other = r.params.snapshot()
    for p in other:
        if not p.isConstant() and p.getVal() != 0.0:
            p.setVal(p.getVal() * (1.0 + 1e-6))
        elif not p.isConstant():
            p.setVal(1e-6)
    state = [0]

    def nll() -> float:
        state[0] ^= 1
        r.params.assign(other if state[0] else r.init)
        return float(r.nll.getVal())

    t = steady({"nll": nll}, opts["repeats"], opts["max_time"])
    r.reset()
    return {"nll_s": t["nll"], "nll_init": float(r.nll.getVal())}


def _calculator(r: _Root) -> Any:
    ROOT = r.ROOT
    r.reset()
    poi = r.mc.GetParametersOfInterest().first()
    sb = r.mc.Clone("sb_model")
    poi.setVal(1.0)
    sb.SetSnapshot(ROOT.RooArgSet(poi))
    b = r.mc.Clone("b_model")
    poi.setVal(0.0)
    b.SetSnapshot(ROOT.RooArgSet(poi))
    calc = ROOT.RooStats.AsymptoticCalculator(r.data, b, sb)
    calc.SetOneSided(True)
    calc.SetQTilde(True)
    return calc


def _hypotest(r: _Root) -> float:
    result = _calculator(r).GetHypoTest()
    result.SetBackgroundAsAlt(True)  # CLs = CL_{s+b} / CL_b with the b-only model as the alternate
    return float(result.CLs())


def _limit(r: _Root) -> float:
    calc = _calculator(r)  # a name keeps it alive: the inverter holds a bare pointer to it
    inverter = r.ROOT.RooStats.HypoTestInverter(calc)
    inverter.SetConfidenceLevel(0.95)
    inverter.UseCLs(True)
    inverter.SetVerbose(False)
    interval = inverter.GetInterval()
    return float(interval.UpperLimit())

"""ROOT 6.40 asymptotic CLs on unbinned HS3 models (reference for hs3jax's Asimov events).

For each file in ``tests/data/unbinned/`` (extended Gaussian + exponential + generic_dist
mixtures written by ``benchmarks/unbinned.py`` and ``hs3jax.dump(..., for_root=True)``), ROOT
imports the HS3 file (``RooJSONFactoryWSTool``) and RooStats' ``AsymptoticCalculator`` (one-sided
q~mu, null = s+b at mu = 1, 1.5 and 2, alternate = b-only at mu = 0) computes the observed CLs, the
Asimov data set (ROOT's ``FillBins``: 100 bins per
observable, weight N_exp p(c) dV), and the expected CLs band at -2..2 sigma.

Run from the repository root with ROOT 6.40 (``pip install root==0.1a12``):

    python3 tests/reference/root/make_unbinned_asymptotics_reference.py

Writes ``tests/reference/root/unbinned_asymptotics_reference.json`` (about 20 s).
"""

from __future__ import annotations

import json
import platform
from pathlib import Path

import ROOT

REPO = Path(__file__).resolve().parents[3]
CASES = sorted((REPO / "tests" / "data" / "unbinned").glob("*.json"))
OUT = Path(__file__).with_name("unbinned_asymptotics_reference.json")


def hypotest(path: Path, mu: float) -> dict[str, object]:
    ws = ROOT.RooWorkspace("w")
    ROOT.RooJSONFactoryWSTool(ws).importJSON(str(path))
    raw = json.loads(path.read_text())
    analysis = raw["analyses"][0]
    configs = raw.get("misc", {}).get("ROOT_internal", {}).get("ModelConfigs", {})
    mc = ws.obj(configs.get(analysis["name"], {}).get("mcName", analysis["name"]))
    data = next(iter(ws.allData()))
    poi = mc.GetParametersOfInterest().first()
    sb = mc.Clone("sb_model")
    poi.setVal(mu)
    sb.SetSnapshot(ROOT.RooArgSet(poi))
    b = mc.Clone("b_model")
    poi.setVal(0.0)
    b.SetSnapshot(ROOT.RooArgSet(poi))
    calc = ROOT.RooStats.AsymptoticCalculator(data, b, sb)
    calc.SetOneSided(True)
    calc.SetQTilde(True)
    result = calc.GetHypoTest()
    result.SetBackgroundAsAlt(True)
    expected = [
        float(
            ROOT.RooStats.AsymptoticCalculator.GetExpectedPValues(
                result.NullPValue(), result.AlternatePValue(), n, True
            )
        )
        for n in (-2, -1, 0, 1, 2)
    ]
    return {
        "file": str(path.relative_to(REPO)),
        "poi_value": mu,
        "CLs_obs": float(result.CLs()),
        "CLsb": float(result.CLsplusb()),
        "CLb": float(result.CLb()),
        "CLs_exp_nsigma_-2..2": expected,
    }


def main() -> None:
    ROOT.gROOT.SetBatch(True)
    ROOT.RooMsgService.instance().setGlobalKillBelow(ROOT.RooFit.WARNING)
    ROOT.RooStats.AsymptoticCalculator.SetPrintLevel(-1)
    # RooStats' fits stop at Minuit's default tolerance (EDM ~ 1e-5 after its scaling), which
    # moves CLs in the fourth digit; a tight tolerance and strategy 2 make ROOT's numbers a
    # reference to ~1e-7
    ROOT.Math.MinimizerOptions.SetDefaultMinimizer("Minuit2")
    ROOT.Math.MinimizerOptions.SetDefaultTolerance(1e-9)
    ROOT.Math.MinimizerOptions.SetDefaultStrategy(2)
    cases = [hypotest(p, mu) for p in CASES for mu in (1.0, 1.5, 2.0)]
    OUT.write_text(
        json.dumps(
            {
                "generator": "tests/reference/root/make_unbinned_asymptotics_reference.py",
                "root_version": ROOT.gROOT.GetVersion(),
                "python_version": platform.python_version(),
                "cases": cases,
            },
            indent=1,
        )
        + "\n"
    )
    print(json.dumps(cases, indent=1))


if __name__ == "__main__":
    main()

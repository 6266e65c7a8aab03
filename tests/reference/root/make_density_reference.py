#!/usr/bin/env python3
"""ROOT 6.40 reference values for bin-integrated binned data and ``integral`` over a named range.

One command from the repository root (needs ROOT 6.40, ``pip install root==0.1a12``)::

    python3 tests/reference/root/make_density_reference.py     # ~20 s

Writes ``tests/reference/root/density_reference.json`` with:

``integral_domain``
    A ``RooGaussian`` g(x | mu, sigma), x in [-5, 5] with a named range ``sig`` = [-1, 2], and
    a 2-D product g(x) g2(y | my, sy), y in [-3, 4] with ``sig`` = [0, 1.5] on y. Integrals made
    by ``createIntegral(vars, NormSet(vars), Range("sig"))`` (and one over the full range) are
    imported in the workspace; ``document`` is ``RooJSONFactoryWSTool.exportJSONtoString()``
    unchanged; ``points`` hold (mu, sigma, my, sy) and every integral's ``getVal()``, both in
    the original workspace (``root``) and after ROOT re-imports its own export
    (``root_reimported``).

``integrate_bins_1d``
    A ``RooGaussian`` on a ``RooDataHist`` over irregular bins (``edges``, ``counts``):
    ``createNLL(data, IntegrateBins(1e-12), Offset("none"))`` (ROOT wraps the pdf in a
    ``RooBinSamplingPdf``: the bin average (1/V_b) ∫_b p) at ``points``. It differs from
    hs3jax's ``binned_density="integrated"`` NLL (−Σ n_b ln ∫_b p) by the constant
    Σ n_b ln V_b, so tests compare NLL differences. ``nll_bin_centres`` is the NLL without
    ``IntegrateBins`` (ROOT's default: density at the bin centres).

``integrate_bins_2d``
    The same request on a 2-D ``RooDataHist`` (product of two Gaussians): ROOT 6.40 prints
    "Integration over bins was requested, but this is currently only implemented for 1-D fits."
    and evaluates at the bin centres; ``error`` records the message, ``nll_integrate_bins`` and
    ``nll_bin_centres`` show the two NLLs are equal. ROOT therefore has no 2-D bin-integrated
    reference; the 2-D tests use scipy's ``dblquad``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "density_reference.json"


def _integral_domain() -> dict[str, Any]:
    import ROOT

    ws = ROOT.RooWorkspace("w")
    ws.factory("Gaussian::g(x[-5,5],mu[0.3,-1,1],sigma[1.2,0.1,3])")
    ws.factory("Gaussian::g2(y[-3,4],my[0.5,-2,2],sy[0.9,0.1,3])")
    ws.factory("PROD::gxy(g,g2)")
    x, y = ws.var("x"), ws.var("y")
    x.setRange("sig", -1.0, 2.0)
    y.setRange("sig", 0.0, 1.5)
    xs, xys = ROOT.RooArgSet(x), ROOT.RooArgSet(x, y)
    made = {
        "int_sig": ws.pdf("g").createIntegral(xs, xs, "sig"),
        "int_full_norm": ws.pdf("g").createIntegral(xs, xs),
        "int_xy_sig": ws.pdf("gxy").createIntegral(xys, xys, "sig"),
    }
    for name, integral in made.items():
        integral.SetName(name)
        ws.Import(integral, ROOT.RooFit.RecycleConflictNodes(), ROOT.RooFit.Silence())
    text = str(ROOT.RooJSONFactoryWSTool(ws).exportJSONtoString())
    again = ROOT.RooWorkspace("again")
    ROOT.RooJSONFactoryWSTool(again).importJSONfromString(text)
    settings = [
        {"mu": 0.3, "sigma": 1.2, "my": 0.5, "sy": 0.9},
        {"mu": -0.4, "sigma": 0.8, "my": 1.1, "sy": 1.6},
        {"mu": 0.9, "sigma": 2.1, "my": -0.7, "sy": 0.4},
    ]
    points = []
    for setting in settings:
        row: dict[str, Any] = {"parameters": setting, "root": {}, "root_reimported": {}}
        for workspace, key in ((ws, "root"), (again, "root_reimported")):
            for name, value in setting.items():
                workspace.var(name).setVal(value)
            for name in made:
                row[key][name] = workspace.function(name).getVal()
        points.append(row)
    return {"document": json.loads(text), "points": points}


def _integrate_bins_1d() -> dict[str, Any]:
    import numpy as np
    import ROOT

    edges = [-4.0, -2.5, -1.0, -0.2, 0.5, 1.5, 3.0, 5.0]
    counts = [2.0, 9.0, 18.0, 21.0, 25.0, 14.0, 4.0]
    x = ROOT.RooRealVar("x", "x", edges[0], edges[-1])
    x.setBinning(ROOT.RooBinning(len(edges) - 1, np.asarray(edges)))
    mu = ROOT.RooRealVar("mu", "mu", 0.2, -3, 3)
    sigma = ROOT.RooRealVar("sigma", "sigma", 1.3, 0.1, 5)
    pdf = ROOT.RooGaussian("g", "g", x, mu, sigma)
    data = ROOT.RooDataHist("d", "d", ROOT.RooArgSet(x))
    for i, n in enumerate(counts):
        x.setVal(0.5 * (edges[i] + edges[i + 1]))
        data.set(ROOT.RooArgSet(x), n)
    integrated = pdf.createNLL(data, ROOT.RooFit.IntegrateBins(1e-12), ROOT.RooFit.Offset("none"))
    centres = pdf.createNLL(data, ROOT.RooFit.Offset("none"))
    points = []
    for m, s in [(0.2, 1.3), (-0.5, 0.9), (0.8, 2.2)]:
        mu.setVal(m)
        sigma.setVal(s)
        points.append(
            {
                "parameters": {"mu": m, "sigma": s},
                "nll_integrate_bins": integrated.getVal(),
                "nll_bin_centres": centres.getVal(),
            }
        )
    return {"edges": edges, "counts": counts, "points": points}


def _integrate_bins_2d() -> dict[str, Any]:
    import ROOT

    x = ROOT.RooRealVar("x", "x", -3, 4)
    y = ROOT.RooRealVar("y", "y", -2, 5)
    x.setBins(4)
    y.setBins(3)
    mx = ROOT.RooRealVar("mx", "mx", 0.4, -2, 2)
    gx = ROOT.RooGaussian("gx", "gx", x, mx, ROOT.RooFit.RooConst(1.1))
    gy = ROOT.RooGaussian("gy", "gy", y, ROOT.RooFit.RooConst(1.0), ROOT.RooFit.RooConst(1.5))
    pdf = ROOT.RooProdPdf("p", "p", ROOT.RooArgList(gx, gy))
    data = ROOT.RooDataHist("d", "d", ROOT.RooArgSet(x, y))
    counts = [3, 7, 2, 9, 15, 4, 6, 11, 5, 1, 3, 2]
    for k, n in enumerate(counts):
        x.setBin(k // 3)
        y.setBin(k % 3)
        data.set(ROOT.RooArgSet(x, y), n)
    integrated = pdf.createNLL(data, ROOT.RooFit.IntegrateBins(1e-12), ROOT.RooFit.Offset("none"))
    centres = pdf.createNLL(data, ROOT.RooFit.Offset("none"))
    return {
        "error": "Integration over bins was requested, but this is currently only implemented "
        "for 1-D fits.",
        "nll_integrate_bins": integrated.getVal(),
        "nll_bin_centres": centres.getVal(),
    }


def main() -> int:
    import ROOT

    ROOT.RooMsgService.instance().setGlobalKillBelow(ROOT.RooFit.WARNING)
    out = {
        "root_version": str(ROOT.gROOT.GetVersion()),
        "integral_domain": _integral_domain(),
        "integrate_bins_1d": _integrate_bins_1d(),
        "integrate_bins_2d": _integrate_bins_2d(),
    }
    OUT.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {OUT}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

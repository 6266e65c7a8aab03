#!/usr/bin/env python3
"""Regenerate the project's own ROOT 6.40 corpus of general (non-HistFactory) HS3 nodes.

One command (needs ROOT 6.40, ``pip install root==0.1a12``)::

    python3 tests/reference/root/make_node_corpus.py [CASE ...]

For every case in ``CASES`` (different models from the shared corpus in tests/data/conformance):

1. build a RooWorkspace: the model ``model`` in observables ``OBS``, data generated from it at
   the default parameter values with ``RooRandom`` seed 4321 (unbinned, 200 events; one case
   weighted with w_i = 0.5 + (i mod 11)/10; binned where the case says so), wrapped as the
   shared corpus does: ``SIMUL::simPdf(channel[ch1])``, combined dataset ``obsData`` and a
   ModelConfig ``ModelConfig`` (first free parameter the POI, the rest nuisance parameters,
   global observables where the case has them);
2. ``RooJSONFactoryWSTool(ws).exportJSONtoString()`` saved unchanged to
   ``tests/data/root_nodes/<case>.json``;
3. at three parameter points (``default``; ``shift1`` / ``shift2`` move every free parameter by
   about +0.5 / -0.3 of a plausible uncertainty, listed in the case): ROOT's NLL
   ``simPdf.createNLL(obsData, GlobalObservables(...), Offset('none'), EvalBackend(b))`` for the
   default backend (``cpu_offset_none``) and ``legacy`` (``legacy_offset_none``), every
   variable's value (``all_values``) and normalised densities ``model.getVal(normSet=OBS)`` at
   four points of the observables (``pdf_evals``), plus the unnormalised values.

Each case runs in its own subprocess (ROOT can crash); a crash or a refused export is recorded,
not fatal.  Everything goes to ``tests/reference/root/node_corpus_reference.json`` in the layout
of ``tests/data/conformance/root/*.json`` (``values[k].nll.cpu_offset_none``,
``values[k].all_values``, ``values[k].pdf_evals[j]`` with ``pdf``/``obs``/``x``/``value``).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
EXPORTS = REPO / "tests" / "data" / "root_nodes"
OUTPUT = HERE / "node_corpus_reference.json"
SEED = 4321
N_EVENTS = 200

# name -> description, shifts {param: (shift1, shift2)}, pdf eval points (one list per obs)
CASES: dict[str, dict[str, Any]] = {
    "addpdf_ext_formulamean": {
        "description": "SUM(nsig*Gaussian(x, mean=expr('m0 + 0.5*dm'), sigma) + nbkg*Exponential"
        "(x, lam)), extended; dm constant",
        "shifts": {
            "m0": (0.05, -0.03),
            "sigma": (0.04, -0.025),
            "lam": (0.02, -0.012),
            "nsig": (6.0, -3.6),
            "nbkg": (6.0, -3.6),
        },
        "points": [[0.5, 3.9, 4.25, 9.5]],
    },
    "crystalball_ds": {
        "description": "RooCrystalBall double-sided with separate sigmaL/sigmaR, alphaL/nL, "
        "alphaR/nR (n's constant)",
        "shifts": {
            "x0": (0.05, -0.03),
            "sL": (0.05, -0.03),
            "sR": (0.08, -0.05),
            "aL": (0.1, -0.06),
            "aR": (0.15, -0.09),
        },
        "points": [[-6.0, -1.0, 0.3, 5.0]],
    },
    "gamma_weighted": {
        "description": "RooGamma(x; gamma, beta, mu=0 constant) on weighted unbinned data "
        "(w_i = 0.5 + (i mod 11)/10)",
        "weighted": True,
        "shifts": {"gamma": (0.15, -0.09), "beta": (0.08, -0.05)},
        "points": [[0.3, 2.0, 5.5, 15.0]],
    },
    "lognormal_standard": {
        "description": "RooLognormal in the standard parametrisation (mu, sigma of ln x)",
        "shifts": {"mu": (0.03, -0.02), "sig": (0.025, -0.015)},
        "points": [[0.2, 1.5, 3.0, 12.0]],
    },
    "bifurgauss_mixture": {
        "description": "SUM(f*BifurGauss(x; m1, sL, sR) + Gaussian(x; m2, s2)), fraction f",
        "shifts": {
            "f": (0.03, -0.02),
            "m1": (0.08, -0.05),
            "sL": (0.06, -0.04),
            "sR": (0.1, -0.06),
            "m2": (0.1, -0.06),
        },
        "points": [[-4.0, -1.2, 0.5, 3.5]],
    },
    "prod_gauss_cheby_2d": {
        "description": "PROD(Gaussian(x; mx, sx), Chebychev(y; {c0, c1})), 2-D unbinned",
        "shifts": {
            "mx": (0.05, -0.03),
            "sx": (0.04, -0.02),
            "c0": (0.05, -0.03),
            "c1": (0.05, -0.03),
        },
        "points": [[-2.0, 0.1, 0.8, 3.0], [-0.9, 0.0, 0.45, 0.95]],
    },
    "poisson_rounding": {
        "description": "RooPoisson(x; mean) with noRounding=false (x floored), x in [0, 30]",
        "shifts": {"mean": (0.12, -0.07)},
        "points": [[0.0, 3.0, 4.5, 9.7]],
    },
    "multivargauss_2d": {
        "description": "RooMultiVarGaussian in (x, y), constant covariance [[1, 0.4], [0.4, 0.5]]",
        "shifts": {"mux": (0.04, -0.025), "muy": (0.03, -0.02)},
        "points": [[-1.0, 0.0, 0.5, 2.0], [0.5, -0.3, 0.2, 1.0]],
    },
    "realsumpdf_nonuniform": {
        "description": "RooRealSumPdf(c1*RooHistFunc1 + c2*RooHistFunc2), edges [0,1,1.5,3,5], "
        "extended; binned data with the same edges",
        "binned": True,
        "shifts": {"c1": (0.06, -0.04), "c2": (0.08, -0.05)},
        "points": [[0.5, 1.2, 2.0, 4.0]],
    },
    "argus_p07": {
        "description": "RooArgusBG(m; m0=5.291 constant, c, p=0.7)",
        "shifts": {"c": (2.0, -1.2), "p": (0.1, -0.06)},
        "points": [[5.2, 5.24, 5.27, 5.289]],
    },
    "polynomial_order0": {
        "description": "RooPolynomial(x; {a0, a1, a2}, lowestOrder=0), a0 constant",
        "shifts": {"a1": (0.03, -0.02), "a2": (0.005, -0.003)},
        "points": [[-0.9, 0.0, 1.3, 1.95]],
    },
    "projected_mvg": {
        "description": "RooProjectedPdf (PROJ) of a RooMultiVarGaussian in (x, y), covariance "
        "[[1, 0.4], [0.4, 0.5]], integrated over y; ranges [-8, 8] (truncation < 1e-14)",
        "shifts": {"mux": (0.04, -0.025), "muy": (0.03, -0.02)},
        "points": [[-1.0, 0.0, 0.5, 2.0]],
    },
    "spline_mean_width": {
        "description": "Gaussian(x; mean = RooSpline order 5 of m, sigma = RooSpline order 3 "
        "with logx and logy of k); m moves outside the knots (extrapolation) at shift1/shift2; "
        "ROOT evaluates a logx spline at exp(k)",
        "shifts": {"m": (4.2, -2.8), "k": (0.4, -0.7)},
        "points": [[-3.0, 0.5, 2.0, 6.0]],
    },
    "crystalball_onetail_negative": {
        "description": "RooCrystalBall single-tail constructor (x0, sigmaLR, alpha < 0, n): the "
        "tail moves to the high side; exported without alpha_R/n_R",
        "shifts": {"x0": (0.05, -0.03), "s": (0.05, -0.03), "a": (0.1, -0.06)},
        "points": [[-6.0, -1.0, 0.3, 5.0]],
    },
    "crystalball_shared_sigma": {
        "description": "RooCrystalBall(x0, sigmaLR, alphaL, nL, alphaR, nR): one sigma for both "
        "sides (n's free)",
        "shifts": {
            "x0": (0.05, -0.03),
            "s": (0.05, -0.03),
            "aL": (0.1, -0.06),
            "nL": (0.2, -0.12),
            "aR": (0.15, -0.09),
            "nR": (0.3, -0.2),
        },
        "points": [[-6.0, -1.0, 0.3, 5.0]],
    },
    "step_realsumpdf": {
        "description": "RooRealSumPdf(c * ParamHistFunc(x; g0..g3)), edges [0, 1, 1.5, 3, 5]: the "
        "ParamHistFunc is exported as a step function; g0 constant",
        "shifts": {"g1": (0.1, -0.06), "g2": (0.08, -0.05), "g3": (0.05, -0.03)},
        "points": [[0.5, 1.2, 2.0, 4.0]],
    },
    "decay_addmodel_doublesided": {
        "description": "RooDecay(t; tau, RooAddModel(f*RooGaussModel(mean m, sigma s) + "
        "RooTruthModel), DoubleSided): a mixture of resolution models, Gaussian mean != 0",
        "shifts": {
            "tau": (0.1, -0.06),
            "m": (0.05, -0.03),
            "s": (0.04, -0.025),
            "f": (0.05, -0.03),
        },
        "points": [[-2.0, -0.1, 0.3, 5.0]],
    },
    "decay_gauss_doublesided": {
        "description": "RooDecay(t; tau, RooGaussModel(mean m != 0, sigma s), DoubleSided)",
        "shifts": {"tau": (0.1, -0.06), "m": (0.05, -0.03), "s": (0.04, -0.025)},
        "points": [[-2.0, -0.1, 0.3, 5.0]],
    },
    "gauss_constrained_mean": {
        "description": "PROD(Gaussian(x; mu, sigma), Gaussian(mu0; mu, 0.2)), mu0 = 1 global "
        "observable (constraint in a product_dist)",
        "globs": ["mu0"],
        "shifts": {"mu": (0.05, -0.03), "sigma": (0.04, -0.02)},
        "points": [[-2.0, 0.5, 1.1, 3.5]],
        "pdf_name": "gx",
    },
}


# ----------------------------------------------------------------------------------------------
# ROOT side (one subprocess per case)
# ----------------------------------------------------------------------------------------------


def _root() -> Any:
    import ROOT

    ROOT.gROOT.SetBatch(True)
    ROOT.RooMsgService.instance().setGlobalKillBelow(ROOT.RooFit.WARNING)
    return ROOT


def build_model(ROOT: Any, ws: Any, case: str) -> list[str]:
    """Put ``model`` into ``ws``; return the observable names."""
    f = ws.factory
    if case == "addpdf_ext_formulamean":
        f("expr::meanf('m0 + 0.5*dm', m0[4, 2, 6], dm[0.3])")
        f("Gaussian::sig(x[0, 10], meanf, sigma[0.8, 0.1, 3])")
        f("Exponential::bkg(x, lam[-0.3, -2, 0])")
        f("SUM::model(nsig[80, 0, 500]*sig, nbkg[120, 0, 500]*bkg)")
        return ["x"]
    if case == "crystalball_ds":
        f("x[-10, 10]")
        for spec in (
            "x0[0.2, -2, 2]",
            "sL[1, 0.3, 3]",
            "sR[1.5, 0.3, 3]",
            "aL[1.2, 0.2, 5]",
            "nL[3]",
            "aR[2, 0.2, 5]",
            "nR[5]",
        ):
            f(spec)
        v = ws.var
        ws.Import(
            ROOT.RooCrystalBall(
                "model",
                "model",
                v("x"),
                v("x0"),
                v("sL"),
                v("sR"),
                v("aL"),
                v("nL"),
                v("aR"),
                v("nR"),
            )
        )
        return ["x"]
    if case == "gamma_weighted":
        f("Gamma::model(x[0, 20], gamma[3, 1, 10], beta[1.5, 0.5, 5], mu[0])")
        return ["x"]
    if case == "lognormal_standard":
        f("x[0.01, 20]")
        f("mu[0.8, -1, 2]")
        f("sig[0.5, 0.1, 2]")
        v = ws.var
        ws.Import(ROOT.RooLognormal("model", "model", v("x"), v("mu"), v("sig"), True))
        return ["x"]
    if case == "bifurgauss_mixture":
        f("BifurGauss::bg1(x[-6, 6], m1[-1, -3, 2], sL[0.6, 0.1, 3], sR[1.2, 0.1, 3])")
        f("Gaussian::g2(x, m2[1.5, -1, 4], s2[0.7])")
        f("SUM::model(f[0.45, 0, 1]*bg1, g2)")
        return ["x"]
    if case == "prod_gauss_cheby_2d":
        f("Gaussian::gx(x[-5, 5], mx[0.3, -2, 2], sx[1.1, 0.2, 3])")
        f("Chebychev::cy(y[-1, 1], {c0[0.3, -1, 1], c1[-0.2, -1, 1]})")
        f("PROD::model(gx, cy)")
        return ["x", "y"]
    if case == "poisson_rounding":
        f("x[0, 30]")
        f("mean[4.2, 0.5, 20]")
        ws.Import(ROOT.RooPoisson("model", "model", ws.var("x"), ws.var("mean"), False))
        return ["x"]
    if case == "multivargauss_2d":
        f("x[-6, 6]")
        f("y[-5, 5]")
        f("mux[0.2, -2, 2]")
        f("muy[-0.1, -2, 2]")
        cov = ROOT.TMatrixDSym(2)
        cov[0, 0], cov[0, 1], cov[1, 0], cov[1, 1] = 1.0, 0.4, 0.4, 0.5
        v = ws.var
        ws.Import(
            ROOT.RooMultiVarGaussian(
                "model",
                "model",
                ROOT.RooArgList(v("x"), v("y")),
                ROOT.RooArgList(v("mux"), v("muy")),
                cov,
            )
        )
        return ["x", "y"]
    if case == "realsumpdf_nonuniform":
        import array

        f("x[0, 5]")
        x = ws.var("x")
        edges = array.array("d", [0.0, 1.0, 1.5, 3.0, 5.0])
        x.setBinning(ROOT.RooBinning(4, edges))
        keep = []
        for name, contents in (("h1", [10.0, 20.0, 30.0, 15.0]), ("h2", [25.0, 10.0, 8.0, 5.0])):
            dh = ROOT.RooDataHist(name + "_dh", name, ROOT.RooArgSet(x))
            for i, c in enumerate(contents):
                dh.get(i)
                dh.set(i, c, -1)
            keep.append(dh)
            ws.Import(ROOT.RooHistFunc(name, name, ROOT.RooArgSet(x), dh))
        f("c1[1.0, 0, 5]")
        f("c2[1.2, 0, 5]")
        ws.Import(
            ROOT.RooRealSumPdf(
                "model",
                "model",
                ROOT.RooArgList(ws.function("h1"), ws.function("h2")),
                ROOT.RooArgList(ws.var("c1"), ws.var("c2")),
                True,
            )
        )
        return ["x"]
    if case == "argus_p07":
        f("ArgusBG::model(m[5.20, 5.29], m0[5.291], c[-20, -100, -1], p[0.7, 0.1, 2])")
        return ["m"]
    if case == "polynomial_order0":
        f("x[-1, 2]")
        f("a0[1.0]")
        f("a1[0.3, -1, 1]")
        f("a2[0.05, -0.1, 0.3]")
        v = ws.var
        ws.Import(
            ROOT.RooPolynomial(
                "model", "model", v("x"), ROOT.RooArgList(v("a0"), v("a1"), v("a2")), 0
            )
        )
        return ["x"]
    if case == "projected_mvg":
        f("x[-8, 8]")
        f("y[-8, 8]")
        f("mux[0.2, -2, 2]")
        f("muy[-0.1, -2, 2]")
        cov = ROOT.TMatrixDSym(2)
        cov[0, 0], cov[0, 1], cov[1, 0], cov[1, 1] = 1.0, 0.4, 0.4, 0.5
        v = ws.var
        ws.Import(
            ROOT.RooMultiVarGaussian(
                "mvg",
                "mvg",
                ROOT.RooArgList(v("x"), v("y")),
                ROOT.RooArgList(v("mux"), v("muy")),
                cov,
            )
        )
        f("PROJ::model(mvg, y)")
        return ["x"]
    if case == "spline_mean_width":
        import array

        f("x[-10, 10]")
        f("m[2.3, -3, 9]")
        f("k[0.2, -1, 1]")
        knots = array.array("d", [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
        heights = array.array("d", [1.0, 2.0, 1.5, 3.0, 2.5, 2.0, 4.0])
        mean = ROOT.RooSpline("mspline", "mspline", ws.var("m"), ROOT.TGraph(7, knots, heights), 5)
        # RooSpline::evaluate with logx evaluates the spline (knots ln x0) at exp(k)
        kx = array.array("d", [1.5, 2.0, 3.0, 5.0, 8.0])
        ky = array.array("d", [0.8, 1.3, 0.9, 1.5, 1.2])
        width = ROOT.RooSpline(
            "wspline", "wspline", ws.var("k"), ROOT.TGraph(5, kx, ky), 3, True, True
        )
        ws.Import(ROOT.RooGaussian("model", "model", ws.var("x"), mean, width))
        return ["x"]
    if case == "crystalball_onetail_negative":
        f("x[-10, 10]")
        f("x0[0.2, -2, 2]")
        f("s[1.1, 0.3, 3]")
        f("a[-1.3, -5, -0.2]")
        f("n[2.5]")
        v = ws.var
        ws.Import(ROOT.RooCrystalBall("model", "model", v("x"), v("x0"), v("s"), v("a"), v("n")))
        return ["x"]
    if case == "crystalball_shared_sigma":
        f("x[-10, 10]")
        for spec in ("x0[0.2, -2, 2]", "s[1.2, 0.3, 3]", "aL[1.1, 0.2, 5]", "nL[2.5, 1.1, 10]"):
            f(spec)
        for spec in ("aR[1.7, 0.2, 5]", "nR[4, 1.1, 10]"):
            f(spec)
        v = ws.var
        ws.Import(
            ROOT.RooCrystalBall(
                "model", "model", v("x"), v("x0"), v("s"), v("aL"), v("nL"), v("aR"), v("nR")
            )
        )
        return ["x"]
    if case == "step_realsumpdf":
        import array

        f("x[0, 5]")
        x = ws.var("x")
        edges = array.array("d", [0.0, 1.0, 1.5, 3.0, 5.0])
        x.setBinning(ROOT.RooBinning(4, edges))
        gammas = ROOT.RooArgList()
        for i, value in enumerate((1.0, 1.4, 0.8, 0.5)):
            f(f"g{i}[{value}, 0, 5]")
            gammas.add(ws.var(f"g{i}"))
        ws.var("g0").setConstant(True)
        ws.Import(ROOT.ParamHistFunc("step", "step", ROOT.RooArgList(x), gammas))
        f("c[1.0]")
        ws.Import(
            ROOT.RooRealSumPdf(
                "model",
                "model",
                ROOT.RooArgList(ws.function("step")),
                ROOT.RooArgList(ws.var("c")),
                False,
            )
        )
        return ["x"]
    if case == "decay_addmodel_doublesided":
        f("t[-3, 8]")
        f("tau[1.3, 0.3, 5]")
        f("m[0.2, -1, 1]")
        f("s[0.35, 0.1, 2]")
        f("f[0.7, 0, 1]")
        v = ws.var
        gm = ROOT.RooGaussModel("gm", "gm", v("t"), v("m"), v("s"))
        tm = ROOT.RooTruthModel("tm", "tm", v("t"))
        am = ROOT.RooAddModel("am", "am", ROOT.RooArgList(gm, tm), ROOT.RooArgList(v("f")))
        ws.Import(ROOT.RooDecay("model", "model", v("t"), v("tau"), am, ROOT.RooDecay.DoubleSided))
        return ["t"]
    if case == "decay_gauss_doublesided":
        f("t[-3, 8]")
        f("tau[1.3, 0.3, 5]")
        f("m[0.2, -1, 1]")
        f("s[0.35, 0.1, 2]")
        v = ws.var
        gm = ROOT.RooGaussModel("gm", "gm", v("t"), v("m"), v("s"))
        ws.Import(ROOT.RooDecay("model", "model", v("t"), v("tau"), gm, ROOT.RooDecay.DoubleSided))
        return ["t"]
    if case == "gauss_constrained_mean":
        f("Gaussian::gx(x[-5, 5], mu[0.8, -3, 3], sigma[1.2, 0.2, 4])")
        f("Gaussian::cons(mu0[1.0, -3, 3], mu, 0.2)")
        ws.var("mu0").setConstant(True)
        f("PROD::model(gx, cons)")
        return ["x"]
    raise KeyError(case)


def generate(ROOT: Any, ws: Any, case: str, obs: list[str]) -> Any:
    spec = CASES[case]
    model = ws.pdf("model")
    oset = ROOT.RooArgSet()
    for o in obs:
        oset.add(ws.var(o))
    ROOT.RooRandom.randomGenerator().SetSeed(SEED)
    gen_pdf = ws.pdf(spec.get("pdf_name", "model"))
    data = gen_pdf.generate(oset, N_EVENTS)
    if spec.get("binned"):
        return ROOT.RooDataHist("data_ch1", "data_ch1", oset, data)
    if spec.get("weighted"):
        w = ROOT.RooRealVar("weight", "weight", 1.0)
        full = ROOT.RooArgSet(oset)
        full.add(w)
        wd = ROOT.RooDataSet("data_ch1", "data_ch1", full, ROOT.RooFit.WeightVar(w))
        for i in range(data.numEntries()):
            row = data.get(i)
            for o in obs:
                ws.var(o).setVal(row.getRealValue(o))
            wd.add(oset, 0.5 + (i % 11) / 10.0)
        return wd
    del model
    return data


def wrap(ROOT: Any, ws: Any, case: str, obs: list[str], data: Any) -> None:
    spec = CASES[case]
    ws.factory("SIMUL::simPdf(channel[ch1], ch1=model)")
    cat = ws.cat("channel")
    oset = ROOT.RooArgSet()
    for o in obs:
        oset.add(ws.var(o))
    if spec.get("binned"):
        combined = ROOT.RooDataHist(
            "obsData", "obsData", oset, ROOT.RooFit.Index(cat), ROOT.RooFit.Import("ch1", data)
        )
    else:
        args = [ROOT.RooFit.Index(cat), ROOT.RooFit.Import("ch1", data)]
        if spec.get("weighted"):
            args.append(ROOT.RooFit.WeightVar("weight"))
        combined = ROOT.RooDataSet("obsData", "obsData", oset, *args)
    ws.Import(combined)
    mc = ROOT.RooStats.ModelConfig("ModelConfig", ws)
    mc.SetPdf(ws.pdf("simPdf"))
    full_obs = ROOT.RooArgSet(oset)
    full_obs.add(cat)
    mc.SetObservables(full_obs)
    globs = spec.get("globs", [])
    free = free_params(ROOT, ws, obs + globs)
    mc.SetParametersOfInterest(ROOT.RooArgSet(ws.var(free[0])))
    nuis = ROOT.RooArgSet()
    for n in free[1:]:
        nuis.add(ws.var(n))
    mc.SetNuisanceParameters(nuis)
    if globs:
        gset = ROOT.RooArgSet()
        for g in globs:
            gset.add(ws.var(g))
        mc.SetGlobalObservables(gset)
    ws.Import(mc)


def free_params(ROOT: Any, ws: Any, exclude: list[str]) -> list[str]:
    pars = ws.pdf("model").getParameters(ROOT.RooArgSet())
    return sorted(
        p.GetName()
        for p in pars
        if not p.isConstant() and p.GetName() not in exclude and p.InheritsFrom("RooRealVar")
    )


def worker(case: str, out: Path) -> None:
    ROOT = _root()
    spec = CASES[case]
    ws = ROOT.RooWorkspace("w")
    obs = build_model(ROOT, ws, case)
    data = generate(ROOT, ws, case, obs)
    wrap(ROOT, ws, case, obs, data)
    result: dict[str, Any] = {
        "case": case,
        "description": spec["description"],
        "root_version": str(ROOT.gROOT.GetVersion()),
    }
    # export first (unchanged) -- a refusal must not stop the values
    try:
        text = str(ROOT.RooJSONFactoryWSTool(ws).exportJSONtoString())
        EXPORTS.mkdir(parents=True, exist_ok=True)
        (EXPORTS / f"{case}.json").write_text(text)
        exported = json.loads(text)
        types = sorted(
            {
                n.get("type", "<none>")
                for sec in ("distributions", "functions")
                for n in exported.get(sec, [])
            }
        )
        result["export"] = {
            "ok": True,
            "file": f"tests/data/root_nodes/{case}.json",
            "types": types,
            "nodes_without_type": sorted(
                n["name"]
                for sec in ("distributions", "functions")
                for n in exported.get(sec, [])
                if "type" not in n
            ),
        }
    except Exception as exc:  # recorded, not fatal
        result["export"] = {"ok": False, "exception": repr(exc)}
    sim = ws.pdf("simPdf")
    obsdata = ws.data("obsData")
    globs = spec.get("globs", [])
    gset = ROOT.RooArgSet()
    for g in globs:
        gset.add(ws.var(g))
    nlls = {
        "cpu_offset_none": sim.createNLL(
            obsdata, ROOT.RooFit.GlobalObservables(gset), ROOT.RooFit.Offset("none")
        ),
        "legacy_offset_none": sim.createNLL(
            obsdata,
            ROOT.RooFit.GlobalObservables(gset),
            ROOT.RooFit.Offset("none"),
            ROOT.RooFit.EvalBackend("legacy"),
        ),
    }
    free = free_params(ROOT, ws, obs + globs)
    allvars = [v for v in ws.allVars() if v.InheritsFrom("RooRealVar")]
    defaults = {v.GetName(): v.getVal() for v in allvars}
    result["model"] = {
        "pdf": "simPdf",
        "data": "obsData",
        "mc": "ModelConfig",
        "globs": globs,
        "observables": obs,
        "n_entries": obsdata.numEntries(),
        "sum_entries": obsdata.sumEntries(),
        "is_weighted": bool(obsdata.isWeighted()),
        "extend_mode": int(ws.pdf("model").extendMode()),
        "data_class": obsdata.ClassName(),
    }
    result["parameters"] = [
        {
            "name": v.GetName(),
            "value": v.getVal(),
            "min": v.getMin(),
            "max": v.getMax(),
            "const": bool(v.isConstant()),
        }
        for v in sorted(allvars, key=lambda v: v.GetName())
        if v.GetName() not in obs
    ]
    result["free_parameters"] = free
    pdf_name = spec.get("pdf_name", "model")
    pdf = ws.pdf(pdf_name)
    normset = ROOT.RooArgSet()
    for o in obs:
        normset.add(ws.var(o))
    points = [
        ("default", {}),
        ("shift1", {n: defaults[n] + spec["shifts"][n][0] for n in free}),
        ("shift2", {n: defaults[n] + spec["shifts"][n][1] for n in free}),
    ]
    values = []
    for label, setting in points:
        for n, v in defaults.items():
            ws.var(n).setVal(v)
        for n, v in setting.items():
            ws.var(n).setVal(v)
        entry: dict[str, Any] = {
            "point": label,
            "set": setting,
            "nll": {k: nll.getVal() for k, nll in nlls.items()},
            "all_values": {v.GetName(): v.getVal() for v in allvars if v.GetName() not in obs},
        }
        xs = list(zip(*spec["points"], strict=True))
        val, unnorm = [], []
        for row in xs:
            for o, xv in zip(obs, row, strict=True):
                ws.var(o).setVal(xv)
            val.append(pdf.getVal(normset))
            unnorm.append(pdf.getVal())
        entry["pdf_evals"] = [
            {
                "pdf": pdf_name,
                "class": pdf.ClassName(),
                "obs": obs,
                "normset": obs,
                "x": [list(r) for r in xs],
                "value": val,
                "unnormalized": unnorm,
            }
        ]
        if pdf.canBeExtended():
            entry["expected_events"] = pdf.expectedEvents(normset)
        values.append(entry)
    result["values"] = values
    out.write_text(json.dumps(result, indent=1))


# ----------------------------------------------------------------------------------------------
# driver
# ----------------------------------------------------------------------------------------------


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--worker":
        worker(sys.argv[2], Path(sys.argv[3]))
        return
    cases = sys.argv[1:] or list(CASES)
    old = json.loads(OUTPUT.read_text()) if OUTPUT.exists() else {"cases": {}}
    results = old["cases"] if sys.argv[1:] else {}
    t_all = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        for case in cases:
            out = Path(tmp) / f"{case}.json"
            t0 = time.time()
            proc = subprocess.run(
                [sys.executable, __file__, "--worker", case, str(out)],
                capture_output=True,
                text=True,
                timeout=600,
            )
            if proc.returncode == 0 and out.exists():
                results[case] = json.loads(out.read_text())
            else:
                results[case] = {
                    "case": case,
                    "error": {"rc": proc.returncode, "log_tail": proc.stderr[-3000:]},
                }
            results[case]["seconds"] = round(time.time() - t0, 2)
            print(f"{case}: rc={proc.returncode} {results[case]['seconds']}s", flush=True)
    OUTPUT.write_text(
        json.dumps(
            {
                "generator": "tests/reference/root/make_node_corpus.py",
                "seed": SEED,
                "cases": {k: results[k] for k in sorted(results)},
            },
            indent=1,
        )
        + "\n"
    )
    print(f"total {time.time() - t_all:.1f}s -> {OUTPUT.relative_to(REPO)}")


if __name__ == "__main__":
    main()

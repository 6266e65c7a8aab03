"""pyhf references (fits, CLs at mu = 1, grid-scan upper limits) for the published ATLAS
likelihoods that ``make_inference_reference.py`` leaves out because pyhf is slow on them.

Regenerate (from the repository root, pyhf 0.7.6; one model per process, so models can run
side by side and a finished model is saved even if another is still running):

    python3 tests/reference/pyhf/make_atlas_inference_reference.py NAME [NAME ...]

NAME is a key of ``TARGETS`` (``all`` runs every target in order, smallest first). Each model
goes to ``atlas/<NAME>.json`` beside this script, rewritten after every step, so a run that is
stopped keeps the steps it finished; a rerun computes only the steps missing from the file
(delete the file to recompute everything). Models are loaded as in ``make_nll_reference.py`` (first
measurement, numpy backend, the signal patch of ``tests/data/patches`` on background-only files).

Optimizer: ``pyhf.optimize.scipy_optimizer(tolerance=1e-10)`` (SLSQP), as in
``make_inference_reference.py``. Steps, each with its seconds:
- ``mle``: ``pyhf.infer.mle.fit(data, model, return_fitted_val=True)``;
- ``fixed_poi_fit``: ``pyhf.infer.mle.fixed_poi_fit(1.0, data, model, return_fitted_val=True)``;
- ``hypotest``: ``pyhf.infer.hypotest(1.0, data, model, test_stat="qtilde",
  calctype="asymptotics", return_expected_set=True)``;
- ``hypotest_fits``: the fits that hypotest makes internally (Asimov data at mu' = 0 from
  ``generate_asimov_data``, then ``fixed_poi_fit(1.0, ...)`` and ``fit`` on the observed and
  on the Asimov data, same init/bounds/fixed), with their best-fit points;
- ``upper_limit``: ``pyhf.infer.intervals.upper_limits.upper_limit(data, model, scan=GRID,
  level=0.05, return_results=True)`` on a grid of 16 points (pyhf's linear interpolation of
  each CLs curve on the grid) chosen by ``limit_grid`` from pyhf's own MLE and hypotest. pyhf's default root finding (``scan=None``) runs six TOMS 748
  searches of several hypothesis tests each (five fits per test, each fit seconds to minutes
  with finite-difference gradients), which does not finish in an afternoon on 2 cores for
  these models. The grid should bracket the observed limit and the expected band (rough
  asymptotic limits with generous margins); it is stored (``scan``) with the CLs values at
  every grid point, so a test can check that each limit is bracketed.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyhf
from make_inference_reference import floats, hypotest_entry, log, safely, timed
from make_nll_reference import REPO, expanded_names, load_model
from scipy.optimize import brentq
from scipy.stats import norm

HERE = Path(__file__).resolve().parent
OUTPUT_DIR = HERE / "atlas"
TOLERANCE = 1e-10
POI_TEST = 1.0
L = "tests/data/likelihoods"
P = "tests/data/patches"


def _patched(stem: str) -> tuple[str, str | None]:
    return f"{L}/{stem}.json", f"{P}/{stem}.patch.json"


# name -> (file, patch), smallest model first
TARGETS: dict[str, tuple[str, str | None]] = {
    "ATLAS-3LeRJR__BkgOnly+patch": _patched("ATLAS-3LeRJR__BkgOnly"),
    "ATLAS-SUSY-2018-31__BkgOnlyC+patch": _patched("ATLAS-SUSY-2018-31__BkgOnlyC"),
    "ATLAS-3LeRJR__ERJR_200p0_100p0": (f"{L}/ATLAS-3LeRJR__ERJR_200p0_100p0.json", None),
    "ATLAS-SUSY-2019-09__bkg_onshell+patch": _patched("ATLAS-SUSY-2019-09__bkg_onshell"),
    "ATLAS-SUSY-2018-04__SRcombined+patch": _patched("ATLAS-SUSY-2018-04__SRcombined"),
    "ATLAS-SUSY-2018-05-ewk__ewk_signal_bkgonly+patch": _patched(
        "ATLAS-SUSY-2018-05-ewk__ewk_signal_bkgonly"
    ),
    "ATLAS-SUSY-2018-16__Sleptons_bkgonly+patch": _patched("ATLAS-SUSY-2018-16__Sleptons_bkgonly"),
    "ATLAS-SUSY-2019-09__bkg_offshell+patch": _patched("ATLAS-SUSY-2019-09__bkg_offshell"),
}

GRID_POINTS = 16


def asymptotic_limits(hypotest: dict[str, Any], mu_hat: float) -> list[float]:
    """Rough 95% CL limits (observed, then -2..+2 sigma) from CLs at mu = 1, assuming the
    Gaussian asymptotics with a mu-independent width: the median expected CLs at mu = 1 gives
    sigma = 1 / Phi^-1(1 - CLs_exp/2); then mu_up(N) = sigma (Phi^-1(1 - 0.05 Phi(N)) + N), and
    the observed limit solves CLs(mu) = 0.05 with sqrt(q) = (mu - mu_hat)/sigma."""
    sigma = 1.0 / float(norm.ppf(1.0 - hypotest["CLs_exp"][2] / 2.0))
    expected = [sigma * (float(norm.ppf(1.0 - 0.05 * norm.cdf(n))) + n) for n in (-2, -1, 0, 1, 2)]

    def cls_minus_level(mu: float) -> float:
        z = (mu - max(mu_hat, 0.0)) / sigma
        return float(norm.sf(z) / norm.cdf(mu / sigma - z)) - 0.05

    observed = brentq(cls_minus_level, max(mu_hat, 0.0) + 1e-9, max(mu_hat, 0.0) + 50 * sigma)
    return [float(observed), *expected]


def limit_grid(entry: dict[str, Any]) -> tuple[float, float, int]:
    """The upper-limit grid: from 0.6 x the smallest to 1.5 x the largest rough limit
    (:func:`asymptotic_limits` on pyhf's own hypotest and MLE), within the POI bounds."""
    mu_hat = entry["mle"]["bestfit"][entry["parameters"].index(entry["poi"])]
    rough = asymptotic_limits(entry["hypotest"], mu_hat)
    low, high = entry["poi_bounds"]
    first = round(max(low, 0.6 * min(rough)), 3)
    last = round(min(high, 1.5 * max(rough)), 3)
    return first, last, GRID_POINTS


def fit_entry(fit: Callable[[], Any]) -> dict[str, Any]:
    """bestfit and twice_nll of a pyhf fit returning (pars, twice_nll)."""
    (pars, twice_nll), seconds = timed(fit)
    return {"bestfit": floats(pars), "twice_nll": float(twice_nll), "seconds": seconds}


def upper_limit_entry(entry: dict[str, Any], data: Any, model: Any) -> dict[str, Any]:
    """Observed and expected 95% CL upper limits from pyhf's grid scan, with the CLs values."""
    first, last, points = limit_grid(entry)
    scan = np.linspace(first, last, points)
    (obs, exp, (mus, results)), seconds = timed(
        lambda: pyhf.infer.intervals.upper_limits.upper_limit(
            data, model, scan=scan, level=0.05, return_results=True
        )
    )
    return {
        "call": (
            "pyhf.infer.intervals.upper_limits.upper_limit(data, model, "
            f"scan=np.linspace({first}, {last}, {points}), level=0.05, return_results=True)"
        ),
        "scan": floats(mus),
        "CLs_obs": [float(r[0]) for r in results],
        "CLs_exp": [floats(r[1]) for r in results],
        "obs": float(obs),
        "exp": floats(exp),
        "seconds": seconds,
    }


def hypotest_fits_entry(data: Any, model: Any) -> dict[str, Any]:
    """The fits inside ``hypotest`` (asymptotics, qtilde at POI_TEST), made by the same pyhf calls
    the AsymptoticCalculator makes: the Asimov data at mu' = 0 (``generate_asimov_data``) and
    the conditional and free fits to the observed and to the Asimov data, with their points, so
    a test can evaluate the NLL at pyhf's points."""
    init = model.config.suggested_init()
    bounds = model.config.suggested_bounds()
    fixed = model.config.suggested_fixed()
    (asimov, asimov_pars), seconds = timed(
        lambda: pyhf.infer.calculators.generate_asimov_data(
            0.0, data, model, init, bounds, fixed, return_fitted_pars=True
        )
    )
    out: dict[str, Any] = {
        "asimov_mu": 0.0,
        "asimov_pars": floats(asimov_pars),
        "asimov_data": floats(asimov),
        "asimov_seconds": seconds,
    }
    for label, values in (("data", data), ("asimov", asimov)):
        out[f"fixed_poi_fit_{label}"] = fit_entry(
            lambda v=values: pyhf.infer.mle.fixed_poi_fit(
                POI_TEST, v, model, init, bounds, fixed, return_fitted_val=True
            )
        )
        out[f"fit_{label}"] = fit_entry(
            lambda v=values: pyhf.infer.mle.fit(
                v, model, init, bounds, fixed, return_fitted_val=True
            )
        )
    return out


def run(name: str) -> None:
    """Compute every step for one target, writing ``atlas/<name>.json`` after each step."""
    file, patch = TARGETS[name]
    output = OUTPUT_DIR / f"{name}.json"
    start = time.perf_counter()
    earlier = 0.0  # seconds of an earlier, resumed run
    ws, model, measurement, poi = load_model(REPO / file, None if patch is None else REPO / patch)
    data = ws.data(model)
    entry: dict[str, Any] = {
        "generator": "tests/reference/pyhf/make_atlas_inference_reference.py",
        "pyhf_version": pyhf.__version__,
        "numpy_version": np.__version__,
        "python_version": sys.version.split()[0],
        "backend": "numpy",
        "optimizer": f"pyhf.optimize.scipy_optimizer(tolerance={TOLERANCE})",
        "file": file,
        "patch": patch,
        "measurement": measurement,
        "poi": poi,
        "poi_bounds": floats(model.config.suggested_bounds()[model.config.poi_index]),
        "parameters": expanded_names(model),
    }
    pyhf.set_backend("numpy", pyhf.optimize.scipy_optimizer(tolerance=TOLERANCE))
    steps: list[tuple[str, Callable[[], dict[str, Any]]]] = [
        (
            "mle",
            lambda: fit_entry(lambda: pyhf.infer.mle.fit(data, model, return_fitted_val=True)),
        ),
        (
            "fixed_poi_fit",
            lambda: {
                "poi_value": POI_TEST,
                **fit_entry(
                    lambda: pyhf.infer.mle.fixed_poi_fit(
                        POI_TEST, data, model, return_fitted_val=True
                    )
                ),
            },
        ),
        ("hypotest", lambda: hypotest_entry(data, model)),
        ("hypotest_fits", lambda: hypotest_fits_entry(data, model)),
        ("upper_limit", lambda: upper_limit_entry(entry, data, model)),
    ]
    OUTPUT_DIR.mkdir(exist_ok=True)
    if output.exists():  # resume: keep the finished steps of an earlier run
        previous = json.loads(output.read_text())
        earlier = float(previous.get("seconds_total", 0.0))
        done = {s for s, _ in steps if s in previous and "error" not in previous[s]}
        entry.update({s: previous[s] for s in done})
        steps = [(s, c) for s, c in steps if s not in done]
    for step, compute in steps:
        log(f"{name}: {step}")
        entry[step] = safely(compute)
        entry["seconds_total"] = round(earlier + time.perf_counter() - start, 3)
        output.write_text(json.dumps(entry, indent=1) + "\n")
    log(f"{name}: done in {entry['seconds_total']} s")


def main(names: list[str]) -> None:
    """Run the named targets (``all``: every target) one after the other."""
    for name in list(TARGETS) if names == ["all"] else names:
        run(name)


if __name__ == "__main__":
    main(sys.argv[1:])

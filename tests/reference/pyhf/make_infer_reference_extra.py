"""Extra pyhf references for hs3jax.infer: all test statistics, q0 discovery, Asimov data,
fixed-POI fits at several values, and grid-scan upper limits.

Regenerate (from the repository root, pyhf 0.7.6; slow: pyhf's upper limits on
multichannel_all_modifiers and ATLAS-SUSY-2018-31 take 20+ minutes each on 2 cores):

    python3 tests/reference/pyhf/make_infer_reference_extra.py

Writes ``infer_reference_extra.json`` beside this script. Models are loaded as in
``make_nll_reference.py``. Optimizer: ``pyhf.optimize.scipy_optimizer(tolerance=1e-12)``
(SLSQP); where SLSQP reports failure at that tolerance the entry records the error instead.
Every pyhf call is recorded with its seconds.
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
from make_nll_reference import REPO, expanded_names, load_model

HERE = Path(__file__).resolve().parent
OUTPUT = HERE / "infer_reference_extra.json"
TOLERANCE = 1e-12
L = "tests/data/likelihoods"
P = "tests/data/patches"
TARGETS: list[tuple[str, str | None]] = [
    ("tests/data/pyhf/simple.json", None),
    ("tests/data/pyhf/multichannel_all_modifiers.json", None),
    (
        f"{L}/ATLAS-SUSY-2018-14__Comb_bkgonly.json",
        f"{P}/ATLAS-SUSY-2018-14__Comb_bkgonly.patch.json",
    ),
    (f"{L}/ATLAS-SUSY-2018-31__BkgOnlyA.json", f"{P}/ATLAS-SUSY-2018-31__BkgOnlyA.patch.json"),
]
TEST_STATS = {
    "qmu_tilde": pyhf.infer.test_statistics.qmu_tilde,
    "qmu": pyhf.infer.test_statistics.qmu,
    "tmu_tilde": pyhf.infer.test_statistics.tmu_tilde,
    "tmu": pyhf.infer.test_statistics.tmu,
}


def floats(values: Any) -> list[float]:
    return [float(v) for v in np.ravel(np.asarray(values, dtype=float))]


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    out = fn()
    return out, round(time.perf_counter() - start, 4)


def safely(fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    try:
        return fn()
    except Exception as err:  # record pyhf's failure as the result
        return {"error": f"{type(err).__name__}: {str(err).splitlines()[0][:300]}"}


def fit_entry(fn: Callable[[], Any]) -> dict[str, Any]:
    (pars, twice), seconds = timed(fn)
    return {"bestfit": floats(pars), "twice_nll": float(twice), "seconds": seconds}


def hypotest_entry(poi: float, data: Any, model: Any, test_stat: str) -> dict[str, Any]:
    (obs, tails, exp), seconds = timed(
        lambda: pyhf.infer.hypotest(
            poi,
            data,
            model,
            test_stat=test_stat,
            return_tail_probs=True,
            return_expected_set=True,
        )
    )
    return {
        "poi_value": poi,
        "test_stat": test_stat,
        "obs": float(obs),
        "tails": floats(tails),
        "exp": floats(exp),
        "seconds": seconds,
    }


def reference_for(file: str, patch: str | None) -> dict[str, Any]:
    _ws, model, _measurement, poi = load_model(REPO / file, None if patch is None else REPO / patch)
    data = np.asarray(_ws.data(model), dtype=float)
    init = model.config.suggested_init()
    bounds = model.config.suggested_bounds()
    fixed = model.config.suggested_fixed()
    e: dict[str, Any] = {
        "file": file,
        "patch": patch,
        "poi": poi,
        "parameters": expanded_names(model),
        "n_main": int(model.config.nmaindata),
    }
    e["mle"] = safely(
        lambda: fit_entry(lambda: pyhf.infer.mle.fit(data, model, return_fitted_val=True))
    )
    for mu in (0.0, 1.0, 2.0):
        e[f"fixed_poi_fit_{mu}"] = safely(
            lambda mu=mu: fit_entry(
                lambda: pyhf.infer.mle.fixed_poi_fit(mu, data, model, return_fitted_val=True)
            )
        )
    asimov, pars = pyhf.infer.calculators.generate_asimov_data(
        0.0, data, model, init, bounds, fixed, return_fitted_pars=True
    )
    e["asimov_mu0"] = {"data": floats(asimov), "pars": floats(pars)}
    e["test_stats_mu1"] = {}
    for name, fn in TEST_STATS.items():
        e["test_stats_mu1"][name] = safely(
            lambda fn=fn: {"value": float(fn(1.0, data, model, init, bounds, fixed))}
        )
    e["q0"] = safely(
        lambda: {
            "value": float(pyhf.infer.test_statistics.q0(0.0, data, model, init, bounds, fixed))
        }
    )
    e["hypotest"] = [
        safely(lambda mu=mu, ts=ts: hypotest_entry(mu, data, model, ts))
        for mu, ts in [(1.0, "qtilde"), (0.5, "qtilde"), (1.0, "q"), (0.0, "q0")]
    ]
    e["upper_limit"] = safely(
        lambda: (lambda r: {"obs": float(r[0][0]), "exp": floats(r[0][1]), "seconds": r[1]})(
            timed(
                lambda: pyhf.infer.intervals.upper_limits.upper_limit(
                    data, model, scan=None, level=0.05
                )
            )
        )
    )
    scan = np.linspace(0.0, 5.0, 21)
    e["upper_limit_scan"] = safely(
        lambda: (
            lambda r: {
                "scan": floats(scan),
                "obs": float(r[0][0]),
                "exp": floats(r[0][1]),
                "seconds": r[1],
            }
        )(
            timed(
                lambda: pyhf.infer.intervals.upper_limits.upper_limit(
                    data, model, scan=scan, level=0.05
                )
            )
        )
    )
    return e


def main() -> None:
    pyhf.set_backend("numpy", pyhf.optimize.scipy_optimizer(tolerance=TOLERANCE))
    models = []
    for file, patch in TARGETS:
        (entry, seconds) = timed(lambda f=file, p=patch: reference_for(f, p))
        entry["seconds_total"] = seconds
        print(file, patch, seconds, flush=True)
        models.append(entry)
    out = {
        "generator": "tests/reference/pyhf/make_infer_reference_extra.py",
        "pyhf_version": pyhf.__version__,
        "numpy_version": np.__version__,
        "python_version": sys.version.split()[0],
        "backend": "numpy",
        "optimizer": f"pyhf.optimize.scipy_optimizer(tolerance={TOLERANCE})",
        "models": models,
    }
    OUTPUT.write_text(json.dumps(out, indent=1) + "\n")
    print("wrote", OUTPUT.relative_to(REPO))


if __name__ == "__main__":
    main()

"""Reference fits, CLs values and upper limits computed with pyhf for a few test workspaces.

Regenerate (from the repository root, with pyhf 0.7.6; takes a few minutes):

    python3 tests/reference/pyhf/make_inference_reference.py

(``... make_inference_reference.py NAME ...`` recomputes only the targets whose file name contains
one of the NAMEs and keeps the other entries of the existing file.)

Writes ``inference_reference.json`` next to this script. Models are built as in
``make_nll_reference.py`` (first measurement, numpy backend, default modifier settings); the
background-only ATLAS files get their signal patch from ``tests/data/patches`` first.

Optimizer: ``pyhf.optimize.scipy_optimizer(tolerance=1e-10)`` (SLSQP). With the default
``scipy_optimizer()`` SLSQP stops after one iteration at the initial point on the ATLAS-3LeRJR
models (reporting success), so its numbers are not the minimum there. The default optimizer's
unconstrained fit is still recorded per model under ``mle_default_optimizer`` to show this.

Recorded per model (parameter vectors in the order of ``parameters``, the expanded names of
``make_nll_reference.py``), each with the seconds it took:
- ``mle``: ``pyhf.infer.mle.fit(data, model, return_fitted_val=True)``: bestfit, twice_nll;
- ``fixed_poi_fit``: ``pyhf.infer.mle.fixed_poi_fit(1.0, data, model, return_fitted_val=True)``;
- ``hypotest``: ``pyhf.infer.hypotest(1.0, data, model, test_stat="qtilde",
  calctype="asymptotics", return_expected_set=True)``: CLs_obs and the 5 expected values
  (-2, -1, 0, +1, +2 sigma);
- ``upper_limit``: ``pyhf.infer.intervals.upper_limits.upper_limit(data, model, scan=None,
  level=0.05)`` (toms748 root finding inside the POI bounds, rtol 1e-4): obs and 5 expected;
  where that raises, a grid scan instead (``call`` says which, ``scan_none_error`` why).

Timings were taken on a shared 2-core machine under heavy load; treat them as rough.
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
OUTPUT = HERE / "inference_reference.json"
TOLERANCE = 1e-10
POI_TEST = 1.0
LIKELIHOODS = "tests/data/likelihoods"
PATCHES = "tests/data/patches"


def patched(stem: str) -> tuple[str, str]:
    """A background-only likelihood and its signal patch."""
    return f"{LIKELIHOODS}/{stem}.json", f"{PATCHES}/{stem}.patch.json"


TARGETS: list[tuple[str, str | None]] = [
    ("tests/data/pyhf/simple.json", None),
    ("tests/data/pyhf/multichannel_all_modifiers.json", None),
    patched("ATLAS-SUSY-2018-14__Comb_bkgonly"),
    (f"{LIKELIHOODS}/ATLAS-3LeRJR__ERJR_200p0_100p0.json", None),
    patched("ATLAS-SUSY-2018-31__BkgOnlyA"),
    patched("ATLAS-SUSY-2018-31__BkgOnlyC"),
    patched("ATLAS-SUSY-2018-04__SRcombined"),
]

SKIPPED: dict[str, str] = {
    "ATLAS-3LeRJR__BkgOnly.json + patch": (
        "same analysis as ATLAS-3LeRJR__ERJR_200p0_100p0.json; the SLSQP fit is poorly "
        "converged (twice_nll 238.97991 at tolerance 1e-10 vs 238.97961 at 1e-12, 157 s)"
    ),
    "ATLAS-SUSY-2018-05-ewk__ewk_signal_bkgonly.json + patch": (
        "one fit takes 4-6 s, so the upper limit (dozens of fits) takes minutes"
    ),
    "ATLAS-SUSY-2019-09__bkg_onshell.json + patch": "one fit takes 7-11 s",
    "ATLAS-SUSY-2019-09__bkg_offshell.json + patch": "327 parameters; one fit takes longer still",
    "ATLAS-SUSY-2018-16__Sleptons_bkgonly.json + patch": "190 parameters; one fit is slow",
}


def log(message: str) -> None:
    """Progress on stderr."""
    print(message, file=sys.stderr, flush=True)


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    """Result of ``fn()`` and the seconds it took."""
    start = time.perf_counter()
    result = fn()
    return result, round(time.perf_counter() - start, 3)


def floats(values: Any) -> list[float]:
    """A flat list of Python floats."""
    return [float(v) for v in np.ravel(np.asarray(values, dtype=float))]


def safely(fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run one computation; record the error instead of stopping the whole script."""
    try:
        return fn()
    except Exception as err:  # any pyhf failure is a result worth recording
        return {"error": f"{type(err).__name__}: {str(err).splitlines()[0][:300]}"}


def fit_entry(fit: Callable[[], Any]) -> dict[str, Any]:
    """bestfit and twice_nll of a pyhf fit returning (pars, twice_nll)."""
    (pars, twice_nll), seconds = timed(fit)
    return {"bestfit": floats(pars), "twice_nll": float(twice_nll), "seconds": seconds}


def hypotest_entry(data: Any, model: Any) -> dict[str, Any]:
    """CLs observed and expected band at POI_TEST."""
    (obs, exp), seconds = timed(
        lambda: pyhf.infer.hypotest(
            POI_TEST,
            data,
            model,
            test_stat="qtilde",
            calctype="asymptotics",
            return_expected_set=True,
        )
    )
    return {
        "poi_value": POI_TEST,
        "test_stat": "qtilde",
        "calctype": "asymptotics",
        "CLs_obs": float(obs),
        "CLs_exp": floats(exp),
        "seconds": seconds,
    }


def upper_limit_entry(data: Any, model: Any) -> dict[str, Any]:
    """95% CL upper limit on the POI, observed and expected band.

    First ``scan=None`` (toms748 root finding); if pyhf fails there (CLs is NaN at mu = 0 for
    some models), a grid scan from 0.1 to the POI's upper bound in steps of 0.1 instead.
    """
    upper_limit = pyhf.infer.intervals.upper_limits.upper_limit
    entry: dict[str, Any] = {}
    try:
        (obs, exp), seconds = timed(lambda: upper_limit(data, model, scan=None, level=0.05))
        call = "upper_limit(data, model, scan=None, level=0.05)"
    except Exception as err:  # pyhf's root finder gives up; fall back to a scan
        entry["scan_none_error"] = f"{type(err).__name__}: {str(err).splitlines()[0][:300]}"
        high = float(model.config.suggested_bounds()[model.config.poi_index][1])
        scan = np.linspace(0.1, high, round(high / 0.1))
        (obs, exp), seconds = timed(lambda: upper_limit(data, model, scan=scan, level=0.05))
        call = f"upper_limit(data, model, scan=np.linspace(0.1, {high}, {len(scan)}), level=0.05)"
    entry.update(
        {
            "call": f"pyhf.infer.intervals.upper_limits.{call}",
            "obs": float(obs),
            "exp": floats(exp),
            "seconds": seconds,
        }
    )
    return entry


def reference_for(file: str, patch: str | None) -> dict[str, Any]:
    """Every inference result for one model."""
    ws, model, measurement, poi = load_model(REPO / file, None if patch is None else REPO / patch)
    data = ws.data(model)
    log(f"{file}{' + patch' if patch else ''}: {model.config.npars} parameters")
    entry: dict[str, Any] = {
        "file": file,
        "patch": patch,
        "measurement": measurement,
        "poi": poi,
        "poi_bounds": floats(model.config.suggested_bounds()[model.config.poi_index]),
        "parameters": expanded_names(model),
    }

    pyhf.set_backend("numpy", pyhf.optimize.scipy_optimizer())
    log("mle_default_optimizer")
    entry["mle_default_optimizer"] = safely(
        lambda: fit_entry(lambda: pyhf.infer.mle.fit(data, model, return_fitted_val=True))
    )

    pyhf.set_backend("numpy", pyhf.optimize.scipy_optimizer(tolerance=TOLERANCE))
    log("mle")
    entry["mle"] = safely(
        lambda: fit_entry(lambda: pyhf.infer.mle.fit(data, model, return_fitted_val=True))
    )
    log("fixed_poi_fit")
    entry["fixed_poi_fit"] = safely(
        lambda: {
            "poi_value": POI_TEST,
            **fit_entry(
                lambda: pyhf.infer.mle.fixed_poi_fit(POI_TEST, data, model, return_fitted_val=True)
            ),
        }
    )
    log("hypotest")
    entry["hypotest"] = safely(lambda: hypotest_entry(data, model))
    log("upper_limit")
    entry["upper_limit"] = safely(lambda: upper_limit_entry(data, model))
    return entry


def write(models: list[dict[str, Any]]) -> None:
    """Write the JSON file (called after every model, so partial runs leave a valid file)."""
    out = {
        "generator": "tests/reference/pyhf/make_inference_reference.py",
        "pyhf_version": pyhf.__version__,
        "numpy_version": np.__version__,
        "python_version": sys.version.split()[0],
        "backend": "numpy",
        "optimizer": f"pyhf.optimize.scipy_optimizer(tolerance={TOLERANCE})",
        "models": models,
        "skipped": [{"model": k, "reason": v} for k, v in SKIPPED.items()],
    }
    OUTPUT.write_text(json.dumps(out, indent=1) + "\n")


def previous_models() -> list[dict[str, Any]]:
    """Models already in the output file (empty if there is none)."""
    if not OUTPUT.exists():
        return []
    return list(json.loads(OUTPUT.read_text())["models"])


def main(selection: list[str]) -> None:
    """Compute the references for the selected targets (all without arguments) and write them.

    With arguments, only targets whose file name contains one of them are recomputed; the other
    entries of an existing output file are kept.
    """
    chosen = [t for t in TARGETS if not selection or any(s in t[0] for s in selection)]
    done = {(m["file"], m["patch"]): m for m in previous_models()} if selection else {}
    for file, patch in chosen:
        start = time.perf_counter()
        entry = reference_for(file, patch)
        entry["seconds_total"] = round(time.perf_counter() - start, 3)
        done[(file, patch)] = entry
        write([done[t] for t in TARGETS if t in done])
        log(f"done in {entry['seconds_total']} s")
    print("wrote", OUTPUT.relative_to(REPO))


if __name__ == "__main__":
    main(sys.argv[1:])

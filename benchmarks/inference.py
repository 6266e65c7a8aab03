"""Inference timings: hs3jax beside pyhf (JAX backend, and numpy) in the same run.

    python benchmarks/inference.py [--models simple,2018-14,2018-31__BkgOnlyA] [--skip-limit]

For each model: fit, hypotest (mu = 1, qtilde, asymptotics, expected band) and the 95% CL upper
limit, each timed on the first call (compilation included) and warm (median of repeats). pyhf
uses ``scipy_optimizer(tolerance=1e-10)``. Prints a table and one JSON line per measurement.
Set OPENBLAS_NUM_THREADS=1 on small machines: scipy's L-BFGS-B calls BLAS on tiny vectors and
spinning BLAS threads compete with XLA's.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax

jax.config.update("jax_enable_x64", True)

import hs3jax  # noqa: E402
from hs3jax.infer import fit, hypotest, upper_limit  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
L, P = "tests/data/likelihoods", "tests/data/patches"
MODELS = {
    "simple": ("tests/data/pyhf/simple.json", None),
    "multichannel": ("tests/data/pyhf/multichannel_all_modifiers.json", None),
    "2018-14": (
        f"{L}/ATLAS-SUSY-2018-14__Comb_bkgonly.json",
        f"{P}/ATLAS-SUSY-2018-14__Comb_bkgonly.patch.json",
    ),
    "2018-31__BkgOnlyA": (
        f"{L}/ATLAS-SUSY-2018-31__BkgOnlyA.json",
        f"{P}/ATLAS-SUSY-2018-31__BkgOnlyA.patch.json",
    ),
    "3LeRJR": (f"{L}/ATLAS-3LeRJR__ERJR_200p0_100p0.json", None),
}


def timed(fn: Callable[[], Any], repeats: int) -> tuple[float, float]:
    """(first call seconds, median warm seconds)."""
    t0 = time.perf_counter()
    fn()
    first = time.perf_counter() - t0
    warm = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        warm.append(time.perf_counter() - t0)
    return first, statistics.median(warm) if warm else float("nan")


def pyhf_model(file: str, patch: str | None) -> tuple[Any, Any]:
    import jsonpatch
    import pyhf

    spec = json.loads((ROOT / file).read_text())
    if patch:
        spec = jsonpatch.apply_patch(spec, json.loads((ROOT / patch).read_text()))
    ws = pyhf.Workspace(spec)
    model = ws.model()
    return model, ws.data(model)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", default="simple,2018-14,2018-31__BkgOnlyA")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-limit", action="store_true")
    parser.add_argument("--backends", default="jax,numpy", help="pyhf backends to time")
    args = parser.parse_args()
    import pyhf

    rows = []
    for key in args.models.split(","):
        file, patch = MODELS[key]
        model = hs3jax.load(ROOT / file, patches=[ROOT / patch] if patch else []).model()
        tasks: dict[str, Callable[[], Any]] = {
            "fit": lambda m=model: fit(m),
            "hypotest": lambda m=model: hypotest(m, 1.0),
        }
        if not args.skip_limit:
            tasks["upper_limit"] = lambda m=model: upper_limit(m)
        for task, fn in tasks.items():
            first, warm = timed(fn, args.repeats if task != "upper_limit" else 1)
            rows.append(
                {"model": key, "tool": "hs3jax", "task": task, "first": first, "warm": warm}
            )
            print(json.dumps(rows[-1]), flush=True)
        pm, data = pyhf_model(file, patch)
        for backend in args.backends.split(","):
            pyhf.set_backend(backend, pyhf.optimize.scipy_optimizer(tolerance=1e-10))
            ptasks: dict[str, Callable[[], Any]] = {
                "fit": lambda d=data, m=pm: pyhf.infer.mle.fit(d, m),
                "hypotest": lambda d=data, m=pm: pyhf.infer.hypotest(
                    1.0, d, m, test_stat="qtilde", return_expected_set=True
                ),
            }
            if not args.skip_limit:
                ptasks["upper_limit"] = lambda d=data, m=pm: (
                    pyhf.infer.intervals.upper_limits.upper_limit(d, m, scan=None, level=0.05)
                )
            for task, fn in ptasks.items():
                try:
                    first, warm = timed(fn, args.repeats if task != "upper_limit" else 1)
                except Exception as err:  # record pyhf failures, keep going
                    print(f"pyhf-{backend} {key} {task}: {err}", file=sys.stderr)
                    first = warm = float("nan")
                rows.append(
                    {
                        "model": key,
                        "tool": f"pyhf-{backend}",
                        "task": task,
                        "first": first,
                        "warm": warm,
                    }
                )
                print(json.dumps(rows[-1]), flush=True)
    print(f"\n{'model':20s} {'task':12s} {'tool':12s} {'first [s]':>10s} {'warm [s]':>10s}")
    for r in rows:
        print(
            f"{r['model']:20s} {r['task']:12s} {r['tool']:12s} {r['first']:10.3f} {r['warm']:10.3f}"
        )


if __name__ == "__main__":
    main()

"""pyhf's toy-based CLs (ToyCalculator) on the simple model, for hs3jax's toy hypotest.

Regenerate (from the repository root, pyhf 0.7.6; a few minutes on 2 cores):

    python3 tests/reference/pyhf/make_toy_reference.py

Writes ``toy_reference.json`` beside this script: the observed CLs, CL_{s+b} and CL_b of pyhf's
toy-based hypothesis test at mu = 1 (qtilde, NTOYS toys per hypothesis, numpy backend, default
optimizer, ``numpy.random.seed(SEED)`` first, since pyhf's numpy backend samples toys from
numpy's global generator), with its seconds. ``pyhf.infer.hypotest(..., calctype="toybased")``
itself cannot run under numpy 2: it always computes the expected band, which calls
``numpy.percentile(..., interpolation=...)``, a keyword numpy 2 removed (TypeError). So the
script makes the same calls as ``hypotest`` up to that point: ``ToyCalculator(data, model,
test_stat="qtilde", ntoys=NTOYS, track_progress=False)``, then ``teststatistic(1.0)``,
``distributions(1.0)`` and ``pvalues(...)``. Both numbers are Monte Carlo estimates: the tail
fractions CL_{s+b} and CL_b are binomial with NTOYS trials each.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import pyhf
from make_nll_reference import REPO, load_model

HERE = Path(__file__).resolve().parent
OUTPUT = HERE / "toy_reference.json"
FILE = "tests/data/pyhf/simple.json"
NTOYS = 2000
SEED = 20261123
POI_TEST = 1.0


def main() -> None:
    pyhf.set_backend("numpy")
    ws, model, _measurement, poi = load_model(REPO / FILE)
    data = ws.data(model)
    np.random.seed(SEED)
    start = time.perf_counter()
    calc = pyhf.infer.calculators.ToyCalculator(
        data, model, test_stat="qtilde", ntoys=NTOYS, track_progress=False
    )
    teststat = calc.teststatistic(POI_TEST)
    sig_plus_bkg, bkg_only = calc.distributions(POI_TEST)
    clsb, clb, cls_obs = calc.pvalues(teststat, sig_plus_bkg, bkg_only)
    seconds = round(time.perf_counter() - start, 3)
    out = {
        "generator": "tests/reference/pyhf/make_toy_reference.py",
        "pyhf_version": pyhf.__version__,
        "numpy_version": np.__version__,
        "python_version": sys.version.split()[0],
        "backend": "numpy",
        "file": FILE,
        "poi": poi,
        "call": (
            f'ToyCalculator(data, model, test_stat="qtilde", ntoys={NTOYS}, '
            "track_progress=False); teststatistic(mu), distributions(mu), pvalues(...)"
        ),
        "teststat": float(teststat),
        "seed": SEED,
        "ntoys": NTOYS,
        "poi_value": POI_TEST,
        "CLs_obs": float(cls_obs),
        "CLsb": float(clsb),
        "CLb": float(clb),
        "seconds": seconds,
    }
    OUTPUT.write_text(json.dumps(out, indent=1) + "\n")
    print("wrote", OUTPUT.relative_to(REPO), seconds, "s")


if __name__ == "__main__":
    main()

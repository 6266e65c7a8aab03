"""pyhf's toy-based CLs (ToyCalculator) on the simple model, for hs3jax's toy hypotest.

Regenerate (from the repository root, pyhf 0.7.6; a few minutes on 2 cores):

    python3 tests/reference/pyhf/make_toy_reference.py

Writes ``toy_reference.json`` beside this script: the result of
``pyhf.infer.hypotest(1.0, data, model, test_stat="qtilde", calctype="toybased", ntoys=NTOYS,
return_tail_probs=True, track_progress=False)`` (numpy backend,
default optimizer, ``numpy.random.seed(SEED)`` first, since pyhf's numpy backend samples toys
from numpy's global generator), with its seconds. Both numbers are Monte Carlo estimates: the
tail fractions CL_{s+b} and CL_b are binomial with NTOYS trials each. The expected band is not
requested: pyhf 0.7.6's toy band calls ``numpy.percentile(..., interpolation=...)``, a keyword
that numpy 2 removed (TypeError), so only the observed values are recorded.
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
    cls_obs, (clsb, clb) = pyhf.infer.hypotest(
        POI_TEST,
        data,
        model,
        test_stat="qtilde",
        calctype="toybased",
        ntoys=NTOYS,
        return_tail_probs=True,
        track_progress=False,
    )
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
            f'pyhf.infer.hypotest({POI_TEST}, data, model, test_stat="qtilde", '
            f'calctype="toybased", ntoys={NTOYS}, return_tail_probs=True, '
            "track_progress=False)"
        ),
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

"""Issue 5's inference benchmark: fit, hypotest and upper-limit times of hs3jax beside pyhf-jax
(and pyhf-numpy) in the same run, first call included and warm, on the ATLAS models.

    python benchmarks/inference.py [run.py options]

The same machinery as ``run.py`` (one subprocess per model, peer and task; see its docstring)
restricted to the ATLAS models (with their signal patches), the inference tasks and the pyhf
peers. ``run.py`` itself reports these columns for every model.
"""

from __future__ import annotations

import sys

import run

DEFAULTS = [
    "--models",
    r"^(SUSY|3LeRJR)",
    "--tasks",
    "fit,hypotest,limit",
    "--peers",
    "hs3jax,pyhf-jax,pyhf-numpy",
]

if __name__ == "__main__":
    sys.exit(
        run.main(
            [
                *DEFAULTS,
                "--json",
                str(run.HERE / "results" / "inference_latest.json"),
                *sys.argv[1:],
            ]
        )
    )

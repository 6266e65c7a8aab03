"""Reference negative log-likelihoods computed with pyhf for every test workspace.

Regenerate (from the repository root, with pyhf 0.7.6):

    python3 tests/reference/pyhf/make_nll_reference.py

Writes ``nll_reference.json`` next to this script. For each workspace in ``tests/data/pyhf`` and
``tests/data/likelihoods`` it uses pyhf's numpy backend with default modifier settings and the
workspace's first measurement. The model is ``ws.model()``, or ``ws.model(poi_name=None)`` when the
measurement's POI is not a parameter of the model (background-only files). The data are
``ws.data(model)`` (observations followed by auxiliary data).

Recorded per file: the expanded parameter names in pyhf's vector order (``name`` for a scalar
parameter set, ``name[i]`` for element i of a multi-bin one), suggested init/bounds/fixed, the
channels with their bin counts, the expected main data at the init point, and 14 points with
``nll = -model.logpdf(pars, data)[0]``: the init point (``kind`` "init"), 10 random points
("random") and 3 random points close to init ("near", see below).

After the plain files come the background-only likelihoods with their signal patch from
``tests/data/patches`` applied (``jsonpatch.apply_patch``); those entries have ``patch`` set.

Random points: ``numpy.random.default_rng(0)`` per file, one uniform draw per element inside an
interval derived from the suggested bounds [lo, hi], init x0 and, for constrained parameters,
the constraint width w (pyhf's ``paramset.width()``: sigma for Gaussian constraints,
1/sqrt(tau) for shapesys):
- unconstrained elements: [max(lo, x0 - 5), min(hi, x0 + 5)];
- constrained elements: x0 +- 2w, further clipped to x0 +- 5 and to the bounds;
- gamma-like elements (0 < lo <= 1e-9, pyhf's 1e-10 floor for shapesys/staterror): additionally
  clipped to [0.5, 1.5];
- elements that pyhf suggests fixed stay at their init value.
The "near" points use x0 +- 0.2w (constrained) and x0 +- 0.5 (unconstrained) instead; they stay
in the bulk of the likelihood even for models where the random points reach huge NLLs.
Drawing every nuisance parameter uniformly over +-5 sigma made published models' yields negative
(NaN) or gave NLLs of 1e9 and more, hence the 2w width. A draw whose NLL is not finite is
rejected and redrawn (``rejected`` in the output counts them).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import jsonpatch
import numpy as np
import pyhf

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
INPUT_DIRS = [REPO / "tests" / "data" / "pyhf", REPO / "tests" / "data" / "likelihoods"]
PATCH_DIR = REPO / "tests" / "data" / "patches"
OUTPUT = HERE / "nll_reference.json"
N_RANDOM = 10
N_NEAR = 3
NEAR_SCALE = 0.2
SEED = 0
GAMMA_FLOOR = 1e-9
MAX_REJECTED = 1000


def load_model(
    path: Path, patch: Path | None = None
) -> tuple[pyhf.Workspace, Any, str, str | None]:
    """Workspace, model, measurement name and POI (None for background-only files)."""
    spec = json.loads(path.read_text())
    if patch is not None:
        spec = jsonpatch.apply_patch(spec, json.loads(patch.read_text()))
    ws = pyhf.Workspace(spec)
    measurement = ws.get_measurement()  # the first measurement
    poi = measurement["config"]["poi"]
    if poi in {name for name, _kind in ws.modifiers}:
        model = ws.model(measurement_name=measurement["name"])
    else:
        model = ws.model(measurement_name=measurement["name"], poi_name=None)
        poi = None
    return ws, model, measurement["name"], poi


def expanded_names(model: Any) -> list[str]:
    """Parameter names in vector order, as pyhf names them (``model.config.par_names``:
    ``name`` for scalar sets, ``name[i]`` for per-bin sets, also with one bin)."""
    return list(model.config.par_names)


def constraint_widths(model: Any) -> np.ndarray:
    """Per-element constraint width (sigma), +inf for unconstrained parameters."""
    widths = np.full(model.config.npars, np.inf)
    for par in model.config.par_order:
        paramset = model.config.param_set(par)
        if getattr(paramset, "constrained", False):
            widths[model.config.par_slice(par)] = np.asarray(paramset.width(), dtype=float)
    return widths


def sampling_box(
    init: np.ndarray,
    bounds: np.ndarray,
    fixed: np.ndarray,
    widths: np.ndarray,
    scale: float = 2.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-element [low, high] interval for the random points (see module docstring)."""
    half = scale * np.minimum(widths, 2.5)
    low = np.maximum(bounds[:, 0], init - half)
    high = np.minimum(bounds[:, 1], init + half)
    gamma = (bounds[:, 0] > 0.0) & (bounds[:, 0] <= GAMMA_FLOOR)
    low = np.where(gamma, np.maximum(low, 0.5), low)
    high = np.where(gamma, np.minimum(high, 1.5), high)
    low = np.where(fixed, init, low)
    high = np.where(fixed, init, high)
    return low, high


def nll(model: Any, pars: np.ndarray, data: np.ndarray) -> float:
    """-log L from pyhf as a Python float."""
    return float(-model.logpdf(pars, data)[0])


def reference_for(path: Path, patch: Path | None = None) -> dict[str, Any]:
    """Everything recorded for one workspace file (optionally with a JSON patch applied)."""
    start = time.perf_counter()
    ws, model, measurement, poi = load_model(path, patch)
    data = np.asarray(ws.data(model), dtype=float)
    cfg = model.config
    init = np.asarray(cfg.suggested_init(), dtype=float)
    bounds = np.asarray(cfg.suggested_bounds(), dtype=float)
    fixed = np.asarray(cfg.suggested_fixed(), dtype=bool)

    rng = np.random.default_rng(SEED)
    widths = constraint_widths(model)
    points = [{"kind": "init", "pars": init.tolist(), "nll": nll(model, init, data)}]
    rejected = 0
    for kind, count, scale in (("random", N_RANDOM, 2.0), ("near", N_NEAR, NEAR_SCALE)):
        low, high = sampling_box(init, bounds, fixed, widths, scale)
        drawn = 0
        while drawn < count:
            pars = rng.uniform(low, high)
            value = nll(model, pars, data)
            if not np.isfinite(value):
                rejected += 1
                if rejected > MAX_REJECTED:
                    raise RuntimeError(f"{path}: too many non-finite NLL draws")
                continue
            points.append({"kind": kind, "pars": pars.tolist(), "nll": value})
            drawn += 1

    return {
        "file": path.relative_to(REPO).as_posix(),
        "patch": None if patch is None else patch.relative_to(REPO).as_posix(),
        "measurement": measurement,
        "poi": poi,
        "parameters": expanded_names(model),
        "suggested_init": init.tolist(),
        "suggested_bounds": bounds.tolist(),
        "suggested_fixed": fixed.tolist(),
        "channels": [{"name": c, "nbins": int(cfg.channel_nbins[c])} for c in cfg.channels],
        "expected_actualdata_init": np.asarray(model.expected_actualdata(init)).tolist(),
        "points": points,
        "rejected": rejected,
        "seconds": round(time.perf_counter() - start, 3),
    }


def main() -> None:
    """Compute the reference for every input workspace and write the JSON file."""
    pyhf.set_backend("numpy")
    inputs: list[tuple[Path, Path | None]] = [
        (p, None) for d in INPUT_DIRS for p in sorted(d.glob("*.json"))
    ]
    for patch in sorted(PATCH_DIR.glob("*.patch.json")):
        stem = patch.name.removesuffix(".patch.json")
        inputs.append((REPO / "tests" / "data" / "likelihoods" / f"{stem}.json", patch))
    models = []
    for path, patch in inputs:
        entry = reference_for(path, patch)
        label = entry["file"] + (" + patch" if patch else "")
        print(f"{label}: {len(entry['parameters'])} pars, {entry['seconds']} s")
        models.append(entry)
    out = {
        "generator": "tests/reference/pyhf/make_nll_reference.py",
        "pyhf_version": pyhf.__version__,
        "numpy_version": np.__version__,
        "python_version": sys.version.split()[0],
        "backend": "numpy",
        "seed": SEED,
        "models": models,
    }
    OUTPUT.write_text(json.dumps(out, indent=1) + "\n")
    print("wrote", OUTPUT.relative_to(REPO))


if __name__ == "__main__":
    main()

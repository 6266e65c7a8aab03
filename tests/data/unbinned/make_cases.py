"""Unbinned HS3 test models: extended Gaussian signal + exponential background per channel.

Built from the skeleton of ``benchmarks/unbinned.py`` (ROOT-flavoured HS3: ``misc.ROOT_internal``
names the combined pdf, dataset and ModelConfig) without its ``generic_dist`` component, so every
parameter's maximum-likelihood estimate lies inside its bounds and fits are well conditioned
(the benchmark's generic density is nearly degenerate with the exponential), and with the
signal's mean and widths held constant (``"const": true``): a floating signal shape is
unconstrained at mu = 0, so the asymptotic test would depend on local minima. Events are drawn
from the model at its initial values with a seeded numpy RNG.

Run from the repository root: ``python3 tests/data/unbinned/make_cases.py`` writes
``mixture_1ch_1000ev.json`` and ``mixture_2ch_2000ev.json`` beside this script.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2] / "benchmarks"))

from unbinned import X_MAX, X_MIN, make_workspace  # noqa: E402


def _draw(
    rng: np.random.Generator, n_sig: int, n_bkg: int, mean: float, sigma: float, slope: float
) -> list[float]:
    sig = rng.normal(mean, sigma, 4 * n_sig + 10)
    sig = sig[(sig >= X_MIN) & (sig <= X_MAX)][:n_sig]
    u = rng.uniform(size=n_bkg)
    span = 1.0 - np.exp(-slope * (X_MAX - X_MIN))
    bkg = X_MIN - np.log1p(-u * span) / slope
    events = np.concatenate([sig, bkg])
    rng.shuffle(events)
    return [float(f"{v:.9g}") for v in events]


def make_case(n_channels: int, n_events: int, seed: int) -> dict[str, Any]:
    doc = make_workspace(n_channels, n_events, seed=seed)
    rng = np.random.default_rng(seed + 1000)
    dists = {d["name"]: d for d in doc["distributions"]}
    values = {p["name"]: p for p in doc["parameter_points"][0]["parameters"]}
    nsig = {f["name"]: float(f["expression"].split("*")[1]) for f in doc["functions"]}
    doc["distributions"] = [d for d in doc["distributions"] if d["type"] != "generic_dist"]
    drop = {n for n in values if n.startswith(("a_", "ngen_"))}
    for d in doc["distributions"]:
        if d["type"] == "mixture_dist":
            d["summands"] = d["summands"][:2]
            d["coefficients"] = d["coefficients"][:2]
    for datum in doc["data"]:
        label = datum["name"].removeprefix("obsData_")
        mix = dists[f"model_{label}"]
        n_sig = rng.poisson(nsig[mix["coefficients"][0]])
        n_bkg = rng.poisson(values[mix["coefficients"][1]]["value"])
        events = _draw(
            rng,
            int(n_sig),
            int(n_bkg),
            values["m"]["value"],
            values[f"s_{label}"]["value"],
            values[f"t_{label}"]["value"],
        )
        datum["entries"] = [[v] for v in events]
    for point in doc["parameter_points"]:
        point["parameters"] = [p for p in point["parameters"] if p["name"] not in drop]
        for p in point["parameters"]:
            # a known signal shape: with mu = 0 the Gaussian's mean and width are unconstrained,
            # and fits on the b-only Asimov data would end in arbitrary local minima
            if p["name"] == "m" or p["name"].startswith("s_"):
                p["const"] = True
    for domain in doc["domains"]:
        domain["axes"] = [a for a in domain["axes"] if a["name"] not in drop]
    return doc


def main() -> None:
    for n_channels, n_events, seed in ((1, 1000, 1), (2, 2000, 2)):
        path = HERE / f"mixture_{n_channels}ch_{n_events}ev.json"
        path.write_text(json.dumps(make_case(n_channels, n_events, seed), indent=1) + "\n")
        print(path.name)


if __name__ == "__main__":
    main()

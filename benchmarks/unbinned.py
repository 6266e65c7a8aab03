"""Synthetic unbinned HS3 models for benchmarks.

``make_workspace(n_channels, n_events)`` returns an HS3 document (a dict, in the flavour ROOT
6.40 writes and reads: ``misc.ROOT_internal`` names the combined pdf, the combined dataset and
the ModelConfig) with ``n_channels`` channels sharing one observable ``x`` on [0, 10]. Channel
``k`` is an extended ``mixture_dist`` of three densities of ``x``:

* ``sig_k``: ``gaussian_dist`` with a shared mean ``m`` and a per-channel width ``s_k``;
  yield ``nsig_k = mu * S_k`` (``generic_function``; ``mu`` is the parameter of interest,
  ``S_k`` the expected signal yield at ``mu = 1``);
* ``bkg_k``: ``exponential_dist`` ``exp(-t_k x)`` (HS3's sign convention; ROOT imports it as a
  ``RooExponential`` with a negated coefficient); yield ``nbkg_k``;
* ``gen_k``: ``generic_dist`` ``1 + a_k x + 0.02 x^2``, normalised over [0, 10] by the reader;
  yield ``ngen_k``.

``n_events`` is the total over all channels (split evenly). Events are drawn from the model at
its initial values with a seeded numpy RNG, so the same arguments give the same document.
Parameters: ``mu``, ``m`` and five per channel (``s_k``, ``t_k``, ``a_k``, ``nbkg_k``, ``ngen_k``).

Command line: ``python benchmarks/unbinned.py 3 100000 -o unbinned.json``.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import numpy as np

__all__ = ["make_workspace", "n_parameters"]

X_MIN, X_MAX = 0.0, 10.0
QUADRATIC = 0.02  # the fixed x^2 coefficient of the generic density


def _truncated_gaussian(rng: np.random.Generator, n: int, mean: float, sigma: float) -> np.ndarray:
    """``n`` draws of N(mean, sigma) restricted to [X_MIN, X_MAX] (rejection)."""
    out = np.empty(0)
    while out.size < n:
        x = rng.normal(mean, sigma, 2 * (n - out.size) + 16)
        out = np.concatenate([out, x[(x >= X_MIN) & (x <= X_MAX)]])
    return out[:n]


def _truncated_exponential(rng: np.random.Generator, n: int, slope: float) -> np.ndarray:
    """``n`` draws of the density ∝ exp(-slope x) on [X_MIN, X_MAX] (inverse CDF)."""
    u = rng.uniform(0.0, 1.0, n)
    span = 1.0 - np.exp(-slope * (X_MAX - X_MIN))
    return X_MIN - np.log1p(-u * span) / slope


def _generic(rng: np.random.Generator, n: int, a: float) -> np.ndarray:
    """``n`` draws of the density ∝ 1 + a x + QUADRATIC x^2 on [X_MIN, X_MAX] (rejection)."""
    top = 1.0 + a * X_MAX + QUADRATIC * X_MAX**2  # the density rises monotonically on [0, 10]
    out = np.empty(0)
    while out.size < n:
        x = rng.uniform(X_MIN, X_MAX, 3 * (n - out.size) + 16)
        keep = rng.uniform(0.0, top, x.size) < 1.0 + a * x + QUADRATIC * x**2
        out = np.concatenate([out, x[keep]])
    return out[:n]


def make_workspace(n_channels: int, n_events: int, seed: int = 0) -> dict[str, Any]:
    """An HS3 document: ``n_channels`` unbinned channels, ``n_events`` events in all."""
    if n_channels < 1 or n_events < n_channels:
        raise ValueError("need n_channels >= 1 and at least one event per channel")
    rng = np.random.default_rng(seed)
    per_channel = n_events // n_channels
    mean = 5.0
    distributions: list[dict[str, Any]] = []
    functions: list[dict[str, Any]] = []
    data: list[dict[str, Any]] = []
    parameters: list[dict[str, Any]] = [
        {"name": "mu", "value": 1.0, "min": 0.0, "max": 10.0},
        {"name": "m", "value": mean, "min": 3.0, "max": 7.0},
    ]
    labels = []
    for k in range(n_channels):
        label = f"ch{k}"
        labels.append(label)
        n_chan = per_channel if k < n_channels - 1 else n_events - per_channel * (n_channels - 1)
        fractions = np.array([0.1, 0.6, 0.3]) * rng.uniform(0.8, 1.2, 3)
        fractions /= fractions.sum()
        n_sig, n_bkg, n_gen = (float(n_chan * f) for f in fractions)
        s_k = float(rng.uniform(0.3, 0.8))
        t_k = float(rng.uniform(0.2, 0.6))
        a_k = float(rng.uniform(0.05, 0.5))
        counts = rng.multinomial(n_chan, fractions)
        events = np.concatenate(
            [
                _truncated_gaussian(rng, int(counts[0]), mean, s_k),
                _truncated_exponential(rng, int(counts[1]), t_k),
                _generic(rng, int(counts[2]), a_k),
            ]
        )
        rng.shuffle(events)

        distributions += [
            {
                "name": f"model_{label}",
                "type": "mixture_dist",
                "summands": [f"sig_{label}", f"bkg_{label}", f"gen_{label}"],
                "coefficients": [f"nsig_{label}", f"nbkg_{label}", f"ngen_{label}"],
                "extended": True,
            },
            {
                "name": f"sig_{label}",
                "type": "gaussian_dist",
                "x": "x",
                "mean": "m",
                "sigma": f"s_{label}",
            },
            {"name": f"bkg_{label}", "type": "exponential_dist", "x": "x", "c": f"t_{label}"},
            {
                "name": f"gen_{label}",
                "type": "generic_dist",
                "expression": f"1 + a_{label}*x + {QUADRATIC}*x*x",
            },
        ]
        functions += [
            {"name": f"nsig_{label}", "type": "generic_function", "expression": f"mu*{n_sig:.6g}"},
        ]
        parameters += [
            {"name": f"s_{label}", "value": s_k, "min": 0.1, "max": 2.0},
            {"name": f"t_{label}", "value": t_k, "min": 0.01, "max": 2.0},
            {"name": f"a_{label}", "value": a_k, "min": 0.0, "max": 2.0},
            {"name": f"nbkg_{label}", "value": round(n_bkg, 3), "min": 0.0, "max": 3.0 * n_chan},
            {"name": f"ngen_{label}", "value": round(n_gen, 3), "min": 0.0, "max": 3.0 * n_chan},
        ]
        data.append(
            {
                "name": f"obsData_{label}",
                "type": "unbinned",
                "axes": [{"name": "x", "min": X_MIN, "max": X_MAX}],
                "entries": [[float(f"{v:.9g}")] for v in events],
            }
        )

    axes = [{"name": p["name"], "min": p["min"], "max": p["max"]} for p in parameters]
    nuisance = [a for a in axes if a["name"] != "mu"]
    return {
        "metadata": {"hs3_version": "0.2"},
        "distributions": distributions,
        "functions": functions,
        "data": data,
        "likelihoods": [
            {
                "name": "simPdf_obsData",
                "distributions": [f"model_{label}" for label in labels],
                "data": [f"obsData_{label}" for label in labels],
            }
        ],
        "domains": [
            {
                "name": "simPdf_obsData_nuisance_parameters",
                "type": "product_domain",
                "axes": nuisance,
            },
            {
                "name": "simPdf_obsData_parameters_of_interest",
                "type": "product_domain",
                "axes": axes[:1],
            },
            {
                "name": "default_domain",
                "type": "product_domain",
                "axes": [*axes, {"name": "x", "min": X_MIN, "max": X_MAX}],
            },
        ],
        "parameter_points": [
            {
                "name": "default_values",
                "parameters": [
                    *parameters,
                    {"name": "x", "value": 5.0, "min": X_MIN, "max": X_MAX},
                ],
            }
        ],
        "analyses": [
            {
                "name": "simPdf_obsData",
                "likelihood": "simPdf_obsData",
                "parameters_of_interest": ["mu"],
                "domains": [
                    "simPdf_obsData_nuisance_parameters",
                    "simPdf_obsData_parameters_of_interest",
                ],
            }
        ],
        "misc": {
            "ROOT_internal": {
                "ModelConfigs": {"simPdf_obsData": {"mcName": "ModelConfig", "pdfName": "simPdf"}},
                "combined_datasets": {
                    "obsData": {
                        "index_cat": "channel",
                        "indices": list(range(n_channels)),
                        "labels": labels,
                    }
                },
                "combined_distributions": {
                    "simPdf": {
                        "distributions": [f"model_{label}" for label in labels],
                        "index_cat": "channel",
                        "indices": list(range(n_channels)),
                        "labels": labels,
                    }
                },
            }
        },
    }


def n_parameters(n_channels: int) -> int:
    """Number of free parameters of ``make_workspace(n_channels, ...)``: ``mu``, ``m`` and five
    per channel."""
    return 2 + 5 * n_channels


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n_channels", type=int)
    ap.add_argument("n_events", type=int)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("-o", "--output", help="write here (default: stdout)")
    args = ap.parse_args()
    text = json.dumps(make_workspace(args.n_channels, args.n_events, args.seed))
    if args.output:
        with open(args.output, "w") as fh:
            fh.write(text + "\n")
    else:
        print(text)


if __name__ == "__main__":
    main()

"""Synthetic pyhf workspaces for benchmarks.

``make_workspace(n_channels, n_bins, n_samples)`` returns a pyhf JSON workspace (a dict) with
``n_channels`` channels of ``n_bins`` bins each and ``n_samples`` (at least 5) samples per channel:

* ``signal``: a bump; ``normfactor`` ``mu`` (the POI), ``lumi``, shared ``normsys`` ``sig_xsec``.
* ``bkg_a``: falling; ``lumi``, shared ``normsys`` ``bkg_a_xsec`` and ``det_eff``, shared
  ``histosys`` ``jes``, ``staterror``.
* ``bkg_b``: flat; per-channel ``normsys`` ``bkg_b_norm_chN``, per-channel ``histosys``
  ``jer_chN``, ``staterror``.
* ``bkg_c``: falling; ``lumi``, shared ``normsys`` ``bkg_c_xsec``, one per-channel ``shapesys``
  ``shapesys_chN``.
* ``bkg_d``: small; shared ``normsys`` ``det_eff``, per-channel ``normsys`` ``bkg_d_norm_chN``,
  ``staterror``.
* ``bkg_x5`` ... ``bkg_x{n_samples-1}`` (only when ``n_samples > 5``): minor backgrounds, each
  with ``lumi``, a shared ``normsys`` ``bkg_xK_xsec``, a per-channel ``normsys``
  ``bkg_xK_norm_chN`` and ``staterror``.

Sizes: ``n_parameters(15, 8) == 292`` (the issue's 292-parameter model);
``make_workspace(20, 50, 15)`` has 20 x 50 bins, 15 samples and 2,277 parameters.

Yields are positive and plausible; observations are Poisson draws around the ``mu = 1``
expectation. Everything is drawn from a seeded numpy RNG, so the same arguments give the same
workspace.

Command line: ``python benchmarks/synthetic.py 10 --bins 50 --samples 15 -o ws.json``.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import numpy as np

__all__ = ["make_workspace", "n_parameters"]


def _r(values: np.ndarray) -> list[float]:
    """Plain floats with a sensible number of digits (keeps the JSON small and exact)."""
    return [float(f"{v:.6g}") for v in np.asarray(values, dtype=float)]


def make_workspace(
    n_channels: int, n_bins: int = 10, n_samples: int = 5, seed: int = 0, name: str | None = None
) -> dict[str, Any]:
    """A pyhf workspace dict with ``n_channels`` channels of ``n_bins`` bins and ``n_samples``
    samples per channel."""
    if n_channels < 1 or n_bins < 1:
        raise ValueError("n_channels and n_bins must be positive")
    if n_samples < 5:
        raise ValueError("n_samples must be at least 5 (signal and four backgrounds)")
    rng = np.random.default_rng(seed)
    x = (np.arange(n_bins) + 0.5) / n_bins  # bin centres on [0, 1]
    channels = []
    observations = []
    for c in range(n_channels):
        ch = f"ch{c}"
        scale = rng.uniform(0.5, 2.0)  # channels differ in size
        centre = rng.uniform(0.3, 0.7)
        jitter = lambda: rng.uniform(0.9, 1.1, n_bins)  # noqa: E731

        sig = scale * 8.0 * np.exp(-0.5 * ((x - centre) / 0.12) ** 2) + 0.05
        bkg_a = scale * 120.0 * np.exp(-2.5 * x) * jitter()
        bkg_b = scale * 40.0 * jitter()
        bkg_c = scale * 25.0 * np.exp(-1.2 * x) * jitter()
        bkg_d = scale * 6.0 * jitter()

        # histosys templates: a tilt (jes, shared) and a per-channel wiggle (jer)
        tilt = rng.uniform(0.03, 0.08) * (2 * x - 1)
        wig = rng.uniform(0.02, 0.05) * np.sin(2 * np.pi * x + rng.uniform(0, np.pi))
        stat_a = np.sqrt(bkg_a) * rng.uniform(0.1, 0.3, n_bins)
        stat_b = np.sqrt(bkg_b) * rng.uniform(0.1, 0.3, n_bins)
        stat_d = np.sqrt(bkg_d) * rng.uniform(0.1, 0.3, n_bins)
        shape_c = bkg_c * rng.uniform(0.05, 0.20, n_bins)

        def normsys(name: str, lo: float, hi: float) -> dict[str, Any]:
            return {"name": name, "type": "normsys", "data": {"hi": hi, "lo": lo}}

        samples = [
            {
                "name": "signal",
                "data": _r(sig),
                "modifiers": [
                    {"name": "mu", "type": "normfactor", "data": None},
                    {"name": "lumi", "type": "lumi", "data": None},
                    normsys("sig_xsec", 0.92, 1.08),
                ],
            },
            {
                "name": "bkg_a",
                "data": _r(bkg_a),
                "modifiers": [
                    {"name": "lumi", "type": "lumi", "data": None},
                    normsys("bkg_a_xsec", 0.95, 1.06),
                    normsys("det_eff", 0.97, 1.03),
                    {
                        "name": "jes",
                        "type": "histosys",
                        "data": {
                            "hi_data": _r(bkg_a * (1 + tilt)),
                            "lo_data": _r(bkg_a * (1 - tilt)),
                        },
                    },
                    {"name": f"staterror_{ch}", "type": "staterror", "data": _r(stat_a)},
                ],
            },
            {
                "name": "bkg_b",
                "data": _r(bkg_b),
                "modifiers": [
                    normsys(
                        f"bkg_b_norm_{ch}",
                        round(rng.uniform(0.8, 0.9), 4),
                        round(rng.uniform(1.1, 1.25), 4),
                    ),
                    {
                        "name": f"jer_{ch}",
                        "type": "histosys",
                        "data": {
                            "hi_data": _r(bkg_b * (1 + wig)),
                            "lo_data": _r(bkg_b * (1 - 0.8 * wig)),
                        },
                    },
                    {"name": f"staterror_{ch}", "type": "staterror", "data": _r(stat_b)},
                ],
            },
            {
                "name": "bkg_c",
                "data": _r(bkg_c),
                "modifiers": [
                    {"name": "lumi", "type": "lumi", "data": None},
                    normsys("bkg_c_xsec", 0.9, 1.1),
                    {"name": f"shapesys_{ch}", "type": "shapesys", "data": _r(shape_c)},
                ],
            },
            {
                "name": "bkg_d",
                "data": _r(bkg_d),
                "modifiers": [
                    normsys("det_eff", 0.96, 1.05),
                    normsys(f"bkg_d_norm_{ch}", 0.7, 1.3),
                    {"name": f"staterror_{ch}", "type": "staterror", "data": _r(stat_d)},
                ],
            },
        ]
        for k in range(5, n_samples):  # minor backgrounds, drawn after the base ones
            bkg_x = scale * rng.uniform(1.0, 5.0) * np.exp(-rng.uniform(0.0, 2.0) * x) * jitter()
            stat_x = np.sqrt(bkg_x) * rng.uniform(0.1, 0.3, n_bins)
            lo_hi = round(rng.uniform(0.8, 0.95), 4), round(rng.uniform(1.05, 1.2), 4)
            samples.append(
                {
                    "name": f"bkg_x{k}",
                    "data": _r(bkg_x),
                    "modifiers": [
                        {"name": "lumi", "type": "lumi", "data": None},
                        normsys(f"bkg_x{k}_xsec", 0.9, 1.1),
                        normsys(f"bkg_x{k}_norm_{ch}", *lo_hi),
                        {"name": f"staterror_{ch}", "type": "staterror", "data": _r(stat_x)},
                    ],
                }
            )
        channels.append({"name": ch, "samples": samples})
        expected = np.array([s["data"] for s in samples]).sum(axis=0)
        observations.append({"name": ch, "data": [float(v) for v in rng.poisson(expected)]})

    return {
        "version": "1.0.0",
        "channels": channels,
        "observations": observations,
        "measurements": [
            {
                "name": name or f"synthetic_{n_channels}ch",
                "config": {
                    "poi": "mu",
                    "parameters": [
                        {"name": "mu", "bounds": [[0.0, 10.0]], "inits": [1.0]},
                        {
                            "name": "lumi",
                            "auxdata": [1.0],
                            "sigmas": [0.017],
                            "bounds": [[0.915, 1.085]],
                            "inits": [1.0],
                        },
                    ],
                },
            }
        ],
    }


def n_parameters(n_channels: int, n_bins: int = 10, n_samples: int = 5) -> int:
    """Number of parameters of ``make_workspace(n_channels, n_bins, n_samples)``: seven shared
    (mu, lumi, sig_xsec, bkg_a_xsec, det_eff, jes, bkg_c_xsec) plus per channel three
    nuisance parameters and ``2 * n_bins`` gammas (staterror and shapesys), plus per extra
    sample one shared and ``n_channels`` per-channel normsys parameters."""
    extra = n_samples - 5
    return 7 + n_channels * (3 + 2 * n_bins) + extra * (1 + n_channels)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n_channels", type=int)
    ap.add_argument("--bins", type=int, default=10)
    ap.add_argument("--samples", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("-o", "--output", help="write here (default: stdout)")
    args = ap.parse_args()
    text = json.dumps(make_workspace(args.n_channels, args.bins, args.samples, args.seed), indent=1)
    if args.output:
        with open(args.output, "w") as fh:
            fh.write(text + "\n")
    else:
        print(text)


if __name__ == "__main__":
    main()

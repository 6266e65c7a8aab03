"""Write the small hand-made pyhf JSON workspaces used by the tests.

Run from anywhere:  python3 tests/data/pyhf/make_examples.py

Each workspace is built as a plain dict below (numbers chosen by hand), validated by loading it
with pyhf (schema check + model construction) and written next to this script with
``json.dump(..., indent=2)``. The output is deterministic, so re-running the script reproduces the
committed files byte for byte. The simple and multichannel examples are also copied into
``hs3_examples/`` at the repository root.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pyhf

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
EXAMPLES = REPO / "hs3_examples"

Spec = dict[str, Any]


def modifier(name: str, kind: str, data: Any = None) -> dict[str, Any]:
    """One pyhf modifier entry."""
    return {"name": name, "type": kind, "data": data}


def workspace(
    channels: list[dict[str, Any]],
    observations: dict[str, list[float]],
    measurements: list[dict[str, Any]],
) -> Spec:
    """Assemble a pyhf workspace dict (version 1.0.0)."""
    return {
        "channels": channels,
        "observations": [{"name": k, "data": v} for k, v in observations.items()],
        "measurements": measurements,
        "version": "1.0.0",
    }


def simple() -> Spec:
    """One channel, 2 bins: signal x mu, background with an uncorrelated shapesys."""
    channel = {
        "name": "singlechannel",
        "samples": [
            {
                "name": "signal",
                "data": [6.0, 9.0],
                "modifiers": [modifier("mu", "normfactor")],
            },
            {
                "name": "background",
                "data": [48.0, 57.0],
                "modifiers": [modifier("uncorr_bkguncrt", "shapesys", [4.0, 8.5])],
            },
        ],
    }
    meas = {"name": "Measurement", "config": {"poi": "mu", "parameters": []}}
    return workspace([channel], {"singlechannel": [51.0, 63.0]}, [meas])


def correlated() -> Spec:
    """One channel, 2 bins: signal x mu, background with a correlated histosys."""
    channel = {
        "name": "singlechannel",
        "samples": [
            {
                "name": "signal",
                "data": [11.0, 8.0],
                "modifiers": [modifier("mu", "normfactor")],
            },
            {
                "name": "background",
                "data": [49.0, 53.0],
                "modifiers": [
                    modifier(
                        "correlated_bkg_uncertainty",
                        "histosys",
                        {"hi_data": [54.0, 57.5], "lo_data": [45.0, 48.0]},
                    )
                ],
            },
        ],
    }
    meas = {"name": "Measurement", "config": {"poi": "mu", "parameters": []}}
    return workspace([channel], {"singlechannel": [52.0, 55.0]}, [meas])


def multichannel() -> Spec:
    """Channels of 1, 3, 3 and 5 bins using every pyhf modifier type.

    Layout (see README.md for the full list of edge cases):
    - ``mu`` (normfactor) on the signal in every channel; ``k_<channel>`` normfactors, one per
      channel, on a background.
    - normsys: ``alpha_jes`` shared by all channels, ``alpha_xsec_ttbar`` shared by two,
      ``alpha_onesided`` with hi and lo on the same side of 1 (both > 1), ``alpha_equal`` with
      hi == lo.
    - histosys: ``alpha_shape`` shared by CR and SR_shape, ``alpha_fake_shape`` in SR_shape only.
    - shapesys ``shapesys_fakes`` (5 bins) and ``shapesys_cr`` (3 bins).
    - shapefactor ``sf_wjets`` shared by the two 3-bin channels (pyhf needs equal bin counts).
    - staterror ``staterror_SR_shape`` on three samples; bin 2 of ``ttbar`` has zero nominal,
      bin 4 has zero staterror uncertainty in every sample carrying it.
    - lumi with auxdata/sigmas set in the measurement.
    """
    sr_cut = {
        "name": "SR_cut",
        "samples": [
            {
                "name": "signal",
                "data": [4.2],
                "modifiers": [
                    modifier("mu", "normfactor"),
                    modifier("lumi", "lumi"),
                    modifier("alpha_jes", "normsys", {"hi": 1.06, "lo": 0.95}),
                    modifier("alpha_equal", "normsys", {"hi": 1.04, "lo": 1.04}),
                ],
            },
            {
                "name": "diboson",
                "data": [7.5],
                "modifiers": [
                    modifier("k_SR_cut", "normfactor"),
                    modifier("lumi", "lumi"),
                    modifier("alpha_jes", "normsys", {"hi": 1.03, "lo": 0.96}),
                    modifier("alpha_onesided", "normsys", {"hi": 1.12, "lo": 1.05}),
                ],
            },
        ],
    }
    cr = {
        "name": "CR",
        "samples": [
            {
                "name": "signal",
                "data": [0.5, 1.0, 0.3],
                "modifiers": [
                    modifier("mu", "normfactor"),
                    modifier("lumi", "lumi"),
                    modifier("alpha_jes", "normsys", {"hi": 1.08, "lo": 0.93}),
                ],
            },
            {
                "name": "ttbar",
                "data": [40.0, 31.0, 18.0],
                "modifiers": [
                    modifier("k_CR", "normfactor"),
                    modifier("alpha_xsec_ttbar", "normsys", {"hi": 1.1, "lo": 0.9}),
                    modifier(
                        "alpha_shape",
                        "histosys",
                        {"hi_data": [42.0, 31.5, 16.0], "lo_data": [38.5, 30.0, 20.5]},
                    ),
                    modifier("shapesys_cr", "shapesys", [3.0, 2.5, 2.0]),
                ],
            },
            {
                "name": "wjets",
                "data": [12.0, 9.0, 5.0],
                "modifiers": [modifier("sf_wjets", "shapefactor")],
            },
        ],
    }
    cr_b = {
        "name": "CR_b",
        "samples": [
            {
                "name": "wjets",
                "data": [20.0, 14.0, 8.0],
                "modifiers": [
                    modifier("sf_wjets", "shapefactor"),
                    modifier("k_CR_b", "normfactor"),
                ],
            },
            {
                "name": "other",
                "data": [5.0, 4.0, 3.0],
                "modifiers": [
                    modifier("lumi", "lumi"),
                    modifier("alpha_jes", "normsys", {"hi": 1.02, "lo": 0.97}),
                ],
            },
        ],
    }
    sr_shape = {
        "name": "SR_shape",
        "samples": [
            {
                "name": "signal",
                "data": [1.0, 2.5, 4.0, 3.0, 1.5],
                "modifiers": [
                    modifier("mu", "normfactor"),
                    modifier("lumi", "lumi"),
                    modifier("staterror_SR_shape", "staterror", [0.3, 0.4, 0.5, 0.0, 0.3]),
                ],
            },
            {
                "name": "ttbar",
                "data": [10.0, 0.0, 6.0, 4.0, 2.0],
                "modifiers": [
                    modifier("k_SR_shape", "normfactor"),
                    modifier("lumi", "lumi"),
                    modifier("alpha_xsec_ttbar", "normsys", {"hi": 1.1, "lo": 0.9}),
                    modifier("alpha_jes", "normsys", {"hi": 1.05, "lo": 0.94}),
                    modifier(
                        "alpha_shape",
                        "histosys",
                        {
                            "hi_data": [11.0, 0.0, 6.5, 4.1, 2.4],
                            "lo_data": [9.2, 0.0, 5.6, 3.8, 1.7],
                        },
                    ),
                    modifier("staterror_SR_shape", "staterror", [1.0, 0.0, 0.8, 0.0, 0.5]),
                ],
            },
            {
                "name": "zjets",
                "data": [6.0, 5.0, 3.5, 2.0, 1.0],
                "modifiers": [
                    modifier("lumi", "lumi"),
                    modifier("staterror_SR_shape", "staterror", [0.6, 0.5, 0.4, 0.0, 0.3]),
                ],
            },
            {
                "name": "fakes",
                "data": [3.0, 2.5, 2.0, 1.5, 1.0],
                "modifiers": [
                    modifier(
                        "alpha_fake_shape",
                        "histosys",
                        {
                            "hi_data": [3.6, 2.8, 2.1, 1.4, 0.8],
                            "lo_data": [2.5, 2.2, 1.9, 1.6, 1.2],
                        },
                    ),
                    modifier("shapesys_fakes", "shapesys", [1.0, 0.8, 0.6, 0.5, 0.5]),
                ],
            },
        ],
    }
    observations = {
        "SR_cut": [14.0],
        "CR": [55.0, 43.0, 22.0],
        "CR_b": [27.0, 17.0, 12.0],
        "SR_shape": [21.0, 12.0, 16.0, 10.0, 4.0],
    }
    parameters = [
        {"name": "mu", "bounds": [[0.0, 10.0]], "inits": [1.0]},
        {"name": "k_CR", "bounds": [[0.0, 5.0]], "inits": [1.2]},
        {"name": "k_CR_b", "fixed": True, "inits": [1.1]},
        {"name": "alpha_jes", "bounds": [[-4.0, 4.0]]},
        {"name": "alpha_onesided", "inits": [0.2]},
        {
            "name": "lumi",
            "auxdata": [1.0],
            "sigmas": [0.017],
            "bounds": [[0.915, 1.085]],
            "inits": [1.0],
        },
        {"name": "sf_wjets", "bounds": [[0.0, 5.0], [0.0, 5.0], [0.0, 5.0]]},
    ]
    meas = {"name": "meas", "config": {"poi": "mu", "parameters": parameters}}
    return workspace([sr_cut, cr, cr_b, sr_shape], observations, [meas])


def two_measurements() -> Spec:
    """One channel, 3 bins, two signals; measurements differ in POI (and one bound)."""
    channel = {
        "name": "channel",
        "samples": [
            {
                "name": "signal_A",
                "data": [5.0, 3.0, 1.0],
                "modifiers": [modifier("mu_A", "normfactor")],
            },
            {
                "name": "signal_B",
                "data": [1.0, 2.0, 4.0],
                "modifiers": [modifier("mu_B", "normfactor")],
            },
            {
                "name": "background",
                "data": [30.0, 20.0, 10.0],
                "modifiers": [
                    modifier("bkg_norm", "normsys", {"hi": 1.1, "lo": 0.92}),
                    modifier("shapesys_bkg", "shapesys", [3.0, 2.0, 1.5]),
                ],
            },
        ],
    }
    meas_a = {
        "name": "meas_A",
        "config": {
            "poi": "mu_A",
            "parameters": [{"name": "mu_A", "bounds": [[0.0, 5.0]]}],
        },
    }
    meas_b = {
        "name": "meas_B",
        "config": {
            "poi": "mu_B",
            "parameters": [
                {"name": "mu_B", "bounds": [[-2.0, 8.0]], "inits": [0.5]},
                {"name": "mu_A", "fixed": True, "inits": [0.0]},
            ],
        },
    }
    return workspace([channel], {"channel": [37.0, 24.0, 16.0]}, [meas_a, meas_b])


def write(name: str, spec: Spec) -> Path:
    """Validate ``spec`` with pyhf (every measurement) and write it as ``name``."""
    ws = pyhf.Workspace(spec)
    for meas in ws.measurement_names:
        ws.model(measurement_name=meas)
    path = HERE / name
    path.write_text(json.dumps(spec, indent=2) + "\n")
    return path


def main() -> None:
    """Write every example; copy two of them into hs3_examples/."""
    outputs = {
        "simple.json": simple(),
        "correlated.json": correlated(),
        "multichannel_all_modifiers.json": multichannel(),
        "two_measurements.json": two_measurements(),
    }
    for name, spec in outputs.items():
        print("wrote", write(name, spec).relative_to(REPO))
    EXAMPLES.mkdir(exist_ok=True)
    for name in ("simple.json", "multichannel_all_modifiers.json"):
        shutil.copyfile(HERE / name, EXAMPLES / name)
        print("copied", (EXAMPLES / name).relative_to(REPO))


if __name__ == "__main__":
    main()

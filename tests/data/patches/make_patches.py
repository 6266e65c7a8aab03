"""Write signal patches (RFC 6902 JSON Patch) for the background-only ATLAS likelihoods.

Regenerate (from anywhere):  python3 tests/data/patches/make_patches.py

For every file in ``tests/data/likelihoods`` whose first measurement names a POI that no sample
carries (background-only), writes ``<file stem>.patch.json`` next to this script: a list of
``add`` operations, each appending a sample ``signal`` to one signal-region channel (the first two
channels whose name starts with ``SR``; the first channel if none does; "contains SR" would
pick control regions such as ``CRISR_cuts``). The signal carries one
normfactor named after the measurement's POI, and its per-bin yield is 10% of the nominal total
background (sum of the samples' nominal contents, modifiers not applied), at least 0.5 events,
rounded to 4 decimals.

The patched workspaces are checked with pyhf (the ``jsonpatch`` package applies the patch,
``ws.model()`` must then find the POI). Output is deterministic.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonpatch
import pyhf

HERE = Path(__file__).resolve().parent
LIKELIHOODS = HERE.parent / "likelihoods"
SIGNAL_FRACTION = 0.1
MIN_SIGNAL = 0.5
MAX_REGIONS = 2


def poi_of(spec: dict[str, Any]) -> str:
    """POI named by the first measurement."""
    return spec["measurements"][0]["config"]["poi"]


def is_background_only(spec: dict[str, Any]) -> bool:
    """True when no modifier carries the measurement's POI."""
    poi = poi_of(spec)
    return not any(
        mod["name"] == poi
        for channel in spec["channels"]
        for sample in channel["samples"]
        for mod in sample["modifiers"]
    )


def signal_regions(spec: dict[str, Any]) -> list[int]:
    """Indices of the channels that receive a signal sample."""
    indices = [i for i, c in enumerate(spec["channels"]) if c["name"].startswith("SR")]
    return indices[:MAX_REGIONS] or [0]


def signal_yields(channel: dict[str, Any]) -> list[float]:
    """10% of the nominal total background per bin, at least MIN_SIGNAL."""
    totals = [sum(bins) for bins in zip(*(s["data"] for s in channel["samples"]), strict=True)]
    return [round(max(MIN_SIGNAL, SIGNAL_FRACTION * t), 4) for t in totals]


def make_patch(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """JSON Patch adding the signal sample to the chosen channels."""
    ops = []
    for index in signal_regions(spec):
        sample = {
            "name": "signal",
            "data": signal_yields(spec["channels"][index]),
            "modifiers": [{"name": poi_of(spec), "type": "normfactor", "data": None}],
        }
        ops.append({"op": "add", "path": f"/channels/{index}/samples/-", "value": sample})
    return ops


def check(spec: dict[str, Any], patch: list[dict[str, Any]]) -> list[str]:
    """Apply ``patch`` and build the pyhf model; return the patched channel names."""
    patched = jsonpatch.apply_patch(spec, patch)
    model = pyhf.Workspace(patched).model()
    assert model.config.poi_name == poi_of(spec)
    return [op["path"] for op in patch]


def main() -> None:
    """Write one patch per background-only likelihood."""
    for path in sorted(LIKELIHOODS.glob("*.json")):
        spec = json.loads(path.read_text())
        if not is_background_only(spec):
            continue
        patch = make_patch(spec)
        check(spec, patch)
        out = HERE / f"{path.stem}.patch.json"
        out.write_text(json.dumps(patch, indent=2) + "\n")
        names = [spec["channels"][int(op["path"].split("/")[2])]["name"] for op in patch]
        print(f"wrote {out.name}: signal in {', '.join(names)}")


if __name__ == "__main__":
    main()

"""The benchmark's models and the files each peer reads.

A model is a label, a kind (``binned``: a pyhf workspace; ``unbinned``: an HS3 document) and a
recipe. ``prepare`` writes, once per model into a cache folder, the file each peer reads:

* ``pyhf``: the pyhf JSON with its signal patch applied (hs3jax and pyhf read this one);
* ``root``: HS3 for ROOT 6.40, ``hs3jax.dump(ws, path, for_root=True)`` (unbinned: the generated
  document, already in ROOT's flavour);
* ``hs3`` and ``pyhs3``: hs3jax's lossless HS3, and the same adapted to pyhs3 0.4.2
  (``peers.pyhs3_peer.adapt``).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import synthetic
import unbinned

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
ATLAS_DIR = REPO / "tests" / "data" / "likelihoods"
PATCH_DIR = REPO / "tests" / "data" / "patches"

__all__ = ["Model", "atlas_models", "prepare", "synthetic_model", "unbinned_model"]


@dataclass(frozen=True)
class Model:
    label: str
    kind: str  # "binned" | "unbinned"
    make: Callable[[], dict[str, Any]] = field(compare=False, repr=False)
    description: str = ""
    tags: frozenset[str] = frozenset()  # "292", "largest": the models the targets name


def synthetic_model(
    channels: int, bins: int, samples: int = 5, tags: frozenset[str] = frozenset()
) -> Model:
    n = synthetic.n_parameters(channels, bins, samples)
    return Model(
        f"syn-{channels}ch-{bins}b-{samples}s",
        "binned",
        lambda: synthetic.make_workspace(channels, bins, samples),
        f"synthetic HistFactory: {channels} channels x {bins} bins x {samples} samples, {n} parameters",
        tags,
    )


def unbinned_model(channels: int, events: int) -> Model:
    return Model(
        f"unb-{channels}ch-{events:.0e}ev".replace("+0", ""),
        "unbinned",
        lambda: unbinned.make_workspace(channels, events),
        f"unbinned HS3: {channels} channels, {events} events, gaussian+exponential+generic_dist mixtures, "
        f"{unbinned.n_parameters(channels)} parameters",
    )


def _atlas(stem: str) -> dict[str, Any]:
    import jsonpatch

    spec = json.loads((ATLAS_DIR / f"{stem}.json").read_text())
    patch = PATCH_DIR / f"{stem}.patch.json"
    if patch.exists():
        spec = jsonpatch.apply_patch(spec, json.loads(patch.read_text()))
    return spec


def atlas_models() -> list[Model]:
    """Every published ATLAS likelihood in tests/data/likelihoods, with its signal patch."""
    out = []
    for path in sorted(ATLAS_DIR.glob("*.json")):
        stem = path.stem
        patched = (PATCH_DIR / f"{stem}.patch.json").exists()
        out.append(
            Model(
                stem.removeprefix("ATLAS-"),
                "binned",
                lambda stem=stem: _atlas(stem),
                f"published ATLAS likelihood {stem}"
                + (" + signal patch (tests/data/patches)" if patched else ""),
                frozenset({"atlas"}),
            )
        )
    return out


def prepare(model: Model, cache: Path) -> dict[str, str]:
    """The files of ``model`` (written on first use; the recipes are deterministic)."""
    folder = cache / model.label
    files = {
        "hs3": folder / "hs3.json",
        "root": folder / "root.json",
        "pyhs3": folder / "pyhs3.json",
    }
    if model.kind == "binned":
        files["pyhf"] = folder / "pyhf.json"
    if all(p.exists() for p in files.values()):
        return {k: str(v) for k, v in files.items()}
    folder.mkdir(parents=True, exist_ok=True)
    doc = model.make()
    if model.kind == "unbinned":
        text = json.dumps(doc)
        for p in files.values():
            p.write_text(text)
    else:
        from peers.pyhs3_peer import adapt

        import hs3jax

        files["pyhf"].write_text(json.dumps(doc))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ws = hs3jax.load(doc)
            hs3jax.dump(ws, files["root"], for_root=True, indent=None)
            lossless = ws.to_dict()
        files["hs3"].write_text(json.dumps(lossless))
        files["pyhs3"].write_text(json.dumps(adapt(lossless)))
    return {k: str(v) for k, v in files.items()}

"""pyhf patchsets (schema 1.0.0): signal patches for a background-only workspace.

A patchset names the workspace it belongs to by digest (``metadata.digests``, e.g.
``{"sha256": ...}``), computed as pyhf does (:func:`digest`: the hash of
``json.dumps(workspace, sort_keys=True, ensure_ascii=False)``). Applying a patch first checks
that digest against the workspace JSON, then applies the patch's RFC 6902 operations.

Use with :func:`hs3jax.load`::

    hs3jax.load("BkgOnly.json", patches=[("patchset.json", "C1N2_Wh_hbb_700_400")])
    ps = hs3jax.PatchSet.read("patchset.json")
    hs3jax.load("BkgOnly.json", patches=[ps["C1N2_Wh_hbb_700_400"]])
    hs3jax.load("BkgOnly.json", patches=[ps[(700.0, 400.0)]])   # by the patch's values
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hs3jax.errors import FormatError

__all__ = ["Patch", "PatchSet", "digest"]


def digest(obj: Any, algorithm: str = "sha256") -> str:
    """pyhf's digest of JSON data (``pyhf.utils.digest``)."""
    text = json.dumps(obj, sort_keys=True, ensure_ascii=False).encode("utf8")
    try:
        return hashlib.new(algorithm, text).hexdigest()
    except ValueError:
        raise FormatError(
            f"unknown digest algorithm {algorithm!r}",
            expected=f"one of {sorted(hashlib.algorithms_available)}",
            show_found=False,
        ) from None


@dataclass(frozen=True)
class Patch:
    """One patch of a patchset: its name, values, JSON Patch operations and the digests of the
    workspace it applies to."""

    name: str
    operations: tuple[dict[str, Any], ...]
    digests: Mapping[str, str] = field(default_factory=dict)
    values: tuple[Any, ...] = ()
    file: str | None = None

    def verify(self, workspace: Any, file: str | None = None) -> None:
        """Raise :class:`FormatError` unless ``workspace`` has the digests the patchset names."""
        for algorithm, expected in self.digests.items():
            found = digest(workspace, algorithm)
            if found != expected:
                raise FormatError(
                    f"patch {self.name!r} belongs to another workspace: its patchset names "
                    f"{algorithm} digest {expected}, this workspace has {found}",
                    file=self.file or file,
                    expected=f"the background-only workspace with {algorithm} {expected}",
                    show_found=False,
                )

    def apply(self, workspace: Any, file: str | None = None) -> Any:
        """The workspace JSON with this patch applied (digests verified first)."""
        import jsonpatch

        self.verify(workspace, file)
        try:
            return jsonpatch.apply_patch(workspace, list(self.operations))
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as exc:
            raise FormatError(
                f"patch {self.name!r} does not apply: {exc}",
                file=self.file or file,
                expected="operations whose paths exist in the workspace",
                show_found=False,
            ) from None


@dataclass(frozen=True)
class PatchSet:
    """A pyhf patchset: metadata (digests, labels) and named patches."""

    patches: tuple[Patch, ...]
    metadata: Mapping[str, Any]
    version: str = "1.0.0"

    @classmethod
    def read(cls, source: str | os.PathLike[str] | Mapping[str, Any]) -> PatchSet:
        """Read a patchset from a path, JSON text or a dict."""
        from hs3jax.formats.load import read_json

        raw, file = read_json(source)
        return cls.from_dict(raw, file)

    @classmethod
    def from_dict(cls, raw: Any, file: str | None = None) -> PatchSet:
        if not isinstance(raw, Mapping) or "patches" not in raw or "metadata" not in raw:
            raise FormatError(
                "not a pyhf patchset",
                file=file,
                expected="an object with 'metadata' (digests, labels) and 'patches'",
                found=sorted(raw)[:5] if isinstance(raw, Mapping) else type(raw).__name__,
            )
        meta = raw["metadata"]
        digests = meta.get("digests") if isinstance(meta, Mapping) else None
        if not isinstance(digests, Mapping) or not digests:
            raise FormatError(
                "a patchset needs metadata.digests",
                file=file,
                path=("metadata", "digests"),
                expected="{'sha256': '<digest of the background-only workspace>'}",
                found=digests,
            )
        patches = []
        for i, p in enumerate(raw["patches"]):
            pm = p.get("metadata", {}) if isinstance(p, Mapping) else {}
            if not isinstance(pm.get("name"), str) or not isinstance(p.get("patch"), list):
                raise FormatError(
                    "a patch needs metadata.name and a 'patch' list",
                    file=file,
                    path=("patches", i),
                    expected="{'metadata': {'name': ..., 'values': [...]}, 'patch': [...]}",
                    found=sorted(p)[:5] if isinstance(p, Mapping) else p,
                )
            patches.append(
                Patch(
                    name=pm["name"],
                    operations=tuple(p["patch"]),
                    digests=dict(digests),
                    values=tuple(pm.get("values", ())),
                    file=file,
                )
            )
        return cls(tuple(patches), dict(meta), str(raw.get("version", "1.0.0")))

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.patches]

    def __getitem__(self, key: str | Sequence[Any]) -> Patch:
        """A patch by name, or by its ``values`` (a tuple, e.g. the signal masses)."""
        for p in self.patches:
            if (isinstance(key, str) and p.name == key) or (
                not isinstance(key, str) and tuple(key) == p.values
            ):
                return p
        raise FormatError(
            f"no patch {key!r} in this patchset",
            file=self.patches[0].file if self.patches else None,
            expected="a patch name or values",
            known=self.names,
            show_found=False,
        )

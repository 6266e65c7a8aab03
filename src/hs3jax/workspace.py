"""``Workspace``: a parsed document and the entry point to compiled models."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hs3jax.compile import compile_model
from hs3jax.formats.load import apply_patch, read_document, read_json
from hs3jax.formats.to_pyhf import hs3_to_pyhf
from hs3jax.formats.writer import hs3_data, root_data, write_json
from hs3jax.model import Model
from hs3jax.schema.base import Distribution, Function
from hs3jax.schema.document import (
    Analysis,
    Document,
    Domain,
    Likelihood,
    ParameterPoint,
)

__all__ = ["Workspace", "dump", "load"]


@dataclass(frozen=True, eq=False)
class Workspace:
    """A typed HS3 document (read from HS3 or pyhf JSON) and the models it defines."""

    document: Document
    source_format: str = "hs3"
    file: str | None = None
    _models: dict[tuple[str | None, str], Model] = field(default_factory=dict, repr=False)

    @property
    def distributions(self) -> list[Distribution]:
        return self.document.distributions

    @property
    def functions(self) -> list[Function]:
        return self.document.functions

    @property
    def data(self) -> list[Any]:
        return self.document.data

    @property
    def likelihoods(self) -> list[Likelihood]:
        return self.document.likelihoods

    @property
    def analyses(self) -> list[Analysis]:
        return self.document.analyses

    @property
    def domains(self) -> list[Domain]:
        return self.document.domains

    @property
    def parameter_points(self) -> list[ParameterPoint]:
        return self.document.parameter_points

    @property
    def metadata(self) -> Any:
        return self.document.metadata

    @property
    def misc(self) -> dict[str, Any] | None:
        return self.document.misc

    def model(self, name: str | None = None, *, binned_density: str = "bin_centres") -> Model:
        """The compiled model of analysis or likelihood ``name`` (default: the first analysis,
        else the first likelihood). Compiled once per (name, options) and cached.

        ``binned_density``: "bin_centres" (ROOT 6.40's evaluation of binned data with an
        ordinary density) or "integrated" (the exact bin-integrated likelihood); see
        :func:`hs3jax.compile.compile_model`.
        """
        key = (name, binned_density)
        if key not in self._models:
            self._models[key] = compile_model(
                self.document, name, file=self.file, binned_density=binned_density
            )
        return self._models[key]

    def to_dict(self, *, for_root: bool = False, analysis: str | None = None) -> dict[str, Any]:
        """The document as HS3 JSON data.

        Lossless by default (``load(ws.to_dict())`` gives the same document). ``for_root=True``:
        HS3 that ROOT 6.40 imports into the same likelihood (for pyhf-origin documents: ROOT
        names, Gaussian staterror block, explicit constraints, one ``analysis``; see
        :mod:`hs3jax.formats.writer`).
        """
        data = self.document.to_dict()
        return root_data(data, analysis) if for_root else hs3_data(data)

    def to_hs3_for_root(self, analysis: str | None = None) -> dict[str, Any]:
        """HS3 JSON data for ROOT 6.40 (same as ``to_dict(for_root=True)``)."""
        return self.to_dict(for_root=True, analysis=analysis)

    def to_pyhf(self, analysis: str | None = None) -> dict[str, Any]:
        """pyhf JSON (workspace 1.0.0) of a HistFactory-only workspace.

        ``analysis``: the analysis (and so likelihood) to convert; default all analyses that
        share the first analysis' likelihood become measurements. Raises
        :class:`~hs3jax.errors.ModelError` where pyhf cannot express the model (Poisson
        staterror, Gaussian shapesys, non-HistFactory distributions, ...).
        """
        return hs3_to_pyhf(self.document.to_dict(), analysis)


def load(
    source: str | os.PathLike[str] | Mapping[str, Any],
    *,
    patches: Sequence[Any] = (),
) -> Workspace:
    """Read a workspace from a path, JSON text or a dict; HS3 or pyhf JSON, detected.

    ``patches``: JSON Patches (RFC 6902: a list of operations, or a path / JSON text of one)
    applied in order to the JSON before it is read.
    """
    raw, file = read_json(source)
    for patch in patches:
        raw = apply_patch(raw, patch, file)
    doc, fmt = read_document(raw, file)
    return Workspace(doc, fmt, file)


def dump(
    ws: Workspace,
    path: str | os.PathLike[str],
    *,
    indent: int | None = 1,
    to: str = "hs3",
    for_root: bool = False,
    analysis: str | None = None,
) -> None:
    """Write the workspace as JSON.

    ``to="hs3"`` (default): HS3, lossless; with ``for_root=True`` in the flavour ROOT 6.40
    imports (see :meth:`Workspace.to_dict`). ``to="pyhf"``: pyhf JSON (:meth:`Workspace.to_pyhf`).
    """
    if to == "pyhf":
        data = ws.to_pyhf(analysis)
    elif to == "hs3":
        data = ws.to_dict(for_root=for_root, analysis=analysis)
    else:
        raise ValueError(f"unknown output format {to!r}; known: 'hs3', 'pyhf'")
    write_json(data, path, indent)

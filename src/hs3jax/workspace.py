"""``Workspace``: a parsed document and the entry point to compiled models."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hs3jax.compile import compile_model
from hs3jax.formats.load import apply_patch, read_document, read_json
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
    _models: dict[str | None, Model] = field(default_factory=dict, repr=False)

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

    def model(self, name: str | None = None) -> Model:
        """The compiled model of analysis or likelihood ``name`` (default: the first analysis,
        else the first likelihood). Compiled once per name and cached."""
        if name not in self._models:
            self._models[name] = compile_model(self.document, name, file=self.file)
        return self._models[name]

    def to_dict(self) -> dict[str, Any]:
        """The document as HS3 JSON data."""
        return self.document.to_dict()


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


def dump(ws: Workspace, path: str | os.PathLike[str], *, indent: int | None = 1) -> None:
    """Write the workspace as HS3 JSON."""
    Path(path).write_text(json.dumps(ws.to_dict(), indent=indent) + "\n", encoding="utf-8")

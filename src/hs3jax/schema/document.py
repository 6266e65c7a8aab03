"""Pydantic models of the whole HS3 document.

The top-level sections are typed (``metadata``, ``distributions``, ``functions``, ``data``,
``likelihoods``, ``domains``, ``parameter_points``, ``analyses``, ``misc``); distributions and
functions are read through the open registry (:mod:`hs3jax.registry`), so a registered user type
parses like a built-in one. Every model keeps keys it does not declare, so that writing a
document back loses nothing.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from hs3jax.errors import DocumentError
from hs3jax.schema.base import Distribution, Function

__all__ = [
    "Analysis",
    "Axis",
    "BinnedData",
    "Datum",
    "Document",
    "Domain",
    "Likelihood",
    "Metadata",
    "ParameterPoint",
    "ParameterValue",
    "PointData",
    "UnbinnedData",
]


class _Keep(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True, protected_namespaces=())

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_unset=True, mode="json")


class Metadata(_Keep):
    hs3_version: str = "0.2"
    packages: list[dict[str, Any]] | None = None
    authors: list[Any] | None = None
    description: str | None = None


class Axis(_Keep):
    """One observable axis of a dataset or binned distribution.

    Either a regular binning (``min``, ``max``, ``nbins``) or irregular ``edges``; unbinned axes
    carry only ``min``/``max`` (the range the density is normalised over).
    """

    name: str
    min: float | None = None
    max: float | None = None
    nbins: int | None = None
    edges: list[float] | None = None

    @model_validator(mode="after")
    def _check(self) -> Axis:
        if self.edges is not None:
            if len(self.edges) < 2:
                raise DocumentError(
                    f"axis {self.name!r} has too few edges",
                    path=("edges",),
                    expected="at least two edges",
                    found=self.edges,
                )
            for i, (a, b) in enumerate(zip(self.edges, self.edges[1:], strict=False)):
                if b <= a:
                    raise DocumentError(
                        f"the edges of axis {self.name!r} do not increase at edge {i + 1} "
                        f"({a} -> {b})",
                        path=("edges",),
                        expected="strictly increasing edges",
                        found=self.edges,
                    )
        if self.nbins is not None and self.nbins < 1:
            raise DocumentError(
                f"axis {self.name!r} has no bins",
                path=("nbins",),
                expected="'nbins' of at least 1",
                found=self.nbins,
            )
        if self.min is not None and self.max is not None and self.max < self.min:
            raise DocumentError(
                f"axis {self.name!r} has 'max' ({self.max}) below 'min' ({self.min})",
                path=("max",),
                expected=f"a value >= {self.min}",
                found=self.max,
            )
        return self

    def bin_edges(self) -> np.ndarray:
        """The bin edges (float64); regular binning is expanded."""
        if self.edges is not None:
            return np.asarray(self.edges, dtype=np.float64)
        if self.nbins is not None and self.min is not None and self.max is not None:
            return np.linspace(self.min, self.max, self.nbins + 1, dtype=np.float64)
        raise ValueError(f"axis {self.name!r} has no binning (needs 'edges' or min/max/nbins)")

    @property
    def lo(self) -> float:
        if self.edges is not None:
            return float(self.edges[0])
        return float(self.min) if self.min is not None else -np.inf

    @property
    def hi(self) -> float:
        if self.edges is not None:
            return float(self.edges[-1])
        return float(self.max) if self.max is not None else np.inf


class BinnedData(_Keep):
    """Counts in the bins of one or more axes (row-major over the axes, first axis slowest)."""

    name: str
    type: Literal["binned"] = "binned"
    axes: list[Axis]
    contents: list[float]
    uncertainty: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _check(self) -> BinnedData:
        nbins = 1
        for i, axis in enumerate(self.axes):
            try:
                nbins *= len(axis.bin_edges()) - 1
            except ValueError as exc:
                raise DocumentError(
                    str(exc),
                    path=("axes", i),
                    expected="'edges' or 'min', 'max' and 'nbins'",
                    found=axis.to_dict(),
                ) from None
        if nbins != len(self.contents):
            raise DocumentError(
                f"dataset {self.name!r} has {len(self.contents)} contents but its axes have "
                f"{nbins} bins",
                path=("contents",),
                expected=f"{nbins} values (one per bin)",
                found=len(self.contents),
            )
        return self


class UnbinnedData(_Keep):
    """Events (one row per event, one column per axis), optionally weighted."""

    name: str
    type: Literal["unbinned"] = "unbinned"
    axes: list[Axis]
    entries: list[list[float]]
    weights: list[float] | None = None

    @model_validator(mode="after")
    def _check(self) -> UnbinnedData:
        width = len(self.axes)
        for i, row in enumerate(self.entries):
            if len(row) != width:
                raise DocumentError(
                    f"entry {i} of dataset {self.name!r} has {len(row)} values for {width} axes",
                    path=("entries", i),
                    expected=f"{width} values (one per axis)",
                    found=row,
                )
        if self.weights is not None and len(self.weights) != len(self.entries):
            raise DocumentError(
                f"dataset {self.name!r} has {len(self.weights)} weights for "
                f"{len(self.entries)} entries",
                path=("weights",),
                expected=f"{len(self.entries)} weights (one per entry)",
                found=len(self.weights),
            )
        return self


class PointData(_Keep):
    """A single measured value (with an optional uncertainty)."""

    name: str
    type: Literal["point"] = "point"
    value: float
    uncertainty: float | None = None


Datum = BinnedData | UnbinnedData | PointData


class Likelihood(_Keep):
    """Distributions paired with data; ``aux_distributions`` enter without data."""

    name: str
    distributions: list[str] = Field(default_factory=list)
    data: list[str | float] = Field(default_factory=list)
    aux_distributions: list[str] | None = None

    @model_validator(mode="after")
    def _check(self) -> Likelihood:
        if len(self.distributions) != len(self.data):
            raise DocumentError(
                f"likelihood {self.name!r} has {len(self.distributions)} distributions but "
                f"{len(self.data)} data entries; each distribution needs one dataset",
                path=("data",),
                expected=f"{len(self.distributions)} entries (one per distribution)",
                found=self.data,
            )
        return self


class DomainAxis(_Keep):
    name: str
    min: float | None = None
    max: float | None = None


class Domain(_Keep):
    name: str
    type: str = "product_domain"
    axes: list[DomainAxis] = Field(default_factory=list)


class ParameterValue(_Keep):
    name: str
    value: float
    const: bool | None = None
    min: float | None = None
    max: float | None = None


class ParameterPoint(_Keep):
    name: str
    parameters: list[ParameterValue] = Field(default_factory=list)


class Analysis(_Keep):
    name: str
    likelihood: str
    parameters_of_interest: list[str] | None = None
    domains: list[str] | None = None
    init: str | None = None
    prior: str | None = None


class Document(_Keep):
    """A whole HS3 document."""

    metadata: Metadata = Field(default_factory=Metadata)
    distributions: list[Distribution] = Field(default_factory=list)
    functions: list[Function] = Field(default_factory=list)
    data: list[BinnedData | UnbinnedData | PointData] = Field(default_factory=list)
    likelihoods: list[Likelihood] = Field(default_factory=list)
    domains: list[Domain] = Field(default_factory=list)
    parameter_points: list[ParameterPoint] = Field(default_factory=list)
    analyses: list[Analysis] = Field(default_factory=list)
    misc: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The document as JSON data; node classes write their own keys back unchanged."""
        out: dict[str, Any] = {}
        for key in self.model_fields_set | set(self.model_extra or {}):
            value = getattr(self, key)
            if isinstance(value, list):
                out[key] = [v.to_dict() if hasattr(v, "to_dict") else v for v in value]
            elif hasattr(value, "to_dict"):
                out[key] = value.to_dict()
            else:
                out[key] = value
        return out

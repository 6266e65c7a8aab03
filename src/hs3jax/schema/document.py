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
                raise ValueError("'edges' needs at least two values")
            if any(b <= a for a, b in zip(self.edges, self.edges[1:], strict=False)):
                raise ValueError("'edges' must be strictly increasing")
        if self.nbins is not None and self.nbins < 1:
            raise ValueError("'nbins' must be at least 1")
        if self.min is not None and self.max is not None and self.max < self.min:
            raise ValueError(f"'max' ({self.max}) is below 'min' ({self.min})")
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
        for axis in self.axes:
            nbins *= len(axis.bin_edges()) - 1
        if nbins != len(self.contents):
            raise ValueError(
                f"'contents' has {len(self.contents)} entries but the axes have {nbins} bins"
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
                raise ValueError(f"entry {i} has {len(row)} values, the axes need {width}")
        if self.weights is not None and len(self.weights) != len(self.entries):
            raise ValueError(
                f"'weights' has {len(self.weights)} values for {len(self.entries)} entries"
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
            raise ValueError(
                f"{len(self.distributions)} distributions but {len(self.data)} data entries; "
                "each distribution needs one dataset"
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

"""Densities made of bins: histograms, sums of binned functions, bin-integrated densities.

* ``histogram_dist`` (ROOT ``RooHistPdf``): a piecewise-constant density;
* ``weighted_sum_dist`` (ROOT ``RooRealSumPdf``): Σ_k c_k f_k(x), normalised over the range,
  extended with ν = ∫ Σ_k c_k f_k when ``extended``;
* ``binsampling`` / ``binsampling_dist`` (ROOT ``RooBinSamplingPdf``): a density averaged over
  the bins of its observable.

Piecewise-constant integrands are integrated exactly: quadrature panels are aligned to the bin
edges (:func:`hs3jax.density.log_normalisation_nd` with breakpoints).
"""

from __future__ import annotations

from typing import Annotated, Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import logsumexp
from pydantic import BaseModel, ConfigDict

from hs3jax.density import Scope, gauss_legendre_on
from hs3jax.errors import ModelError
from hs3jax.registry import register
from hs3jax.schema.base import DistRef, Distribution, RefSpec
from hs3jax.schema.document import Axis

__all__ = ["BinSampling", "HistogramDist", "WeightedSumDist", "bin_index", "histogram_edges"]


class HistogramData(BaseModel):
    """Bin contents over axes (row-major, first axis slowest), as in binned data."""

    model_config = ConfigDict(extra="allow")

    axes: list[Axis]
    contents: list[float]


def histogram_edges(node: Any, observable: str) -> np.ndarray | None:
    """Bin edges of ``node`` along ``observable`` if the node is binned there (duck-typed on a
    ``data.axes`` field, as HS3 writes histograms), else None."""
    data = getattr(node, "data", None)
    axes = getattr(data, "axes", None)
    if axes is None and isinstance(data, dict):
        axes = [Axis.model_validate(a) for a in data.get("axes", [])]
    for axis in axes or []:
        if axis.name == observable:
            edges: np.ndarray = axis.bin_edges()
            return edges
    return None


def bin_index(edges: np.ndarray, x: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Index of the bin containing x (clipped) and whether x lies inside [edges[0], edges[-1]]."""
    e = jnp.asarray(edges)
    idx = jnp.clip(jnp.searchsorted(e, x, side="right") - 1, 0, len(edges) - 2)
    inside = (x >= e[0]) & (x <= e[-1])
    return idx, inside


@register("histogram_dist")
class HistogramDist(Distribution):
    r"""Piecewise-constant density :math:`p(x) = c_i / \sum_j c_j V_j` for x in bin i.

    HS3 ``histogram_dist``; ROOT ``RooHistPdf`` (interpolation order 0): the bin contents are
    the density's heights, normalised by Σ contents × bin volumes over the whole histogram.
    """

    data: HistogramData

    def observables(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.data.axes)

    def log_prob(self, scope: Scope) -> jax.Array:
        edges = [a.bin_edges() for a in self.data.axes]
        shape = [len(e) - 1 for e in edges]
        contents = np.asarray(self.data.contents, dtype=np.float64).reshape(shape)
        volumes = np.ones(shape)
        for k, e in enumerate(edges):
            widths = np.diff(e).reshape([-1 if j == k else 1 for j in range(len(shape))])
            volumes = volumes * widths
        norm = float(np.sum(contents * volumes))
        flat_index: jax.Array = jnp.zeros((), dtype=jnp.int64)
        inside: jax.Array = jnp.ones((), dtype=bool)
        for axis, e, n in zip(self.data.axes, edges, shape, strict=True):
            if axis.name not in scope.observables:
                raise ModelError(
                    f"histogram_dist {self.name!r} needs observable {axis.name!r} in the data"
                )
            idx, ok = bin_index(e, scope.observables[axis.name])
            flat_index = flat_index * n + idx
            inside = inside & ok
        heights = jnp.asarray(contents.ravel())[flat_index]
        safe = jnp.where(inside & (heights > 0), heights, 1.0)
        return jnp.where(inside & (heights > 0), jnp.log(safe / norm), -jnp.inf)

    def breakpoints(self, observable: str) -> np.ndarray | None:
        return histogram_edges(self, observable)


@register("weighted_sum_dist")
class WeightedSumDist(Distribution):
    r"""p(x) = Σ_k c_k f_k(x) / ∫ Σ_k c_k f_k, over the observables' ranges.

    HS3 ``weighted_sum_dist``; ROOT ``RooRealSumPdf``. With ``extended`` the expected number of
    events is the integral ν = ∫ Σ_k c_k f_k dx (as ``RooRealSumPdf::expectedEvents``).
    """

    samples: Annotated[list[str], RefSpec(many=True)]
    coefficients: Annotated[list[str | float], RefSpec(many=True)]
    extended: bool | None = None

    def _observable(self, scope: Scope) -> str:
        candidates = [
            o
            for o in scope.ranges
            if any(histogram_edges(scope.nodes.get(s), o) is not None for s in self.samples)
        ]
        bound = [o for o in scope.observables]
        for o in candidates:
            if not bound or o in bound:
                return o
        if len(bound) == 1:
            return bound[0]
        raise ModelError(f"weighted_sum_dist {self.name!r}: cannot tell its observable")

    def _log_sum(self, scope: Scope) -> jax.Array:
        coefs = [scope.value(c) for c in self.coefficients]
        funcs = [scope.value(s) for s in self.samples]
        total = sum((c * f for c, f in zip(coefs, funcs, strict=True)), jnp.zeros(()))
        return jnp.log(total)

    def _log_integral(self, scope: Scope, observable: str) -> jax.Array:
        lo, hi = scope.ranges[observable]
        breaks = [
            e
            for s in self.samples
            if (e := histogram_edges(scope.nodes.get(s), observable)) is not None
        ]
        nodes, weights = gauss_legendre_on(lo, hi, breaks)
        inner = scope.with_observables({observable: jnp.asarray(nodes)})
        return logsumexp(self._log_sum(inner) + jnp.log(jnp.asarray(weights)))

    def log_prob(self, scope: Scope) -> jax.Array:
        observable = self._observable(scope)
        return self._log_sum(scope) - self._log_integral(scope, observable)

    def expected_events(self, scope: Scope) -> jax.Array | None:
        if not self.extended:
            return None
        observable = self._observable(scope)
        return jnp.exp(self._log_integral(scope, observable))


class _BinSamplingBase(Distribution):
    pdf: DistRef
    observable: str
    epsilon: float | None = None

    def observables(self) -> tuple[str, ...]:
        return (self.observable,)

    def log_prob(self, scope: Scope) -> jax.Array:
        """ln of the child's normalised density averaged over the bin containing x."""
        if self.observable not in scope.observables:
            raise ModelError(f"{self.type} {self.name!r} needs observable {self.observable!r}")
        edges = scope.binnings.get(self.observable)
        if edges is None:
            raise ModelError(
                f"{self.type} {self.name!r}: observable {self.observable!r} has no binning "
                "(a binned dataset or a domain with nbins)"
            )
        x = scope.observables[self.observable]
        idx, inside = bin_index(edges, x)
        gx, gw = np.polynomial.legendre.leggauss(32)
        lo_e, hi_e = edges[:-1], edges[1:]
        half = 0.5 * (hi_e - lo_e)
        nodes = (0.5 * (hi_e + lo_e))[:, None] + half[:, None] * gx[None, :]
        weights = half[:, None] * gw[None, :] / (hi_e - lo_e)[:, None]
        inner = scope.with_observables({self.observable: jnp.asarray(nodes.ravel())})
        logp = scope_log_prob(inner, self.pdf).reshape(nodes.shape)
        per_bin = logsumexp(logp + jnp.log(jnp.asarray(weights)), axis=1)
        return jnp.where(inside, per_bin[idx], -jnp.inf)


def scope_log_prob(scope: Scope, name: str) -> jax.Array:
    out = scope.log_prob(name)
    return jnp.broadcast_to(out, jnp.shape(next(iter(scope.observables.values()))))


@register("binsampling", "binsampling_dist")
class BinSampling(_BinSamplingBase):
    r"""Bin-averaged density :math:`p_b(x) = \frac{1}{\Delta_i}\int_{\text{bin } i} p(t)\,dt`.

    ROOT ``RooBinSamplingPdf``. ROOT 6.40 exports it as ``binsampling`` while its importer only
    reads ``binsampling_dist``; both spellings are read (and written back as read). The integral
    per bin uses 32-point Gauss–Legendre.
    """

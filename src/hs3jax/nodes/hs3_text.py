r"""Distributions of the HS3 text that ROOT 6.40 does not export (and ROOT's multi-normal).

Every class implements ``log_prob(scope)``: the log-density normalised over the ranges of the
observables bound in the scope (HS3's rule), and where the distribution carries an event rate,
``expected_events(scope)``. References (HS3 text, hep-statistics-serialization-standard):

- ``multivariate_normal_dist``, ``barlow_beeston_lite_poisson_constraint_dist``: section 2.1.1
  (multivariate fundamental distributions);
- ``mixture_model``, ``density_function_dist``, ``log_density_function_dist``,
  ``rate_extended_dist``, ``rate_density_dist``, ``bincounts_extended_dist``,
  ``bincounts_density_dist``: section 2.1.2 (composite distributions).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from typing import Annotated

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.linalg import solve_triangular
from jax.scipy.special import logsumexp

from hs3jax.density import (
    Scope,
    bin_quadrature,
    depends_on,
    flat_bin_index,
    gauss_legendre,
    log_normalisation_nd,
)
from hs3jax.errors import DocumentError, ModelError
from hs3jax.nodes.basic import log_gauss_mass, poisson_logpmf
from hs3jax.nodes.composite import MixtureDist
from hs3jax.registry import register
from hs3jax.schema.base import DistRef, DistRefList, Distribution, Ref, Reference, RefSpec
from hs3jax.schema.document import Axis

__all__ = [
    "BarlowBeestonLiteConstraint",
    "BinCountsDensityDist",
    "BinCountsExtendedDist",
    "DensityFunctionDist",
    "LogDensityFunctionDist",
    "MixtureModel",
    "MultivariateNormalDist",
    "RateDensityDist",
    "RateExtendedDist",
    "mvn_log_box_mass",
]

#: a list of random variables (observables, or parameters when used as a constraint)
ObservableList = Annotated[list[str | float], RefSpec(many=True, observable=True)]
Coefficients = Annotated[list[str | float], RefSpec(many=True)]

_LOG_2PI = math.log(2.0 * math.pi)
#: an infinite outer integration bound is replaced by mean ± this many standard deviations
_TAIL_SIGMAS = 40.0


def _bound(names: Sequence[str | float], scope: Scope) -> list[int]:
    """Positions of the entries of ``names`` that are observables bound in ``scope``."""
    return [i for i, n in enumerate(names) if isinstance(n, str) and n in scope.observables]


def _mvn_log_density(x: jax.Array, mean: jax.Array, chol: jax.Array) -> jax.Array:
    """ln N(x | mean, L Lᵀ) over the last axis of ``x`` and ``mean``."""
    k = chol.shape[-1]
    diff = jnp.broadcast_to(x - mean, jnp.broadcast_shapes(jnp.shape(x), jnp.shape(mean)))
    flat = diff.reshape(-1, k)
    z = solve_triangular(chol, flat.T, lower=True)
    maha = jnp.sum(z * z, axis=0).reshape(diff.shape[:-1])
    log_det = 2.0 * jnp.sum(jnp.log(jnp.diagonal(chol)))
    return -0.5 * maha - 0.5 * log_det - 0.5 * k * _LOG_2PI


def mvn_log_box_mass(
    mean: jax.Array, cov: jax.Array, lo: Sequence[float], hi: Sequence[float]
) -> jax.Array:
    r"""ln P(lo ≤ X ≤ hi) for X ~ N(mean, cov) in k dimensions (``mean`` shape ``(k,)``).

    k = 1: :math:`\Phi` differences (exact). k ≥ 2: the last coordinate is integrated
    analytically given the others (a conditional normal, :math:`\Phi` differences), the first
    k − 1 by tensor-product Gauss–Legendre quadrature of their marginal density; an infinite outer
    bound is cut at mean ± 40σ (the mass beyond is below 1e-300). All bounds infinite: 0.
    """
    k = int(cov.shape[-1])
    if all(math.isinf(a) and math.isinf(b) for a, b in zip(lo, hi, strict=True)):
        return jnp.zeros(())
    sd = jnp.sqrt(jnp.diagonal(cov))
    if k == 1:
        return log_gauss_mass((lo[0] - mean[0]) / sd[0], (hi[0] - mean[0]) / sd[0])
    outer, last = slice(0, k - 1), k - 1
    cov_oo = cov[outer, outer]
    cov_lo = cov[last, outer]
    gain = jnp.linalg.solve(cov_oo, cov_lo)  # Σ_oo⁻¹ Σ_o,last
    cond_sd = jnp.sqrt(cov[last, last] - cov_lo @ gain)
    panels = {2: 64, 3: 16}.get(k, 4)
    axes_nodes, axes_logw = [], []
    for i in range(k - 1):
        a, b = lo[i], hi[i]
        if not (math.isfinite(a) and math.isfinite(b)):
            # a finite cut is needed for the nodes: use a generous window around the mean
            centre = float(jax.lax.stop_gradient(mean[i]))
            width = _TAIL_SIGMAS * float(jax.lax.stop_gradient(sd[i]))
            a = a if math.isfinite(a) else centre - width
            b = b if math.isfinite(b) else centre + width
        nodes, weights = gauss_legendre(float(a), float(b), panels)
        axes_nodes.append(nodes)
        axes_logw.append(np.log(weights))
    grids = np.meshgrid(*axes_nodes, indexing="ij")
    wgrids = np.meshgrid(*axes_logw, indexing="ij")
    pts = jnp.asarray(np.stack([g.ravel() for g in grids], axis=-1))
    logw = jnp.asarray(np.sum([w.ravel() for w in wgrids], axis=0))
    chol = jnp.linalg.cholesky(cov_oo)
    log_marg = _mvn_log_density(pts, mean[outer], chol)
    cond_mean = mean[last] + (pts - mean[outer]) @ gain
    inner = log_gauss_mass((lo[last] - cond_mean) / cond_sd, (hi[last] - cond_mean) / cond_sd)
    return logsumexp(log_marg + inner + logw)


@register("multivariate_normal_dist", "multinormal_dist")
class MultivariateNormalDist(Distribution):
    r"""Multivariate normal :math:`\mathcal{N}(\mathbf{x}\,|\,\boldsymbol\mu,\Sigma)
    = e^{-\frac12(\mathbf{x}-\boldsymbol\mu)^\mathsf{T}\Sigma^{-1}(\mathbf{x}-\boldsymbol\mu)}
    /\sqrt{(2\pi)^k\det\Sigma}`.

    HS3 text 2.1.1 ``multivariate_normal_dist`` (``x``, ``mean``, ``covariances``: a k × k matrix
    of numbers or names); ROOT ``RooMultiVarGaussian`` (written as ``multivariate_normal_dist``
    by ROOT 6.40, ``multinormal_dist`` by older ROOT). ROOT's alternative
    ``correlations`` + ``standard_deviations`` is read too (Σ_ij = ρ_ij σ_i σ_j).

    Normalisation: over the box of the bound observables' ranges, by :func:`mvn_log_box_mass`
    (exact in one dimension; one analytic dimension plus Gauss–Legendre quadrature of the others
    for k ≥ 2, accurate to ~1e-14 relative for k ≤ 3). Entries of ``x`` that are not bound
    observables (parameters, numbers) are conditioned on: the density is the conditional normal
    of the bound entries. With none bound (a constraint on parameters) it is the plain density.
    """

    x: ObservableList
    mean: Coefficients
    covariances: list[list[str | float]] | None = None
    correlations: list[list[str | float]] | None = None
    standard_deviations: list[str | float] | None = None

    def references(self) -> Iterator[Reference]:
        yield from super().references()
        for key in ("covariances", "correlations"):
            matrix = getattr(self, key)
            for i, row in enumerate(matrix or []):
                for j, item in enumerate(row):
                    if isinstance(item, str):
                        yield Reference(item, (key, i, j))
        for i, item in enumerate(self.standard_deviations or []):
            if isinstance(item, str):
                yield Reference(item, ("standard_deviations", i))

    def check(self) -> None:
        k = len(self.x)
        if len(self.mean) != k:
            raise DocumentError(
                f"multivariate_normal_dist {self.name!r} has {k} variables but "
                f"{len(self.mean)} means",
                path=("mean",),
                expected=f"{k} entries",
                found=len(self.mean),
            )
        if self.covariances is not None:
            matrix, key = self.covariances, "covariances"
        elif self.correlations is not None and self.standard_deviations is not None:
            matrix, key = self.correlations, "correlations"
        else:
            raise DocumentError(
                f"multivariate_normal_dist {self.name!r} needs 'covariances' "
                "(or 'correlations' and 'standard_deviations')",
                path=(),
                expected="a k × k 'covariances' matrix",
                found=None,
            )
        if len(matrix) != k or any(len(row) != k for row in matrix):
            raise DocumentError(
                f"multivariate_normal_dist {self.name!r}: '{key}' must be {k} × {k}",
                path=(key,),
                expected=f"{k} rows of {k} entries",
                found=[len(row) for row in matrix],
            )

    def observables(self) -> tuple[str, ...]:
        return tuple(v for v in self.x if isinstance(v, str))

    def covariance(self, scope: Scope) -> jax.Array:
        """Σ as a (k, k) array (entries may be parameters or functions)."""
        if self.covariances is not None:
            rows = [[scope.value(v) for v in row] for row in self.covariances]
            return jnp.stack([jnp.stack(r) for r in rows])
        assert self.correlations is not None and self.standard_deviations is not None
        rho = jnp.stack([jnp.stack([scope.value(v) for v in row]) for row in self.correlations])
        sd = jnp.stack([scope.value(v) for v in self.standard_deviations])
        return rho * sd[:, None] * sd[None, :]

    def _event_mean_error(self) -> ModelError:
        return ModelError(
            f"multivariate_normal_dist {self.name!r}: means that vary event by event "
            "(functions of other observables) are not supported with range normalisation"
        )

    def log_prob(self, scope: Scope) -> jax.Array:
        cov = self.covariance(scope)
        mean = scope.field(self, "mean")
        values = [scope.value(v) for v in self.x]
        bound = _bound(self.x, scope)
        if bound and jnp.ndim(mean) != 1:
            raise self._event_mean_error()
        if not bound or len(bound) == len(self.x):
            shape = jnp.broadcast_shapes(*(jnp.shape(v) for v in values))
            x = jnp.stack([jnp.broadcast_to(v, shape) for v in values], axis=-1)
            chol = jnp.linalg.cholesky(cov)
            logd = _mvn_log_density(x, mean, chol)
            if not bound:
                return logd
            cond_mean, cond_cov = mean, cov
        else:
            rest = [i for i in range(len(self.x)) if i not in bound]
            b, r = jnp.asarray(bound), jnp.asarray(rest)
            x_r = jnp.stack([values[i] for i in rest], axis=-1)
            cov_rr = cov[r][:, r]
            cov_br = cov[b][:, r]
            gain = jnp.linalg.solve(cov_rr, cov_br.T).T  # Σ_br Σ_rr⁻¹
            cond_mean = mean[b] + (x_r - mean[r]) @ gain.T
            cond_cov = cov[b][:, b] - gain @ cov_br.T
            shape = jnp.broadcast_shapes(*(jnp.shape(values[i]) for i in bound))
            x_b = jnp.stack([jnp.broadcast_to(values[i], shape) for i in bound], axis=-1)
            logd = _mvn_log_density(x_b, cond_mean, jnp.linalg.cholesky(cond_cov))
        if jnp.ndim(cond_mean) != 1:
            raise self._event_mean_error()
        names = [str(self.x[i]) for i in bound]
        lo = [scope.ranges.get(n, (-math.inf, math.inf))[0] for n in names]
        hi = [scope.ranges.get(n, (-math.inf, math.inf))[1] for n in names]
        return logd - mvn_log_box_mass(cond_mean, cond_cov, lo, hi)


@register("barlow_beeston_lite_poisson_constraint_dist")
class BarlowBeestonLiteConstraint(Distribution):
    r""":math:`\prod_i \mathrm{Pois}(x_i\tau_i\,|\,\tau_i)` (continued Poisson, real arguments).

    HS3 text 2.1.1 ``barlow_beeston_lite_poisson_constraint_dist``: ``x`` the bin scale
    factors γ_i (names or numbers), ``expected`` the central values τ_i. Each factor is
    :math:`(\tau_i x_i)\ln\tau_i - \tau_i - \ln\Gamma(\tau_i x_i + 1)`, as HistFactory's Poisson
    ``staterror``/``shapesys`` constraint on γ (pyhf's and ROOT's form, for the global
    observable τ_i). It is a constraint on parameters: not normalised over any range.
    """

    x: ObservableList
    expected: Coefficients

    def observables(self) -> tuple[str, ...]:
        return tuple(v for v in self.x if isinstance(v, str))

    @staticmethod
    def log_density(x: jax.Array, expected: jax.Array) -> jax.Array:  # type: ignore[override]
        return jnp.sum(poisson_logpmf(x * expected, expected), axis=-1)

    def check(self) -> None:
        # at load: as a constraint on parameters the node is evaluated through log_density
        # alone, where a shorter ``expected`` would silently broadcast
        if len(self.x) != len(self.expected):
            raise DocumentError(
                f"barlow_beeston_lite_poisson_constraint_dist {self.name!r} has {len(self.x)} "
                f"variables and {len(self.expected)} expected values",
                path=("expected",),
                expected=f"{len(self.x)} expected values, one per variable in 'x'",
                found=len(self.expected),
            )

    def log_prob(self, scope: Scope) -> jax.Array:
        return self.log_density(scope.field(self, "x"), scope.field(self, "expected"))


@register("mixture_model")
class MixtureModel(Distribution):
    r""":math:`\sum_i c_i\,m_i(x)`: a weighted sum of resolution models or model pdfs.

    HS3 text 2.1.2 ``mixture_model``; ROOT ``RooAddModel`` (written as ``mixture_model``).
    With one coefficient fewer than summands, :math:`c_n = 1-\sum_{i<n} c_i`; with all given,
    their sum is the expected number of events where ``extended`` is true. Evaluated as
    :class:`~hs3jax.nodes.composite.MixtureDist` (components normalised before mixing).
    """

    summands: DistRefList
    coefficients: Coefficients
    extended: bool | None = None

    def _as_mixture(self) -> MixtureDist:
        return MixtureDist(
            name=self.name,
            type="mixture_dist",
            summands=list(self.summands),
            coefficients=list(self.coefficients),
            extended=self.extended,
        )

    def log_prob(self, scope: Scope) -> jax.Array:
        return self._as_mixture().log_prob(scope)

    def expected_events(self, scope: Scope) -> jax.Array | None:
        if not self.extended:
            return None
        return self._as_mixture().expected_events(scope)


def _function_observables(function: str, scope: Scope) -> list[str]:
    """The bound observables a function node depends on (in a stable order)."""
    node = scope.nodes.get(function)
    if node is None:
        return [function] if function in scope.observables else []
    return [o for o in scope.observables if depends_on(node, {o}, scope.nodes)]


def _batch_ndim(scope: Scope, observables: Sequence[str]) -> int:
    return max(
        (jnp.ndim(v) for k, v in scope.observables.items() if k not in observables), default=0
    )


def _log_function_prob(
    name: str, log_f: Callable[[Scope], jax.Array], scope: Scope, observables: Sequence[str]
) -> tuple[jax.Array, jax.Array]:
    """(ln f at the bound points, ln ∫ f over the observables' ranges)."""
    logd = log_f(scope)
    if not observables:
        return logd, jnp.zeros(())

    def on_grid(points: dict[str, jax.Array]) -> jax.Array:
        return log_f(scope.with_observables(points))

    try:
        log_norm = log_normalisation_nd(on_grid, list(observables), scope.ranges)
    except ModelError as err:
        raise ModelError(f"{name!r}: {err}") from None
    return logd, log_norm


@register("density_function_dist")
class DensityFunctionDist(Distribution):
    r""":math:`p(x) = f(x)/\int f`: a density given by a non-negative function node ``function``.

    HS3 text 2.1.2 ``density_function_dist``; ROOT master ``RooWrapperPdf`` (with its
    ``selfNormalized`` flag, read here as ``selfNormalized``/``selfnormalized``: no
    normalisation). The random variables are the bound observables ``function`` depends on;
    :math:`\int f` over the product of their ranges is computed by Gauss–Legendre quadrature.
    """

    function: Ref
    selfNormalized: bool | None = None

    def _self_normalised(self) -> bool:
        extra = self.model_extra or {}
        return bool(self.selfNormalized or extra.get("selfnormalized", False))

    def _log_f(self, scope: Scope) -> jax.Array:
        return jnp.log(scope.value(self.function))

    def log_prob(self, scope: Scope) -> jax.Array:
        obs = _function_observables(str(self.function), scope)
        if self._self_normalised():
            return self._log_f(scope)
        logd, log_norm = _log_function_prob(self.name, self._log_f, scope, obs)
        return logd - log_norm


@register("log_density_function_dist")
class LogDensityFunctionDist(Distribution):
    r""":math:`p(x) = e^{g(x)}/\int e^{g}`: a density given by its logarithm ``function`` = g.

    HS3 text 2.1.2 ``log_density_function_dist``; normalised like
    :class:`DensityFunctionDist` (quadrature in log space, so large g do not overflow).
    """

    function: Ref

    def _log_f(self, scope: Scope) -> jax.Array:
        return scope.value(self.function)

    def log_prob(self, scope: Scope) -> jax.Array:
        obs = _function_observables(str(self.function), scope)
        logd, log_norm = _log_function_prob(self.name, self._log_f, scope, obs)
        return logd - log_norm


@register("rate_extended_dist")
class RateExtendedDist(Distribution):
    r"""Poisson point process with rate λ and underlying density m:
    :math:`\mathrm{Pois}(n\,|\,\lambda)\prod_i m(x_i)`.

    HS3 text 2.1.2 ``rate_extended_dist`` (``rate``: λ, ``dist``: m); ROOT master writes
    ``RooExtendPdf`` so. In a likelihood: the events' term of m plus the extended term
    λ − n ln λ (as :class:`~hs3jax.nodes.composite.ExtendPdf`).
    """

    rate: Ref
    dist: DistRef

    def log_prob(self, scope: Scope) -> jax.Array:
        return scope.log_prob(self.dist)

    def expected_events(self, scope: Scope) -> jax.Array | None:
        return scope.value(self.rate)


def _density_integral(density: str, x: str, scope: Scope, lo: float, hi: float) -> jax.Array:
    """∫_lo^hi f(x) dx of function ``density`` by Gauss–Legendre quadrature."""
    nodes, weights = gauss_legendre(float(lo), float(hi))
    inner = scope.with_observables({x: jnp.asarray(nodes)})
    return jnp.sum(jnp.asarray(weights) * inner.value(density))


@register("rate_density_dist")
class RateDensityDist(Distribution):
    r"""Poisson point process given by a rate density f: :math:`\lambda = \int f`,
    :math:`m = f/\lambda`.

    HS3 text 2.1.2 ``rate_density_dist`` (``x``, ``density``). In a likelihood this gives
    :math:`\sum_i \ln f(x_i) - \int f` (plus the constant of the extended term's form
    λ − n ln λ + Σ ln(f/λ), which is the same). ∫ f over x's range by quadrature.
    """

    x: Annotated[str, RefSpec(observable=True)]
    density: Ref

    def _range(self, scope: Scope) -> tuple[float, float]:
        lo, hi = scope.ranges.get(self.x, (-math.inf, math.inf))
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise ModelError(f"rate_density_dist {self.name!r} needs a finite range of {self.x!r}")
        return lo, hi

    def log_prob(self, scope: Scope) -> jax.Array:
        if self.x not in scope.observables:
            raise ModelError(f"rate_density_dist {self.name!r}: observable {self.x!r} is not bound")
        lo, hi = self._range(scope)
        total = _density_integral(str(self.density), self.x, scope, lo, hi)
        return jnp.log(scope.value(self.density)) - jnp.log(total)

    def expected_events(self, scope: Scope) -> jax.Array | None:
        lo, hi = self._range(scope)
        return _density_integral(str(self.density), self.x, scope, lo, hi)


def _bin_log_integrals(
    log_f: Callable[[dict[str, jax.Array]], jax.Array],
    names: Sequence[str],
    edges: Sequence[np.ndarray],
) -> jax.Array:
    r"""ln ∫_b exp(log_f) for every bin b of a tensor-product binning (row-major, first axis
    slowest), by Gauss–Legendre quadrature inside each bin (8 panels × 16 nodes in 1-D, the
    tensor rule of :func:`hs3jax.density.bin_quadrature` in N-D)."""
    one_axis = len(edges) == 1
    per_axis, log_w = bin_quadrature(edges, 16 if one_axis else None, 8 if one_axis else 1)
    points = {n: jnp.asarray(a.ravel()) for n, a in zip(names, per_axis, strict=True)}
    values = jnp.broadcast_to(log_f(points), (log_w.size,)).reshape(log_w.shape)
    return logsumexp(values + jnp.asarray(log_w), axis=1)


class _BinCounts:
    """Shared behaviour of the two bin-count distributions (a mixin, not a node)."""

    name: str
    type: str
    axes: list[Axis] | None

    def _binning(self, scope: Scope) -> list[Axis]:
        """The binning: ``axes``, else (HS3 2.1.2) the axes of a binned underlying dist."""
        if self.axes:
            return list(self.axes)
        child = scope.nodes.get(str(getattr(self, "dist", "")))
        data = getattr(child, "data", None)
        if data is not None and getattr(data, "axes", None):
            return list(data.axes)
        raise ModelError(
            f"{self.type} {self.name!r} needs 'axes' (the binning), unless its 'dist' is binned"
        )

    def _log_nu(self, scope: Scope, binning: list[Axis]) -> jax.Array:  # pragma: no cover
        raise NotImplementedError

    def log_prob(self, scope: Scope) -> jax.Array:
        binning = self._binning(scope)
        missing = [a.name for a in binning if a.name not in scope.observables]
        if missing:
            raise ModelError(f"{self.name!r}: observables {missing} of its binning are not bound")
        log_nu = self._log_nu(scope, binning)
        edges = [a.bin_edges() for a in binning]
        flat, inside = flat_bin_index(edges, [scope.observables[a.name] for a in binning])
        return jnp.where(inside, log_nu[flat] - logsumexp(log_nu), -jnp.inf)

    def expected_events(self, scope: Scope) -> jax.Array | None:
        return jnp.exp(logsumexp(self._log_nu(scope, self._binning(scope))))


@register("bincounts_extended_dist")
class BinCountsExtendedDist(_BinCounts, Distribution):
    r"""Bin counts of a Poisson point process: :math:`\prod_b \mathrm{Pois}(n_b\,|\,\nu_b)`,
    :math:`\nu_b = \lambda\int_b m(\mathbf{y})\,d\mathbf{y}`.

    HS3 text 2.1.2 ``bincounts_extended_dist`` (``rate``: λ, ``dist``: m, ``axes``: the
    binning in one or more dimensions, optional when m is binned: then m's binning).
    ``log_prob`` at a point is :math:`\ln(\nu_b/\sum\nu)` for the bin b containing it and
    ``expected_events`` is :math:`\sum_b\nu_b`, so paired with binned data (points at the bin
    centres, weights n_b) the likelihood is :math:`\sum_b n_b\ln\nu_b - \sum_b\nu_b`: the
    Poisson product up to the constant :math:`\sum_b\ln n_b!`. m is normalised over the
    product of the observables' ranges; the bin integrals are Gauss–Legendre quadratures
    (8 × 16 nodes per bin in 1-D, 16 × 16 in 2-D, 8³ in 3-D).
    """

    rate: Ref
    dist: DistRef
    axes: list[Axis] | None = None

    def _log_nu(self, scope: Scope, binning: list[Axis]) -> jax.Array:
        names = [a.name for a in binning]

        def log_m(points: dict[str, jax.Array]) -> jax.Array:
            return scope.with_observables(points).log_prob(self.dist)

        log_rate = jnp.log(scope.value(self.rate))
        return log_rate + _bin_log_integrals(log_m, names, [a.bin_edges() for a in binning])


@register("bincounts_density_dist")
class BinCountsDensityDist(_BinCounts, Distribution):
    r"""Bin counts with rates :math:`\nu_b = \int_b f(\mathbf{y})\,d\mathbf{y}` of a rate
    density f.

    HS3 text 2.1.2 ``bincounts_density_dist`` (``x``, ``density``, ``axes``); likelihood and
    quadrature as :class:`BinCountsExtendedDist`. With several ``axes`` the random variables
    are the axes (``x`` names one of them).
    """

    x: Annotated[str, RefSpec(observable=True)]
    density: Ref
    axes: list[Axis] | None = None

    def observables(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.axes) if self.axes else (self.x,)

    def _log_nu(self, scope: Scope, binning: list[Axis]) -> jax.Array:
        names = [a.name for a in binning]
        if self.x not in names:
            raise ModelError(
                f"bincounts_density_dist {self.name!r}: x = {self.x!r} is not an axis of its "
                f"binning {names}"
            )

        def log_f(points: dict[str, jax.Array]) -> jax.Array:
            return jnp.log(scope.with_observables(points).value(self.density))

        return _bin_log_integrals(log_f, names, [a.bin_edges() for a in binning])

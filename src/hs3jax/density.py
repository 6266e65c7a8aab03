"""Evaluation of densities and functions at a batch of observable points.

A :class:`Scope` binds observables to arrays of points (events, bin centres, quadrature nodes)
and parameters to the value vector. It evaluates function nodes recursively (so a mean may be a
function of another observable: conditional densities) and gives the log of every distribution
*normalised over the ranges of the observables it is a density in*: analytically where the node
class has ``log_integral``, by Gauss–Legendre quadrature otherwise. Composite distributions
(mixtures, products, extended pdfs) implement ``log_prob(scope)`` in terms of their children.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, reduce
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import logsumexp

from hs3jax.errors import ModelError
from hs3jax.model import unknown_name
from hs3jax.schema.base import Distribution, Function, Node

__all__ = [
    "Scope",
    "bin_quadrature",
    "flat_bin_index",
    "gauss_legendre",
    "leaf_log_prob",
    "log_normalisation",
    "log_sum_exp",
]

#: quadrature: panels × points per panel on a finite 1-D range
PANELS = 64
POINTS = 16
#: Gauss–Legendre points per bin and axis for bin integrals, by number of axes (the tensor
#: product keeps 32 in 1-D, 256 in 2-D and 512 in 3-D nodes per bin); 4 per axis beyond
BIN_POINTS = {1: 32, 2: 16, 3: 8}


@cache
def gauss_legendre(
    lo: float, hi: float, panels: int = PANELS, points: int = POINTS
) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of composite Gauss–Legendre quadrature on [lo, hi] (float64)."""
    x, w = np.polynomial.legendre.leggauss(points)
    edges = np.linspace(lo, hi, panels + 1)
    half = 0.5 * np.diff(edges)
    mid = 0.5 * (edges[1:] + edges[:-1])
    nodes = (mid[:, None] + half[:, None] * x[None, :]).ravel()
    weights = (half[:, None] * w[None, :]).ravel()
    return nodes, weights


def gauss_legendre_on(
    lo: float, hi: float, breakpoints: list[np.ndarray] | None = None, points: int = POINTS
) -> tuple[np.ndarray, np.ndarray]:
    """Composite Gauss–Legendre on [lo, hi] with panel edges at ``breakpoints`` (bin edges of
    piecewise-constant integrands, which are then integrated exactly) refined to at least
    ``PANELS`` panels."""
    edges = {float(lo), float(hi)}
    for breaks in breakpoints or []:
        edges.update(float(e) for e in breaks if lo < e < hi)
    ordered = sorted(edges)
    panels = max(1, PANELS // max(1, len(ordered) - 1))
    x, w = np.polynomial.legendre.leggauss(points)
    nodes, weights = [], []
    for a, b in itertools.pairwise(ordered):
        sub = np.linspace(a, b, panels + 1)
        half = 0.5 * np.diff(sub)
        mid = 0.5 * (sub[1:] + sub[:-1])
        nodes.append((mid[:, None] + half[:, None] * x[None, :]).ravel())
        weights.append((half[:, None] * w[None, :]).ravel())
    return np.concatenate(nodes), np.concatenate(weights)


def bin_quadrature(
    edges: Sequence[np.ndarray], points: int | None = None, panels: int = 1
) -> tuple[list[np.ndarray], np.ndarray]:
    r"""Tensor-product Gauss–Legendre rules inside every bin of a (possibly irregular) binning.

    ``edges``: one array of bin edges per axis (k axes, :math:`n_j` bins on axis j). Every bin
    edge interval is split into ``panels`` equal panels of ``points`` Gauss–Legendre nodes
    (default :data:`BIN_POINTS` by dimension), and the rules of the axes are multiplied, so

    .. math:: \int_{\text{bin } b} f \approx \sum_q w_{bq}\, f(x_{bq}).

    Returns the nodes of each axis and the log-weights, all of shape ``(bins, q)`` with
    bins = Π n_j in row-major order (first axis slowest: the order of HS3 binned ``contents``)
    and q = (panels × points)^k nodes per bin. Weights carry the units of the bin volume.
    """
    if points is None:
        points = BIN_POINTS.get(len(edges), 4)
    x, w = np.polynomial.legendre.leggauss(points)
    sub = np.linspace(-1.0, 1.0, panels + 1)
    sub_mid, sub_half = 0.5 * (sub[1:] + sub[:-1]), 0.5 * np.diff(sub)
    local = (sub_mid[:, None] + sub_half[:, None] * x[None, :]).ravel()  # on [-1, 1]
    local_w = (sub_half[:, None] * w[None, :]).ravel()
    per_axis = []
    for e in edges:
        e = np.asarray(e, dtype=np.float64)
        half, mid = 0.5 * np.diff(e), 0.5 * (e[1:] + e[:-1])
        per_axis.append(
            (mid[:, None] + half[:, None] * local[None, :], half[:, None] * local_w[None, :])
        )
    k, m = len(edges), len(local)
    nodes: list[np.ndarray] = []
    log_w = np.zeros([len(a) for a, _ in per_axis] + [m] * k)
    for j, (a, wa) in enumerate(per_axis):
        # axis j's bin index sits at position j, its node index at position k + j
        shape = [1] * (2 * k)
        shape[j], shape[k + j] = a.shape
        full = np.broadcast_to(a.reshape(shape), log_w.shape)
        nodes.append(full.reshape(-1, m**k))
        log_w = log_w + np.log(wa).reshape(shape)
    return nodes, log_w.reshape(-1, m**k)


def flat_bin_index(
    edges: Sequence[np.ndarray], points: Sequence[jax.Array]
) -> tuple[jax.Array, jax.Array]:
    """Row-major index of the bin containing each point (clipped) and whether the point lies
    inside the binning on every axis (edges included)."""
    flat: jax.Array = jnp.zeros((), dtype=jnp.int64)
    inside: jax.Array = jnp.ones((), dtype=bool)
    for e, x in zip(edges, points, strict=True):
        ej = jnp.asarray(e)
        idx = jnp.clip(jnp.searchsorted(ej, x, side="right") - 1, 0, len(e) - 2)
        flat = flat * (len(e) - 1) + idx
        inside = inside & (x >= ej[0]) & (x <= ej[-1])
    return flat, inside


@dataclass
class Scope:
    """Observables bound to points, parameters to the value vector.

    ``values``: the value vector; ``index``: name -> position in it (parameters, global
    observables, precomputed functions); ``nodes``: name -> document node; ``observables``:
    observable name -> array of points (all of one shape, broadcasting); ``ranges``: observable
    name -> (lo, hi) normalisation range; ``binnings``: observable name -> bin edges;
    ``domains``: the document's named domains, domain name -> variable name -> (lo, hi) (ROOT's
    named ranges, used by ``integral`` over a ``domain``).
    """

    values: jax.Array
    index: Mapping[str, int]
    nodes: Mapping[str, Node]
    observables: dict[str, jax.Array]
    ranges: Mapping[str, tuple[float, float]]
    binnings: Mapping[str, np.ndarray] = field(default_factory=dict)
    domains: Mapping[str, Mapping[str, tuple[float, float]]] = field(default_factory=dict)
    _memo: dict[str, jax.Array] = field(default_factory=dict)

    def with_observables(self, observables: dict[str, jax.Array]) -> Scope:
        return Scope(
            self.values,
            self.index,
            self.nodes,
            observables,
            self.ranges,
            self.binnings,
            self.domains,
        )

    def integration_range(self, variable: str, domain: str | None = None) -> tuple[float, float]:
        """(lo, hi) of ``variable`` in the named ``domain`` if it bounds it, else its range."""
        if domain is not None:
            if domain not in self.domains:
                raise ModelError(unknown_name(domain, list(self.domains), "domain"))
            bounds = self.domains[domain]
            if variable in bounds:
                return bounds[variable]
        return self.ranges.get(variable, (-math.inf, math.inf))

    def value(self, ref: str | float) -> jax.Array:
        """The value of a reference: literal, observable, parameter or function."""
        if not isinstance(ref, str):
            return jnp.asarray(float(ref), dtype=jnp.float64)
        if ref in self.observables:
            return self.observables[ref]
        if ref in self._memo:
            return self._memo[ref]
        node = self.nodes.get(ref)
        if (
            isinstance(node, Function)
            and ref in self.index
            and not depends_on(node, self.observables, self.nodes)
        ):
            return self.values[self.index[ref]]
        if node is None:
            if ref in self.index:
                return self.values[self.index[ref]]
            raise ModelError(f"no value for {ref!r}: not a parameter, observable or function")
        if not isinstance(node, Function):
            raise ModelError(f"{ref!r} is a {node.kind}, a value is needed here")
        out = evaluate_function(node, self)
        self._memo[ref] = out
        return out

    def field(self, node: Node, name: str) -> jax.Array:
        """A reference field of ``node`` (list fields stacked on the last axis)."""
        spec = type(node).ref_fields()[name]
        raw = getattr(node, name)
        if spec.many:
            items = [self.value(r) for r in raw]
            if not items:
                return jnp.zeros((0,), dtype=jnp.float64)
            shape = jnp.broadcast_shapes(*(jnp.shape(v) for v in items))
            return jnp.stack([jnp.broadcast_to(v, shape) for v in items], axis=-1)
        return self.value(raw)

    def log_prob(self, name: str) -> jax.Array:
        """ln of distribution ``name``, normalised over its bound observables' ranges."""
        node = self.nodes[name]
        if not isinstance(node, Distribution):
            raise ModelError(f"{name!r} is not a distribution")
        custom = getattr(node, "log_prob", None)
        if callable(custom):
            out: jax.Array = custom(self)
            return out
        return leaf_log_prob(node, self)

    def expected_events(self, name: str) -> jax.Array | None:
        """The expected number of events of an extendable distribution, else None."""
        node = self.nodes[name]
        method = getattr(node, "expected_events", None)
        return method(self) if callable(method) else None


def depends_on(
    node: Node, observables: Mapping[str, Any] | set[str], nodes: Mapping[str, Node]
) -> bool:
    """Whether ``node`` depends (through references) on any of ``observables``."""
    stack = [node]
    seen: set[str] = set()
    while stack:
        current = stack.pop()
        for ref in current.references():
            if ref.name in observables:
                return True
            if ref.name in seen:
                continue
            seen.add(ref.name)
            child = nodes.get(ref.name)
            if child is not None:
                stack.append(child)
    return False


def evaluate_function(node: Function, scope: Scope) -> jax.Array:
    """Value of a function node in ``scope`` (its own ``evaluate`` if it has one)."""
    custom = getattr(node, "evaluate", None)
    if callable(custom):
        out: jax.Array = custom(scope)
        return out
    inputs = {name: scope.field(node, name) for name in type(node).ref_fields()}
    return type(node).value(**inputs)


def _observable_fields(node: Distribution, scope: Scope) -> list[tuple[str, str]]:
    out = []
    for fname, spec in type(node).ref_fields().items():
        ref = getattr(node, fname)
        if spec.observable and isinstance(ref, str) and ref in scope.observables:
            out.append((fname, ref))
    return out


def leaf_log_prob(node: Distribution, scope: Scope) -> jax.Array:
    """ln p for a node with ``log_density``: normalised over its bound observable's range."""
    cls = type(node)
    bound = _observable_fields(node, scope)
    params: dict[str, jax.Array] = {}
    for fname in cls.ref_fields():
        if any(fname == b for b, _ in bound):
            continue
        params[fname] = scope.field(node, fname)
    if not bound:
        # a density whose variable is a parameter (a constraint): closed-form normalisation
        obs_fields = {f: scope.field(node, f) for f, s in cls.ref_fields().items() if s.observable}
        return cls.log_density(
            **obs_fields, **{k: v for k, v in params.items() if k not in obs_fields}
        )
    if len(bound) > 1:
        return _multi_log_prob(node, scope, bound, params)
    fname, obs = bound[0]
    x = scope.observables[obs]
    lo, hi = scope.ranges.get(obs, (-math.inf, math.inf))
    in_range = getattr(cls, "log_density_in_range", None)
    if callable(in_range):
        logd: jax.Array = in_range(x, lo, hi, **params)
        integral = getattr(cls, "log_integral_in_range", None)
        log_norm = integral(lo, hi, **params) if callable(integral) else None
        if log_norm is None:
            log_norm = log_normalisation(lambda t: in_range(t, lo, hi, **params), lo, hi, params)
        return logd - log_norm
    logd = cls.log_density(**{fname: x}, **params)
    log_norm = cls.log_integral(lo, hi, **params)
    if log_norm is None:
        log_norm = log_normalisation(
            lambda t: cls.log_density(**{fname: t}, **params), lo, hi, params
        )
    return logd - log_norm


def log_sum_exp(
    terms: Sequence[jax.Array], weights: Sequence[jax.Array | float] | None = None
) -> jax.Array:
    r""":math:`\ln \sum_i w_i e^{a_i}` (all :math:`w_i = 1` by default) of a few arrays,
    element by element (as
    ``jax.scipy.special.logsumexp(stack(a), b=stack(w), axis=0)``: shifted by the largest
    finite :math:`a_i`, not differentiated through the shift; NaN where the sum is negative).

    Written out term by term rather than reduced over a stacked axis, so XLA fuses the whole
    sum into one pass over the events: the stacked form of a mixture of three per-event
    log-densities ran as a stack, a transposing copy and several reductions over the stacked
    array (30 channels × 33,333 events: −ln L 58 → 14 ms on a 2-core CPU)."""
    weights = [1.0] * len(terms) if weights is None else weights
    shape = jnp.broadcast_shapes(*(jnp.shape(a) for a in terms), *(jnp.shape(w) for w in weights))
    top = reduce(jnp.maximum, terms)
    shift = jax.lax.stop_gradient(jnp.where(jnp.isfinite(top), top, 0.0))
    total = reduce(jnp.add, (w * jnp.exp(a - shift) for a, w in zip(terms, weights, strict=True)))
    out = jnp.log(jnp.abs(total)) + shift
    return jnp.broadcast_to(jnp.where(total < 0, jnp.nan, out), shape)


def log_normalisation(
    log_density: Callable[[jax.Array], jax.Array],
    lo: float,
    hi: float,
    params: Mapping[str, Any],
) -> jax.Array:
    """ln ∫_lo^hi exp(log_density(t)) dt by composite Gauss–Legendre quadrature.

    Parameters may carry a batch shape (conditional densities): the quadrature axis is put in
    front and reduced, so the result has the parameters' broadcast shape.
    """
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ModelError(
            "a density without a closed-form integral needs a finite observable range "
            f"(got [{lo}, {hi}])"
        )
    nodes, weights = gauss_legendre(float(lo), float(hi))
    batch = jnp.broadcast_shapes(*(jnp.shape(v) for v in params.values())) if params else ()
    t = jnp.asarray(nodes).reshape((-1,) + (1,) * len(batch))
    logw = jnp.log(jnp.asarray(weights)).reshape((-1,) + (1,) * len(batch))
    values = log_density(t)
    return logsumexp(values + logw, axis=0)


def _multi_log_prob(
    node: Distribution,
    scope: Scope,
    bound: list[tuple[str, str]],
    params: dict[str, jax.Array],
) -> jax.Array:
    """A leaf density in several observables: numerical normalisation over the product range
    (a class can provide an exact one as ``log_integral_nd(ranges, **params)``)."""
    cls = type(node)
    names = [obs for _, obs in bound]
    logd = cls.log_density(**{f: scope.observables[o] for f, o in bound}, **params)
    exact = getattr(cls, "log_integral_nd", None)
    if callable(exact):
        log_norm = exact([scope.ranges[o] for o in names], **params)
        if log_norm is not None:
            out: jax.Array = logd - log_norm
            return out
    batch = max((jnp.ndim(v) for v in params.values()), default=0)

    def log_f(points: dict[str, jax.Array]) -> jax.Array:
        return cls.log_density(**{f: points[o] for f, o in bound}, **params)

    return logd - log_normalisation_nd(log_f, names, scope.ranges, batch)


def tensor_grid(
    ranges: list[tuple[float, float]], panels: int | None = None, points: int = 16
) -> tuple[list[np.ndarray], np.ndarray]:
    """Tensor-product Gauss–Legendre nodes (one flat array per axis) and log-weights.

    Panels per axis shrink with the dimension (16 in 2-D, 4 in 3-D, 2 beyond) to keep the grid
    near 10^5 points.
    """
    if panels is None:
        panels = {1: PANELS, 2: 16, 3: 4}.get(len(ranges), 2)
    per_axis = [gauss_legendre(float(lo), float(hi), panels, points) for lo, hi in ranges]
    meshes = np.meshgrid(*[n for n, _ in per_axis], indexing="ij")
    wmeshes = np.meshgrid(*[w for _, w in per_axis], indexing="ij")
    logw = np.sum([np.log(w) for w in wmeshes], axis=0).ravel()
    return [m.ravel() for m in meshes], logw


def log_normalisation_nd(
    log_density: Callable[[dict[str, jax.Array]], jax.Array],
    observables: list[str],
    ranges: Mapping[str, tuple[float, float]],
    batch_ndim: int = 0,
) -> jax.Array:
    """ln of the integral of exp(log_density) over the product of the observables' ranges."""
    bounds = [ranges.get(o, (-math.inf, math.inf)) for o in observables]
    for o, (lo, hi) in zip(observables, bounds, strict=True):
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise ModelError(f"observable {o!r} needs a finite range to normalise over")
    if len(observables) == 1:
        nodes, weights = gauss_legendre(*bounds[0])
        axes = [nodes]
        logw = np.log(weights)
    else:
        axes, logw = tensor_grid(bounds)
    shape = (-1,) + (1,) * batch_ndim
    grid = {o: jnp.asarray(a).reshape(shape) for o, a in zip(observables, axes, strict=True)}
    values = log_density(grid)
    return logsumexp(values + jnp.asarray(logw).reshape(shape), axis=0)

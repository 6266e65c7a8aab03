r"""Function nodes of the HS3 text and of ROOT 6.40's exports, and ROOT's resolution models.

Field names are those ROOT 6.40 writes (``RooJSONFactoryWSTool``; the HS3 text defines
``derivative``; the others are ROOT's): ``interpolation0d`` (``FlexibleInterpVar``),
``interpolation`` (``PiecewiseInterpolation``), ``spline`` (``RooSpline``), ``histogram``
(``RooHistFunc``), ``binwidth`` (``RooBinWidthFunction``), ``weighted_sum``
(``RooRealSumFunc``), ``integral`` (``RooRealIntegral``), ``derivative`` (``RooDerivative``).
The resolution models ROOT writes in ``distributions`` (``gauss_model_function``,
``truth_model_function``) live with ``decay_dist`` in :mod:`hs3jax.nodes.physics`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from typing import Annotated, Any

import jax
import jax.numpy as jnp
import numpy as np
from pydantic import BaseModel

from hs3jax.density import Scope, gauss_legendre, tensor_grid
from hs3jax.errors import DocumentError, ModelError
from hs3jax.nodes.binned import HistogramData
from hs3jax.nodes.histfactory.dist import interpolation_code
from hs3jax.nodes.histfactory.interpolation import (
    ADDITIVE,
    additive_shift,
    multiplicative_factor,
)
from hs3jax.registry import register
from hs3jax.schema.base import Distribution, Function, Ref, Reference, RefSpec
from hs3jax.schema.document import Axis

__all__ = [
    "BinWidthFunction",
    "DerivativeFunction",
    "HistogramFunction",
    "IntegralFunction",
    "Interpolation0D",
    "PiecewiseInterpolation",
    "SplineFunction",
    "StepFunction",
    "WeightedSumFunction",
]

Refs = Annotated[list[str | float], RefSpec(many=True)]

#: ROOT FlexibleInterpVar codes -> internal codes of hs3jax.nodes.histfactory.interpolation
#: (FlexibleInterpVar's 4 is the multiplicative poly6/exponential, the internal "5")
_FLEXIBLE = {0: "0", 1: "1", 2: "2", 3: "2", 4: "5", 5: "5"}
#: ROOT PiecewiseInterpolation codes -> internal codes (the same numbering)
_PIECEWISE = {0: "0", 1: "1", 2: "2", 3: "2", 4: "4", 5: "5", 6: "6"}


def _codes(raw: Sequence[Any] | None, n: int, table: dict[int, str], name: str) -> list[str]:
    if raw is None:
        return [table[0]] * n
    if len(raw) != n:
        raise ModelError(f"{name!r}: {len(raw)} interpolation codes for {n} parameters")
    out = []
    for code in raw:
        if isinstance(code, int | float) and not isinstance(code, bool):
            if int(code) not in table:
                raise ModelError(f"{name!r}: unsupported interpolation code {code!r}")
            out.append(table[int(code)])
        else:
            try:
                out.append(interpolation_code(code))
            except ValueError as err:
                raise ModelError(f"{name!r}: {err}") from None
    return out


def _check_interpolation(
    node: Interpolation0D | PiecewiseInterpolation, table: dict[int, str]
) -> None:
    """At load: ``high`` and ``low`` have one entry per entry of ``vars``, and the codes are
    known (one per entry, or none)."""
    n = len(node.vars)
    for field in ("high", "low"):
        found = len(getattr(node, field))
        if found != n:
            raise DocumentError(
                f"{node.type} {node.name!r}: vars, high and low differ in length",
                path=(field,),
                expected=f"{n} entries, one per entry of 'vars'",
                found=found,
            )
    try:
        _codes(node.interpolationCodes, n, table, node.name)
    except ModelError as err:
        raise DocumentError(
            str(err), path=("interpolationCodes",), found=node.interpolationCodes
        ) from None


def _apply(code: str, total: jax.Array, alpha: jax.Array, lo: Any, nom: Any, hi: Any) -> jax.Array:
    """One step of ROOT's ``flexibleInterpSingle``: add a shift or multiply by a factor."""
    lo, nom, hi = (jnp.asarray(v, dtype=jnp.float64) for v in (lo, nom, hi))
    if code in ADDITIVE:
        return total + additive_shift(code, alpha, lo, nom, hi)
    return total * multiplicative_factor(code, alpha, lo, nom, hi)


@register("interpolation0d")
class Interpolation0D(Function):
    r"""A scalar interpolated in several nuisance parameters α_j (ROOT ``FlexibleInterpVar``).

    :math:`v = \mathrm{nom}`, then for each j in order :math:`v \leftarrow v + \delta_j(\alpha_j)`
    (additive codes) or :math:`v \leftarrow v\,\kappa_j(\alpha_j)` (multiplicative codes), with
    ``low[j]``/``high[j]`` the values at α = ∓1 (ROOT ``RooFit::Detail::MathFuncs::
    flexibleInterpSingle``, boundary 1). ``interpolationCodes`` are FlexibleInterpVar's:
    0 linear, 1 exponential, 2 parabolic/linear, 4 (and 5) 6th-order polynomial/exponential;
    formulas in :mod:`hs3jax.nodes.histfactory.interpolation`. Default code 0.
    """

    vars: Refs
    nom: float = 1.0
    high: list[float]
    low: list[float]
    interpolationCodes: list[Any] | None = None

    def check(self) -> None:
        _check_interpolation(self, _FLEXIBLE)

    def evaluate(self, scope: Scope) -> jax.Array:
        codes = _codes(self.interpolationCodes, len(self.vars), _FLEXIBLE, self.name)
        total = jnp.asarray(self.nom, dtype=jnp.float64)
        for var, lo, hi, code in zip(self.vars, self.low, self.high, codes, strict=True):
            total = _apply(code, total, scope.value(var), lo, self.nom, hi)
        return total


@register("interpolation")
class PiecewiseInterpolation(Function):
    r"""A function interpolated between nominal, low and high functions
    (ROOT ``PiecewiseInterpolation``).

    :math:`v = f_\mathrm{nom}`, then per parameter as :class:`Interpolation0D` with the values of
    the ``low[j]``/``high[j]`` functions and ``nom``'s value; with ``positiveDefinite`` a
    negative result is set to 0 (as ROOT). Codes are PiecewiseInterpolation's: 0 linear,
    1 exponential, 2 parabolic/linear, 4 poly6/linear (additive), 5 poly6/exponential,
    6 poly6 on relative variations (multiplicative). Default code 0.
    """

    vars: Refs
    nom: Ref
    high: Refs
    low: Refs
    interpolationCodes: list[Any] | None = None
    positiveDefinite: bool | None = None

    def check(self) -> None:
        _check_interpolation(self, _PIECEWISE)

    def evaluate(self, scope: Scope) -> jax.Array:
        codes = _codes(self.interpolationCodes, len(self.vars), _PIECEWISE, self.name)
        nominal = scope.value(self.nom)
        total = nominal
        for var, lo, hi, code in zip(self.vars, self.low, self.high, codes, strict=True):
            total = _apply(code, total, scope.value(var), scope.value(lo), nominal, scope.value(hi))
        if self.positiveDefinite:
            total = jnp.where(total < 0, 0.0, total)
        return total


def _not_a_knot(x0: np.ndarray, y0: np.ndarray) -> np.ndarray:
    """Coefficients (n−1, 4) of the not-a-knot cubic spline through (x0, y0), highest power
    first; the last cubic also serves beyond the last knot (``TSpline3::Eval``)."""
    from scipy.interpolate import CubicSpline

    if len(x0) == 2:
        slope = (y0[1] - y0[0]) / (x0[1] - x0[0])
        return np.asarray([[0.0, 0.0, slope, y0[0]]])
    cs = CubicSpline(x0, y0, bc_type="not-a-knot")
    return np.asarray(cs.c.T)


def _natural_quintic(x0: np.ndarray, y0: np.ndarray) -> np.ndarray:
    r"""Coefficients (n, 6) of the natural quintic spline through (x0, y0), highest power first.

    ``TSpline5`` without end conditions is the natural quintic spline: the third and fourth
    derivatives vanish at both end knots (CERNLIB QUINAT). Rows 0..n−2 are the pieces between
    knots (the first one also serves below the first knot); row n−1 is ``TSpline5::Eval``'s
    continuation beyond the last knot, the Taylor polynomial there, which is quadratic:
    :math:`y_n + s'(x_n)\,d + s''(x_n)\,d^2/2`.
    """
    from scipy.interpolate import PPoly, make_interp_spline

    ends = [(3, 0.0), (4, 0.0)]
    try:
        spline = make_interp_spline(x0, y0, k=5, bc_type=(ends, ends))
    except ValueError as exc:
        raise ModelError(f"cannot build a quintic spline through {len(x0)} knots: {exc}") from exc
    pieces = PPoly.from_spline(spline)
    starts = np.searchsorted(pieces.x, x0[:-1], side="right") - 1
    inner = np.asarray(pieces.c)[:, starts].T
    last = [0.0, 0.0, 0.0, float(spline(x0[-1], 2)) / 2.0, float(spline(x0[-1], 1)), y0[-1]]
    return np.vstack([inner, np.asarray(last)[None, :]])


#: spline ``interpolation`` -> (coefficient builder, rows not used for the last interval)
_SPLINES: dict[str, tuple[Callable[[np.ndarray, np.ndarray], np.ndarray], int]] = {
    "poly3": (_not_a_knot, 2),
    "poly5": (_natural_quintic, 1),
}


@register("spline")
class SplineFunction(Function):
    r"""A spline :math:`s(x)` through the knots (``x0``, ``y0``) (ROOT ``RooSpline``): on each
    knot interval :math:`s(x) = \sum_k c_{ik}(x - x_i)^k`.

    * ``interpolation: "poly3"`` (default): ROOT's ``TSpline3`` without end-point conditions,
      which is de Boor's CUBSPL with the not-a-knot condition (as
      ``scipy.interpolate.CubicSpline(bc_type="not-a-knot")``), extrapolated with the
      first/last cubic outside the knots (``TSpline3::Eval``).
    * ``"poly5"``: ROOT's ``TSpline5`` without end conditions, the natural quintic spline
      (third and fourth derivatives zero at the end knots; ``scipy.interpolate.
      make_interp_spline(k=5)`` with those conditions), extrapolated with the first quintic
      below the first knot and with the quadratic Taylor polynomial at the last knot above it
      (``TSpline5::Eval``).

    ``logx``/``logy`` as ROOT 6.40's ``RooSpline`` means them: its knots are
    :math:`(\ln x_0, \ln y_0)` (written so, from ``TSpline::GetKnot``, and read as written) and
    ``RooSpline::evaluate`` returns :math:`s(e^x)` with ``logx`` (x itself is exponentiated,
    not its logarithm taken) and :math:`e^{s(\cdot)}` with ``logy``. Coefficients are computed once (scipy) from the literal knots; the
    value is a JAX function of x. Checked against ROOT 6.40 (own corpus ``spline_mean_width``:
    poly5 between and on both sides of the knots, poly3 with logx and logy).
    """

    x: Ref
    x0: list[float]
    y0: list[float]
    interpolation: str | None = None
    logx: bool | None = None
    logy: bool | None = None

    def check(self) -> None:
        from hs3jax.errors import DocumentError

        if (self.interpolation or "poly3") not in _SPLINES:
            raise DocumentError(
                f"spline {self.name!r}: unknown interpolation {self.interpolation!r}",
                path=("interpolation",),
                expected="'poly3' (TSpline3) or 'poly5' (TSpline5)",
                found=self.interpolation,
                known=list(_SPLINES),
            )
        if len(self.x0) != len(self.y0) or len(self.x0) < 2:
            raise DocumentError(
                f"spline {self.name!r} needs at least two knots and one y0 per x0",
                path=("y0",),
                expected=f"{len(self.x0)} numbers (one per x0, at least 2)",
                found=len(self.y0),
            )
        if np.any(np.diff(np.asarray(self.x0, dtype=np.float64)) <= 0):
            raise DocumentError(
                f"spline {self.name!r}: the knots x0 must increase strictly",
                path=("x0",),
                expected="strictly increasing numbers",
                found=self.x0,
            )

    def evaluate(self, scope: Scope) -> jax.Array:
        build, unused = _SPLINES[self.interpolation or "poly3"]
        x0 = np.asarray(self.x0, dtype=np.float64)
        coef = jnp.asarray(build(x0, np.asarray(self.y0, dtype=np.float64)))
        t = scope.value(self.x)
        if self.logx:
            # RooSpline::evaluate: the spline of (ln x0, ln y0) is evaluated at exp(x)
            t = jnp.exp(t)
        last = len(x0) - unused
        idx = jnp.clip(jnp.searchsorted(jnp.asarray(x0), t, side="right") - 1, 0, last)
        d = t - jnp.asarray(x0)[idx]
        c = coef[idx]
        y = c[..., 0]
        for k in range(1, coef.shape[1]):
            y = y * d + c[..., k]
        return jnp.exp(y) if self.logy else y


def _bin_index(
    axes: Sequence[Axis], scope: Scope
) -> tuple[jax.Array, jax.Array, list[np.ndarray], list[jax.Array]]:
    """Flat bin index (row-major, first axis slowest), in-range mask, edges, per-axis indices."""
    flat: jax.Array | int = 0
    inside: jax.Array | bool = True
    edges_all: list[np.ndarray] = []
    per_axis: list[jax.Array] = []
    for axis in axes:
        edges = axis.bin_edges()
        edges_all.append(edges)
        x = scope.value(axis.name)
        i = jnp.clip(jnp.searchsorted(jnp.asarray(edges), x, side="right") - 1, 0, len(edges) - 2)
        per_axis.append(i)
        inside = inside & (x >= edges[0]) & (x <= edges[-1])
        flat = flat * (len(edges) - 1) + i
    return jnp.asarray(flat), jnp.asarray(inside), edges_all, per_axis


@register("histogram")
class HistogramFunction(Function):
    r"""The content of the bin containing the point: :math:`f(\mathbf{x}) = h_{b(\mathbf{x})}`.

    ROOT ``RooHistFunc`` (written as ``histogram`` with ``data``: ``axes`` and ``contents``,
    row-major with the first axis slowest). 0 outside the binning (ROOT returns 0 there too).
    The axes' names are the function's variables (observables).
    """

    data: HistogramData

    def references(self) -> Iterator[Reference]:
        for i, axis in enumerate(self.data.axes):
            yield Reference(axis.name, ("data", "axes", i, "name"))

    def check(self) -> None:
        from hs3jax.errors import DocumentError

        n = int(np.prod([len(a.bin_edges()) - 1 for a in self.data.axes]))
        if n != len(self.data.contents):
            raise DocumentError(
                f"histogram {self.name!r} has {len(self.data.contents)} contents for {n} bins",
                path=("data", "contents"),
                expected=f"{n} numbers",
                found=len(self.data.contents),
            )

    def evaluate(self, scope: Scope) -> jax.Array:
        flat, inside, _, _ = _bin_index(self.data.axes, scope)
        contents = jnp.asarray(self.data.contents, dtype=jnp.float64)
        return jnp.where(inside, contents[flat], 0.0)


@register("binwidth")
class BinWidthFunction(Function):
    r"""The bin volume :math:`V_i` of ``histogram`` at the point (bin i), or :math:`1/V_i`.

    ROOT ``RooBinWidthFunction`` (``histogram``: a histogram function, ``divideByBinWidth``:
    1/volume instead of the volume). Outside the binning the nearest bin's volume is used
    (ROOT clamps the bin index too).
    """

    histogram: Ref
    divideByBinWidth: bool | None = None

    def evaluate(self, scope: Scope) -> jax.Array:
        node = scope.nodes.get(str(self.histogram))
        if not isinstance(node, HistogramFunction):
            raise ModelError(f"binwidth {self.name!r}: {self.histogram!r} is not a histogram")
        _, _, edges, per_axis = _bin_index(node.data.axes, scope)
        volume: jax.Array = jnp.ones(())
        for e, i in zip(edges, per_axis, strict=True):
            volume = volume * jnp.asarray(np.diff(e))[i]
        return 1.0 / volume if self.divideByBinWidth else volume


@register("weighted_sum")
class WeightedSumFunction(Function):
    r""":math:`f = \sum_i c_i f_i` (ROOT ``RooRealSumFunc``: ``samples``, ``coefficients``).

    With one coefficient fewer than samples the last is :math:`1-\sum_i c_i` (as ROOT).
    """

    samples: Refs
    coefficients: Refs

    def check(self) -> None:
        n, k = len(self.samples), len(self.coefficients)
        if k not in (n, n - 1):
            raise DocumentError(
                f"weighted_sum {self.name!r}: {n} samples, {k} coefficients",
                path=("coefficients",),
                expected=f"{n} or {n - 1} coefficients (one per sample, or one fewer)",
                found=k,
            )

    def evaluate(self, scope: Scope) -> jax.Array:
        funcs = [scope.value(s) for s in self.samples]
        coefs = [scope.value(c) for c in self.coefficients]
        if len(coefs) == len(funcs) - 1:
            coefs.append(1.0 - sum(coefs[1:], coefs[0]) if coefs else jnp.ones(()))
        terms = [c * f for c, f in zip(coefs, funcs, strict=True)]
        return sum(terms[1:], terms[0])


def _rebound(scope: Scope, points: dict[str, jax.Array]) -> Scope:
    """The scope with ``points`` bound on a new leading axis in front of the existing points."""
    batch = max((jnp.ndim(v) for v in scope.observables.values()), default=0)
    shaped = {k: jnp.reshape(v, jnp.shape(v) + (1,) * batch) for k, v in points.items()}
    return scope.with_observables({**scope.observables, **shaped})


def _integrand_value(name: str, scope: Scope) -> jax.Array:
    node = scope.nodes.get(name)
    if isinstance(node, Distribution):
        return jnp.exp(scope.log_prob(name))
    return scope.value(name)


@register("integral")
class IntegralFunction(Function):
    r""":math:`\int_D f\,d\mathbf{v}` over ``variables`` (ROOT ``RooRealIntegral``).

    Keys as ROOT 6.40 writes them (the HS3 text has no ``integral``): ``integrand``, a function
    (or a distribution: its density normalised over the variables' full ranges, as ROOT's
    ``normalization`` set gives); ``variables``, the integration variables; ``domain``
    (optional), the name of a ``product_domain`` of the document bounding them (ROOT's named
    range, ``createIntegral(x, NormSet(x), Range("sig"))``); variables it does not bound, and
    all variables without a ``domain``, run over their ranges (data axes, else domains).
    Tensor-product Gauss–Legendre quadrature (64 × 16 nodes in 1-D). Difference from ROOT: a
    distribution integrand without ``normalization`` is still normalised here (ROOT integrates
    the class's unnormalised shape, e.g. ``RooGaussian`` without its 1/(√(2π)σ)).
    """

    integrand: Ref
    variables: Refs
    domain: str | None = None
    normalization: list[str] | None = None

    def references(self) -> Iterator[Reference]:
        # the integral does not depend on its integration variables
        if isinstance(self.integrand, str):
            yield Reference(self.integrand, ("integrand",))

    def evaluate(self, scope: Scope) -> jax.Array:
        names = [str(v) for v in self.variables]
        bounds = [scope.integration_range(n, self.domain) for n in names]
        for n, (lo, hi) in zip(names, bounds, strict=True):
            if not (math.isfinite(lo) and math.isfinite(hi)):
                raise ModelError(f"integral {self.name!r}: {n!r} needs a finite range")
        if len(names) == 1:
            nodes, weights = gauss_legendre(*bounds[0])
            axes, w = [nodes], weights
        else:
            axes, logw = tensor_grid(bounds)
            w = np.exp(logw)
        inner = _rebound(scope, {n: jnp.asarray(a) for n, a in zip(names, axes, strict=True)})
        values = _integrand_value(str(self.integrand), inner)
        weights_b = jnp.reshape(jnp.asarray(w), (-1,) + (1,) * (jnp.ndim(values) - 1))
        return jnp.sum(values * weights_b, axis=0)


@register("derivative")
class DerivativeFunction(Function):
    r""":math:`d^n f/dx^n` of a function (or a distribution's density) at the current point.

    HS3 text 2.2 ``derivative`` (``function``, ``x``, ``order``, ``eps``, optional
    ``normalization``); ROOT ``RooDerivative``. Computed by automatic differentiation (nested
    forward-mode ``jax.jvp``) of the evaluated function with x rebound, so it is exact to
    rounding for everything hs3jax evaluates (expressions, interpolations, quadrature-normalised
    densities) and ``eps`` is not used. Limitation: ROOT differentiates numerically (Richardson
    extrapolation with step ``eps``), so values can differ from ROOT's at the ~eps⁴ level, and
    piecewise functions (histograms, splines at knots) give the one-sided derivative of the
    piece the point is in. The function must act elementwise in x.
    """

    function: Ref
    x: Ref
    order: int = 1
    eps: float | None = None
    normalization: list[str] | None = None

    def check(self) -> None:
        if not 1 <= self.order <= 3:
            raise DocumentError(
                f"derivative {self.name!r}: order must be 1, 2 or 3",
                path=("order",),
                expected="1, 2 or 3",
                found=self.order,
            )

    def evaluate(self, scope: Scope) -> jax.Array:
        x = str(self.x)
        name = str(self.function)
        x0 = scope.value(x)

        def f(t: jax.Array) -> jax.Array:
            inner = scope.with_observables({**scope.observables, x: t})
            return _integrand_value(name, inner)

        g: Callable[[jax.Array], jax.Array] = f
        for _ in range(self.order):
            g = _jvp_derivative(g)
        return g(x0)


def _jvp_derivative(g: Callable[[jax.Array], jax.Array]) -> Callable[[jax.Array], jax.Array]:
    def dg(t: jax.Array) -> jax.Array:
        _, tangent = jax.jvp(g, (t,), (jnp.ones_like(t),))
        out: jax.Array = tangent
        return out

    return dg


class _Binning(BaseModel):
    """The binning of a step function in the shape of histogram data (``axes``)."""

    axes: list[Axis]


@register("step")
class StepFunction(Function):
    r"""A step function: the parameter of the bin containing the point,
    :math:`f(\mathbf{x}) = \gamma_{b(\mathbf{x})}`.

    ROOT ``ParamHistFunc`` as ROOT 6.40 writes it (HS3 ``step``: ``axes``, the binning;
    ``parameters``, one name or number per bin, row-major with the first axis slowest as
    ``RooDataHist`` orders bins; ``variables``, the axes' variables). 0 outside the binning
    (ROOT's variables cannot leave their range). Its integral over the binning is
    :math:`\sum_b \gamma_b V_b`; densities built on it (``weighted_sum_dist``) integrate it
    exactly, with the bin edges as quadrature panel edges. Checked against ROOT 6.40 (own
    corpus ``step_realsumpdf``).
    """

    axes: list[Axis]
    parameters: Refs
    variables: list[str] | None = None

    @property
    def data(self) -> _Binning:
        """The binning as histogram data: density nodes integrate bin by bin through it."""
        return _Binning(axes=self.axes)

    def references(self) -> Iterator[Reference]:
        yield from super().references()
        for i, axis in enumerate(self.axes):
            yield Reference(axis.name, ("axes", i, "name"))

    def check(self) -> None:
        from hs3jax.errors import DocumentError

        n = int(np.prod([len(a.bin_edges()) - 1 for a in self.axes]))
        if n != len(self.parameters):
            raise DocumentError(
                f"step {self.name!r} has {len(self.parameters)} parameters for {n} bins",
                path=("parameters",),
                expected=f"{n} names or numbers, one per bin",
                found=len(self.parameters),
            )
        names = [a.name for a in self.axes]
        if self.variables is not None and list(self.variables) != names:
            raise DocumentError(
                f"step {self.name!r}: variables {self.variables} differ from the axes {names}",
                path=("variables",),
                expected=f"the axes' names {names}",
                found=self.variables,
            )

    def evaluate(self, scope: Scope) -> jax.Array:
        flat, inside, _, _ = _bin_index(self.axes, scope)
        heights = jnp.stack(
            [jnp.asarray(scope.value(p), dtype=jnp.float64) for p in self.parameters]
        )
        return jnp.where(inside, heights[flat], 0.0)

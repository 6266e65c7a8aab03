"""Polynomial-type densities: polynomial, Chebychev, Bernstein, power sum and exponential of a
polynomial, with closed-form integrals.

Coefficient lists arrive stacked on the last axis (``(…, k)``). Two densities are defined on
the observable's range rather than on x itself (``chebychev_dist`` maps x to [−1, 1],
``bernstein_poly_dist`` to [0, 1]); they implement the range-aware pair

* ``log_density_in_range(x, lo, hi, **params)``: ln f(x) with x mapped by the range ``[lo, hi]``;
* ``log_integral_in_range(lo, hi, **params)``: ln ∫_lo^hi f dx for that same mapping,

which the evaluator calls instead of ``log_density``/``log_integral`` when a class defines them
(their plain ``log_density``/``log_integral`` use the identity mapping, i.e. x already in
[−1, 1] resp. [0, 1]).

ROOT writes the implicit constant of ``RooPolynomial``/``RooLegacyExpPoly`` (``lowestOrder``)
as the *string* ``"1.0"`` (then ``"0.0"`` for further skipped orders) in ``coefficients``;
:func:`literal_numbers` turns such number-looking strings into numbers when the node is read.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import betainc, dawsn, log_ndtr, logsumexp
from pydantic import BeforeValidator

from hs3jax.registry import register
from hs3jax.schema.base import Distribution, Observable, RefList, RefSpec

__all__ = [
    "BernsteinPolyDist",
    "ChebychevDist",
    "LegacyExpPolyDist",
    "PolynomialDist",
    "PowerSumDist",
    "literal_numbers",
]

_NUMBER = re.compile(r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$")


def literal_numbers(values: Any) -> Any:
    """A reference list with number-looking strings (``"1.0"``, ``"-2e-3"``) turned into floats.

    ROOT 6.40 writes literal coefficients as strings; a string that parses as a number is a
    literal, never a name. Other values pass through unchanged.
    """
    if not isinstance(values, list):
        return values
    return [float(v) if isinstance(v, str) and _NUMBER.match(v) else v for v in values]


#: A reference list whose number-looking strings are literals (as ROOT writes coefficients).
LiteralRefList = Annotated[RefList, BeforeValidator(literal_numbers)]


def _horner(coefficients: jax.Array, x: jax.Array) -> jax.Array:
    """Σ_i c_i x^i for coefficients stacked on the last axis (lowest order first)."""
    k = coefficients.shape[-1]
    acc = jnp.zeros(jnp.broadcast_shapes(coefficients.shape[:-1], jnp.shape(x)))
    for i in range(k - 1, -1, -1):
        acc = acc * x + coefficients[..., i]
    return acc


def _safe_log(value: jax.Array) -> jax.Array:
    """ln of a density value; −inf where it is not positive (a negative polynomial)."""
    pos = value > 0
    return jnp.where(pos, jnp.log(jnp.where(pos, value, 1.0)), -jnp.inf)


@register("polynomial_dist")
class PolynomialDist(Distribution):
    r"""Polynomial density :math:`f(x) = \sum_{i=0}^{k-1} a_i x^i` (lowest order first).

    HS3 ``polynomial_dist``; ROOT ``RooPolynomial`` (ROOT writes its implicit constant term,
    ``lowestOrder = 1``, as the string ``"1.0"`` at the head of ``coefficients``, read here as
    the number 1.0). The integral is :math:`\sum_i a_i (hi^{i+1} - lo^{i+1})/(i+1)`, as
    ``MathFuncs::polynomialIntegral``. Where the polynomial is not positive, the log-density is
    −inf. Note: ROOT's importer also reads a leading ``"0.0"``/``"0"`` as ``lowestOrder`` and
    then adds its implicit constant 1; here such a literal is the coefficient 0 (HS3's
    definition). ROOT never writes that form.
    """

    x: Observable
    coefficients: LiteralRefList

    @staticmethod
    def log_density(x: jax.Array, coefficients: jax.Array) -> jax.Array:  # type: ignore[override]
        return _safe_log(_horner(coefficients, x))

    @staticmethod
    def log_integral(lo: jax.Array, hi: jax.Array, coefficients: jax.Array) -> jax.Array:  # type: ignore[override]
        k = coefficients.shape[-1]
        scaled = coefficients / jnp.arange(1, k + 1, dtype=jnp.float64)
        prim_hi = _horner(scaled, hi) * hi
        prim_lo = _horner(scaled, lo) * lo
        return _safe_log(prim_hi - prim_lo)


def _cheb_values(xi: jax.Array, n_max: int) -> list[jax.Array]:
    """[T_0(ξ), …, T_{n_max}(ξ)] by the three-term recurrence."""
    values = [jnp.ones_like(xi), xi]
    for _ in range(2, n_max + 1):
        values.append(2.0 * xi * values[-1] - values[-2])
    return values[: n_max + 1]


def _cheb_sum(xi: jax.Array, coefficients: jax.Array) -> jax.Array:
    """1 + Σ_i a_i T_{i+1}(ξ)."""
    k = coefficients.shape[-1]
    t = _cheb_values(xi, k + 1)
    total = jnp.ones(jnp.broadcast_shapes(coefficients.shape[:-1], jnp.shape(xi)))
    for i in range(k):
        total = total + coefficients[..., i] * t[i + 1]
    return total


def _cheb_primitive(xi: jax.Array, coefficients: jax.Array) -> jax.Array:
    r"""Antiderivative of :math:`1 + \sum_i a_i T_{i+1}(\xi)`:
    :math:`\int T_0 = \xi`, :math:`\int T_1 = \xi^2/2`,
    :math:`\int T_n = \tfrac12\left(\tfrac{T_{n+1}}{n+1} - \tfrac{T_{n-1}}{n-1}\right)`."""
    k = coefficients.shape[-1]
    t = _cheb_values(xi, k + 2)
    total = jnp.broadcast_to(xi, jnp.broadcast_shapes(coefficients.shape[:-1], jnp.shape(xi)))
    for i in range(k):
        n = i + 1
        prim = 0.5 * xi * xi if n == 1 else 0.5 * (t[n + 1] / (n + 1) - t[n - 1] / (n - 1))
        total = total + coefficients[..., i] * prim
    return total


@register("chebychev_dist")
class ChebychevDist(Distribution):
    r"""Chebychev polynomial density :math:`f(x) = 1 + \sum_{i=1}^{k} a_i T_i(\xi)`,
    :math:`\xi = \frac{x - (hi+lo)/2}{(hi-lo)/2}` (x mapped onto [−1, 1] over the observable's
    range ``[lo, hi]``).

    HS3 ``chebychev_dist`` (``coefficients`` are :math:`a_1 … a_k`; the :math:`T_0` coefficient
    is the implicit 1); ROOT ``RooChebychev`` (``MathFuncs::chebychev``,
    ``chebychevIntegral``). Needs the range: implements ``log_density_in_range`` and
    ``log_integral_in_range`` (see the module docstring). The integral uses
    :math:`\int_{-1}^{1} T_n = \frac{1 + (-1)^n}{1 - n^2}` (:math:`n \ne 1`) through the
    antiderivatives of :math:`T_n`.
    """

    x: Observable
    coefficients: LiteralRefList

    @staticmethod
    def log_density_in_range(
        x: jax.Array, lo: jax.Array, hi: jax.Array, coefficients: jax.Array
    ) -> jax.Array:
        """ln f(x) with x mapped from ``[lo, hi]`` onto [−1, 1]."""
        xi = (x - 0.5 * (hi + lo)) / (0.5 * (hi - lo))
        return _safe_log(_cheb_sum(xi, coefficients))

    @staticmethod
    def log_integral_in_range(lo: jax.Array, hi: jax.Array, coefficients: jax.Array) -> jax.Array:
        """ln ∫_lo^hi f dx for the mapping of ``[lo, hi]`` onto [−1, 1]."""
        one = jnp.ones((), dtype=jnp.float64)
        inner = _cheb_primitive(one, coefficients) - _cheb_primitive(-one, coefficients)
        return jnp.log(0.5 * (jnp.asarray(hi) - lo)) + _safe_log(inner)

    @staticmethod
    def log_density(x: jax.Array, coefficients: jax.Array) -> jax.Array:  # type: ignore[override]
        """ln f with x already on [−1, 1] (identity mapping)."""
        return _safe_log(_cheb_sum(x, coefficients))

    @staticmethod
    def log_integral(lo: jax.Array, hi: jax.Array, coefficients: jax.Array) -> jax.Array:  # type: ignore[override]
        """ln ∫_lo^hi f for the identity mapping (x already on [−1, 1])."""
        return _safe_log(_cheb_primitive(hi, coefficients) - _cheb_primitive(lo, coefficients))


def _bernstein_parts(coefficients: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    """(coefficients with padding zeroed, validity mask, degree d) for NaN-padded rows."""
    valid = ~jnp.isnan(coefficients)
    coefs = jnp.where(valid, coefficients, 0.0)
    degree = jnp.sum(valid, axis=-1).astype(jnp.float64) - 1.0
    return coefs, valid, degree


def _bernstein_value(t: jax.Array, coefficients: jax.Array) -> jax.Array:
    r""":math:`\sum_{i=0}^{d} c_i \binom{d}{i} t^i (1-t)^{d-i}`, degree d per row."""
    coefs, valid, degree = _bernstein_parts(coefficients)
    k = coefficients.shape[-1]
    s = 1.0 - t
    total = jnp.zeros(jnp.broadcast_shapes(coefficients.shape[:-1], jnp.shape(t)))
    for i in range(k):
        e = degree - i  # exponent of (1 − t)
        use = valid[..., i] & (e > 0)
        e_safe = jnp.where(use, e, 1.0)
        s_pow = jnp.where(use, s**e_safe, 1.0)
        log_binom = (
            jax.scipy.special.gammaln(degree + 1.0)
            - math.lgamma(i + 1.0)
            - jax.scipy.special.gammaln(jnp.where(valid[..., i], e, 0.0) + 1.0)
        )
        term = coefs[..., i] * jnp.exp(log_binom) * t**i * s_pow
        total = total + jnp.where(valid[..., i], term, 0.0)
    return total


@register("bernstein_poly_dist")
class BernsteinPolyDist(Distribution):
    r"""Bernstein polynomial density :math:`f(x) = \sum_{i=0}^{d} c_i \binom{d}{i} t^i
    (1-t)^{d-i}`, :math:`t = (x - lo)/(hi - lo)` (x mapped onto [0, 1] over the observable's
    range), degree :math:`d` = number of coefficients − 1.

    HS3 ``bernstein_poly_dist``; ROOT ``RooBernstein`` (``MathFuncs::bernstein``,
    ``bernsteinIntegral``). Needs the range: implements ``log_density_in_range`` and
    ``log_integral_in_range`` (see the module docstring); over the full range
    :math:`\int f\,dx = (hi - lo)\sum_i c_i/(d+1)`. The plain ``log_integral`` (t = x) uses
    :math:`\int_0^{x} \binom{d}{i} t^i(1-t)^{d-i} dt = I_x(i+1, d-i+1)/(d+1)` (regularised
    incomplete beta). Stacked nodes of different degrees are padded with NaN (the degree of a
    row is its number of non-NaN coefficients), since zero-padding would change a Bernstein
    polynomial.
    """

    x: Observable
    coefficients: Annotated[
        list[str | float], RefSpec(many=True, pad=math.nan), BeforeValidator(literal_numbers)
    ]

    @staticmethod
    def log_density_in_range(
        x: jax.Array, lo: jax.Array, hi: jax.Array, coefficients: jax.Array
    ) -> jax.Array:
        """ln f(x) with x mapped from ``[lo, hi]`` onto [0, 1]."""
        t = (x - lo) / (jnp.asarray(hi) - lo)
        return _safe_log(_bernstein_value(t, coefficients))

    @staticmethod
    def log_integral_in_range(lo: jax.Array, hi: jax.Array, coefficients: jax.Array) -> jax.Array:
        """ln ∫_lo^hi f dx = ln((hi − lo) Σ c_i/(d+1)) for the mapping of ``[lo, hi]``."""
        coefs, _, degree = _bernstein_parts(coefficients)
        return jnp.log(jnp.asarray(hi) - lo) + _safe_log(jnp.sum(coefs, axis=-1) / (degree + 1.0))

    @staticmethod
    def log_density(x: jax.Array, coefficients: jax.Array) -> jax.Array:  # type: ignore[override]
        """ln f with x already on [0, 1] (identity mapping)."""
        return _safe_log(_bernstein_value(x, coefficients))

    @staticmethod
    def log_integral(lo: jax.Array, hi: jax.Array, coefficients: jax.Array) -> jax.Array:  # type: ignore[override]
        """ln ∫_lo^hi f dt for the identity mapping, ``[lo, hi]`` ⊂ [0, 1]."""
        coefs, valid, degree = _bernstein_parts(coefficients)
        k = coefficients.shape[-1]
        t_lo = jnp.clip(lo, 0.0, 1.0)
        t_hi = jnp.clip(hi, 0.0, 1.0)
        total = jnp.zeros(jnp.broadcast_shapes(degree.shape, jnp.shape(t_lo), jnp.shape(t_hi)))
        for i in range(k):
            b = jnp.where(valid[..., i], degree - i + 1.0, 1.0)
            piece = betainc(float(i + 1), b, t_hi) - betainc(float(i + 1), b, t_lo)
            total = total + jnp.where(valid[..., i], coefs[..., i] * piece, 0.0)
        return _safe_log(total / (degree + 1.0))


@register("power_sum_dist")
class PowerSumDist(Distribution):
    r"""Power-law sum :math:`f(x) = \sum_i c_i x^{b_i}`, for :math:`x > 0`.

    HS3 ``power_sum_dist`` with keys ``x``, ``coefficients``, ``exponents`` (ROOT 6.40's export
    of ``RooPowerSum``). The integral is
    :math:`\sum_i c_i\,\frac{hi^{b_i+1} - lo^{b_i+1}}{b_i+1}`, evaluated as
    :math:`lo^{\epsilon}\,\mathrm{expm1}(\epsilon\ln(hi/lo))/\epsilon` (:math:`\epsilon = b_i+1`),
    which is exact through :math:`b_i = -1` (where ROOT switches to :math:`\ln(hi/lo)` only at
    exactly −1). Needs ``lo > 0`` wherever an exponent is ≤ −1.
    """

    x: Observable
    coefficients: LiteralRefList
    exponents: LiteralRefList

    @staticmethod
    def log_density(  # type: ignore[override]
        x: jax.Array, coefficients: jax.Array, exponents: jax.Array
    ) -> jax.Array:
        pos = x > 0
        log_x = jnp.log(jnp.where(pos, x, 1.0))[..., None]
        value = jnp.sum(coefficients * jnp.exp(exponents * log_x), axis=-1)
        return jnp.where(pos, _safe_log(value), -jnp.inf)

    @staticmethod
    def log_integral(  # type: ignore[override]
        lo: jax.Array, hi: jax.Array, coefficients: jax.Array, exponents: jax.Array
    ) -> jax.Array:
        lo = jnp.asarray(lo, dtype=jnp.float64)[..., None]
        hi = jnp.asarray(hi, dtype=jnp.float64)[..., None]
        eps = exponents + 1.0
        lo_pos = lo > 0
        log_lo = jnp.log(jnp.where(lo_pos, lo, 1.0))
        log_ratio = jnp.log(hi / jnp.where(lo_pos, lo, 1.0))
        small = jnp.abs(eps * log_ratio) < 1e-8
        safe_eps = jnp.where(small, 1.0, eps)
        ratio = jnp.where(
            small,
            log_ratio * (1.0 + 0.5 * eps * log_ratio),
            jnp.expm1(safe_eps * log_ratio) / safe_eps,
        )
        from_lo = jnp.exp(eps * log_lo) * ratio
        # lo = 0 (exponents > −1): hi^ε/ε
        safe_eps0 = jnp.where(eps > 0, eps, 1.0)
        from_zero = jnp.where(eps > 0, jnp.exp(safe_eps0 * jnp.log(hi)) / safe_eps0, jnp.inf)
        pieces = jnp.where(lo_pos, from_lo, from_zero)
        return _safe_log(jnp.sum(coefficients * pieces, axis=-1))


def _log_int_exp_linear(lo: jax.Array, hi: jax.Array, b: jax.Array) -> jax.Array:
    """ln ∫_lo^hi e^{b x} dx, continuous through b = 0."""
    length = hi - lo
    u = jnp.abs(b) * length
    small = u < 1e-6
    safe_b = jnp.where(small, 1.0, b)
    safe_u = jnp.where(small, 1.0, u)
    top = jnp.where(safe_b > 0, safe_b * hi, safe_b * lo)
    general = top + jnp.log(-jnp.expm1(-safe_u)) - jnp.log(jnp.abs(safe_b))
    series = b * 0.5 * (lo + hi) + jnp.log(length) + (b * length) ** 2 / 24.0
    return jnp.where(small, series, general)


def _log_int_exp_quadratic(lo: jax.Array, hi: jax.Array, a: jax.Array, b: jax.Array) -> jax.Array:
    r"""ln ∫_lo^hi e^{a x² + b x} dx for a ≠ 0, in log space.

    a < 0: :math:`\sqrt{\pi/|a|}\,e^{-b^2/4a}\,[\Phi(z_{hi}) - \Phi(z_{lo})]`,
    :math:`z = \sqrt{2|a|}(x - x_0)`, :math:`x_0 = -b/2a` (``log_ndtr`` differences on the far
    side, full precision in the tails). a > 0: with :math:`s = \sqrt a(x - x_0)`,
    :math:`\int e^{s^2} ds = e^{s^2} D(s)` (Dawson's function), so the integral is
    :math:`e^{-b^2/4a}[e^{s^2}D(s)]_{s_{lo}}^{s_{hi}}/\sqrt a`.
    """
    neg = a < 0
    abs_a = jnp.abs(a)
    safe_a = jnp.where(abs_a > 0, abs_a, 1.0)
    x0 = -b / (2.0 * jnp.where(a != 0, a, 1.0))
    shift = -(b * b) / (4.0 * jnp.where(a != 0, a, 1.0))  # exponent at the vertex
    # a < 0: Gaussian
    z_lo = jnp.sqrt(2.0 * safe_a) * (lo - x0)
    z_hi = jnp.sqrt(2.0 * safe_a) * (hi - x0)
    upper = z_lo > 0
    log_big = jnp.where(upper, log_ndtr(-z_lo), log_ndtr(z_hi))
    log_small = jnp.where(upper, log_ndtr(-z_hi), log_ndtr(z_lo))
    gap = jnp.where(log_big > log_small, log_small - log_big, -1.0)
    log_mass = jnp.where(log_big > log_small, log_big + jnp.log(-jnp.expm1(gap)), -jnp.inf)
    gauss = shift + 0.5 * math.log(math.pi) - 0.5 * jnp.log(safe_a) + log_mass
    # a > 0: Dawson
    s_lo = jnp.sqrt(safe_a) * (lo - x0)
    s_hi = jnp.sqrt(safe_a) * (hi - x0)

    def log_abs_g(s: jax.Array) -> jax.Array:  # ln |e^{s²} D(s)|
        d = jnp.abs(dawsn(s))
        return s * s + jnp.log(jnp.where(d > 0, d, 1.0))

    g_lo, g_hi = log_abs_g(s_lo), log_abs_g(s_hi)
    both_pos = s_lo >= 0
    both_neg = s_hi <= 0
    diff_pos = jnp.where(g_hi > g_lo, g_lo - g_hi, -1.0)
    diff_neg = jnp.where(g_lo > g_hi, g_hi - g_lo, -1.0)
    dawson = jnp.where(
        both_pos,
        g_hi + jnp.log(-jnp.expm1(diff_pos)),
        jnp.where(
            both_neg,
            g_lo + jnp.log(-jnp.expm1(diff_neg)),
            jnp.logaddexp(jnp.where(s_hi > 0, g_hi, -jnp.inf), jnp.where(s_lo < 0, g_lo, -jnp.inf)),
        ),
    )
    dawson = shift + dawson - 0.5 * jnp.log(safe_a)
    return jnp.where(neg, gauss, dawson)


#: Gauss–Legendre rule for the exp-of-quadratic integral where its closed form cancels
_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(48)
_GL_PANELS = 8
#: above this |vertex exponent| b²/4|a| the closed form loses > 1e-13·(this) to cancellation
_QUADRATIC_CANCEL_LIMIT = 50.0


def _log_int_exp_poly_gl(lo: jax.Array, hi: jax.Array, coefficients: jax.Array) -> jax.Array:
    """ln ∫_lo^hi exp(Σ c_i x^i) dx by 8 × 48-point Gauss–Legendre (finite range)."""
    edges = jnp.linspace(0.0, 1.0, _GL_PANELS + 1)
    left = edges[:-1, None]
    half = 0.5 / _GL_PANELS
    t = (left + half * (1.0 + jnp.asarray(_GL_NODES)[None, :])).ravel()
    w = jnp.tile(jnp.asarray(_GL_WEIGHTS) * half, _GL_PANELS)
    length = jnp.asarray(hi) - lo
    x = jnp.asarray(lo)[..., None] + length[..., None] * t
    logf = _horner(coefficients[..., None, :], x)
    return logsumexp(logf + jnp.log(w), axis=-1) + jnp.log(length)


@register("legacy_exp_poly_dist")
class LegacyExpPolyDist(Distribution):
    r"""Exponential of a polynomial, :math:`f(x) = \exp\left(\sum_{i=0}^{k-1} a_i x^i\right)`.

    HS3 ``legacy_exp_poly_dist`` as ROOT 6.40 writes ``RooLegacyExpPoly`` (``coefficients``
    lowest order first; ``lowestOrder`` written as leading ``"1.0"``/``"0.0"`` strings, read
    here as literals; the constant term is a factor that normalisation removes, so the value
    of that marker does not matter). ROOT integrates this class numerically
    (``getAnalyticalIntegral`` returns 0). Here: closed form for degree ≤ 1 (exponential) and
    degree 2 (Gaussian with ``log_ndtr`` for :math:`a_2 < 0`, Dawson's function for
    :math:`a_2 > 0`); where the degree-2 closed form would cancel (vertex exponent
    :math:`a_1^2/4|a_2| > 50`, i.e. :math:`a_2 \to 0`) a fixed 8 × 48-point Gauss–Legendre rule
    is used instead (relative accuracy ~1e-15 for such smooth integrands on a finite range).
    Degree ≥ 3: no closed form, ``None`` (numerical normalisation).
    """

    x: Observable
    coefficients: LiteralRefList

    @staticmethod
    def log_density(x: jax.Array, coefficients: jax.Array) -> jax.Array:  # type: ignore[override]
        return _horner(coefficients, x)

    @staticmethod
    def log_integral(  # type: ignore[override]
        lo: jax.Array, hi: jax.Array, coefficients: jax.Array
    ) -> jax.Array | None:
        k = coefficients.shape[-1]
        lo = jnp.asarray(lo, dtype=jnp.float64)
        hi = jnp.asarray(hi, dtype=jnp.float64)
        if k == 0:
            return jnp.log(hi - lo)
        c0 = coefficients[..., 0]
        if k == 1:
            return c0 + jnp.log(hi - lo)
        b = coefficients[..., 1]
        if k == 2:
            return c0 + _log_int_exp_linear(lo, hi, b)
        if k > 3:
            return None
        a = coefficients[..., 2]
        cancel = (b * b) / (4.0 * jnp.maximum(jnp.abs(a), 1e-300)) > _QUADRATIC_CANCEL_LIMIT
        closed = _log_int_exp_quadratic(
            lo, hi, jnp.where(cancel, -1.0, a), jnp.where(cancel, 0.0, b)
        )
        numeric = _log_int_exp_poly_gl(lo, hi, jnp.where(cancel[..., None], coefficients, 0.0))
        return c0 + jnp.where(cancel, numeric - jnp.where(cancel, c0, 0.0), closed)

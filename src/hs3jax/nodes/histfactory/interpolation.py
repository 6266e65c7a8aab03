r"""HistFactory interpolation of systematic variations, vectorised over modifiers and bins.

For a nuisance parameter α and the nominal, down (α = −1) and up (α = +1) values, each code
gives either an additive shift δ(α) (ν → ν + δ) or a multiplicative factor κ(α) (ν → κ ν).
The codes are ROOT's (``RooFit::Detail::MathFuncs::flexibleInterpSingle``, used by both
``FlexibleInterpVar`` and ``PiecewiseInterpolation``, boundary 1), and pyhf's variant of code 2:

======  =====================================================  ==============  =============
code    inside |α| < 1 / outside                               kind            pyhf name
======  =====================================================  ==============  =============
0       linear / linear                                        additive        code0
1       exponential / exponential                              multiplicative  code1
2       parabola / linear, continuous value and slope          additive        (ROOT only)
pyhf2   pyhf's code2: parabola / (b±2a)(α∓1) (pyhf#2729)       additive        code2
4       6th-order polynomial / linear                          additive        code4p
5       6th-order polynomial / exponential                     multiplicative  code4
6       code 4 on the relative variations                      multiplicative  (ROOT only)
======  =====================================================  ==============  =============

Additive shifts of one yield are summed; multiplicative factors multiply the result. When
additive and multiplicative codes act on the same yield, the shifts are applied first: that is
ROOT's order when the additive modifiers are listed first, and both ROOT and pyhf write one code
per modifier type, so the order question does not arise in their files.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = [
    "ADDITIVE",
    "LINEAR_IN_TEMPLATES",
    "MULTIPLICATIVE",
    "additive_basis",
    "additive_coefficients",
    "additive_shift",
    "additive_shift_of",
    "additive_terms",
    "multiplicative_factor",
    "relative_factor",
    "relative_factor_of",
    "relative_terms",
    "relative_variations",
]

ADDITIVE = frozenset({"0", "2", "pyhf2", "4"})
MULTIPLICATIVE = frozenset({"1", "5", "6"})


def _poly6_terms(lo: jax.Array, nom: jax.Array, hi: jax.Array) -> tuple[jax.Array, ...]:
    """Code 4's (up, down, S, A): up = hi − nom, down = nom − lo, S = (up + down)/2,
    A = (up − down)/16."""
    up = hi - nom
    down = nom - lo
    return up, down, 0.5 * (up + down), 0.0625 * (up - down)


def _poly6_shift(alpha: jax.Array, terms: tuple[jax.Array, ...]) -> jax.Array:
    """Code 4 (pyhf code4p): x (S + x A (15 − 10x² + 3x⁴)) inside, linear outside."""
    up, down, s, a = terms
    x = jnp.clip(alpha, -1.0, 1.0)
    x2 = x * x
    inside = x * (s + x * a * (15.0 + x2 * (-10.0 + 3.0 * x2)))
    return jnp.where(alpha >= 1.0, alpha * up, jnp.where(alpha <= -1.0, alpha * down, inside))


def additive_terms(
    code: str, lo: jax.Array, nom: jax.Array, hi: jax.Array
) -> tuple[jax.Array, ...]:
    """The functions of the templates alone that :func:`additive_shift_of` reads (computed
    once per template set, not at every parameter point)."""
    if code == "0":
        return hi - nom, nom - lo
    if code == "2":
        return 0.5 * (hi + lo) - nom, 0.5 * (hi - lo), hi, lo, nom
    if code == "pyhf2":
        return 0.5 * (hi + lo) - nom, 0.5 * (hi - lo)
    if code == "4":
        return _poly6_terms(lo, nom, hi)
    raise ValueError(f"interpolation code {code!r} is not additive")


def additive_shift_of(code: str, alpha: jax.Array, terms: tuple[jax.Array, ...]) -> jax.Array:
    """The additive shift δ(α) of an additive ``code`` from its :func:`additive_terms`
    (elementwise, broadcasting)."""
    if code == "0":
        up, down = terms
        return jnp.where(alpha > 0, alpha * up, alpha * down)
    if code in ("2", "pyhf2"):
        a, b = terms[:2]
        inside = a * alpha * alpha + b * alpha
        if code == "2":
            # ROOT's order of operations ((… + hi) − nom), for the same last digit
            hi, lo, nom = terms[2:]
            above = (2.0 * a + b) * (alpha - 1.0) + hi - nom
            below = (b - 2.0 * a) * (alpha + 1.0) + lo - nom
            return jnp.where(alpha > 1.0, above, jnp.where(alpha < -1.0, below, inside))
        above = (b + 2.0 * a) * (alpha - 1.0)
        below = (b - 2.0 * a) * (alpha + 1.0)
        return jnp.where(alpha > 1.0, above, jnp.where(alpha >= -1.0, inside, below))
    if code == "4":
        return _poly6_shift(alpha, terms)
    raise ValueError(f"interpolation code {code!r} is not additive")


def additive_shift(
    code: str, alpha: jax.Array, lo: jax.Array, nom: jax.Array, hi: jax.Array
) -> jax.Array:
    """The additive shift δ(α) of an additive ``code`` (elementwise, broadcasting)."""
    return additive_shift_of(code, alpha, additive_terms(code, lo, nom, hi))


#: Additive codes written as δ(α) = Σ_b B_b(α) c_b(lo, nom, hi): basis functions of α alone
#: and coefficients of the templates alone (see :func:`additive_basis`).
LINEAR_IN_TEMPLATES = frozenset({"0", "4"})


def additive_basis(code: str, alpha: jax.Array) -> jax.Array:
    """Basis functions B_b(α), stacked on a new last axis, with δ(α) = Σ_b B_b(α) c_b for the
    coefficients of :func:`additive_coefficients`. Code 0: (α·1[α > 0], α·1[α ≤ 0]); code 4:
    (α, α², α⁴, α⁶)·1[|α| < 1], α·1[α ≥ 1], α·1[α ≤ −1].

    With one row of basis values per nuisance parameter, the shifts of every (parameter,
    yield) pair of a dense group are one matrix product (the templates' coefficients are
    computed once per template set, also under ``vmap`` over parameter points)."""
    zero = jnp.zeros_like(alpha)
    if code == "0":
        return jnp.stack([jnp.where(alpha > 0, alpha, zero), jnp.where(alpha > 0, zero, alpha)], -1)
    if code == "4":
        inside = jnp.abs(alpha) < 1.0
        x = jnp.where(inside, alpha, zero)
        x2 = x * x
        x4 = x2 * x2
        return jnp.stack(
            [
                x,
                x2,
                x4,
                x4 * x2,
                jnp.where(alpha >= 1.0, alpha, zero),
                jnp.where(alpha <= -1.0, alpha, zero),
            ],
            -1,
        )
    raise ValueError(f"interpolation code {code!r} has no basis form")


def additive_coefficients(code: str, lo: jax.Array, nom: jax.Array, hi: jax.Array) -> jax.Array:
    """The coefficients c_b of :func:`additive_basis`, stacked on a new last axis. Code 4:
    with S = (up + down)/2, A = (up − down)/16, up = hi − nom, down = nom − lo:
    (S, 15A, −10A, 3A, up, down), the expansion of x (S + x A (15 − 10x² + 3x⁴))."""
    up = hi - nom
    down = nom - lo
    if code == "0":
        return jnp.stack([up, down], -1)
    if code == "4":
        s = 0.5 * (up + down)
        a = 0.0625 * (up - down)
        return jnp.stack([s, 15.0 * a, -10.0 * a, 3.0 * a, up, down], -1)
    raise ValueError(f"interpolation code {code!r} has no basis form")


def _safe_log(x: jax.Array) -> jax.Array:
    return jnp.log(jnp.where(x > 0, x, 1.0))


def _exp_poly6_terms(lo: jax.Array, hi: jax.Array) -> tuple[jax.Array, ...]:
    """Code 5's polynomial coefficients c1..c6 and the logarithms of the variations."""
    log_hi = _safe_log(hi)
    log_lo = _safe_log(lo)
    pow_up = jnp.where(hi > 0, hi, 0.0)
    pow_down = jnp.where(lo > 0, lo, 0.0)
    # ROOT's and pyhf's s_k, a_k (half sums and differences of pow_up·ln^k hi and
    # pow_down·(−ln lo)^k) are kept doubled, S = 2s, A = 2a, and the coefficients' divisors
    # doubled with them: the same numbers bit for bit (scaling by 2 is exact), fewer flops
    up_log = pow_up * log_hi
    down_log = pow_down * log_lo
    up_log2 = up_log * log_hi
    down_log2 = down_log * log_lo
    s0 = pow_up + pow_down
    a0 = pow_up - pow_down
    s1 = up_log - down_log
    a1 = up_log + down_log
    s2 = up_log2 + down_log2
    a2 = up_log2 - down_log2
    c1 = (15.0 * a0 - 7.0 * s1 + a2) / 16.0
    c2 = (-48.0 + 24.0 * s0 - 9.0 * a1 + s2) / 16.0
    c3 = (-5.0 * a0 + 5.0 * s1 - a2) / 8.0
    c4 = (24.0 - 12.0 * s0 + 7.0 * a1 - s2) / 8.0
    c5 = (3.0 * a0 - 3.0 * s1 + a2) / 16.0
    c6 = (-16.0 + 8.0 * s0 - 5.0 * a1 + s2) / 16.0
    return c1, c2, c3, c4, c5, c6, log_hi, log_lo


def _exp_poly6_factor(alpha: jax.Array, terms: tuple[jax.Array, ...]) -> jax.Array:
    """Code 5 (pyhf code4) for relative variations lo, hi: exponential outside |α| ≥ 1 and a
    6th-order polynomial inside whose value and first two derivatives match at |α| = 1."""
    c1, c2, c3, c4, c5, c6, log_hi, log_lo = terms
    x = jnp.clip(alpha, -1.0, 1.0)
    inside = 1.0 + x * (c1 + x * (c2 + x * (c3 + x * (c4 + x * (c5 + x * c6)))))
    # one exponential for both tails (the same values and derivatives as two): fewer flops
    # keep tiny programs under XLA:CPU's inline-execution threshold
    outside = jnp.exp(jnp.where(alpha >= 1.0, alpha * log_hi, -alpha * log_lo))
    return jnp.where(jnp.abs(alpha) >= 1.0, outside, inside)


def relative_terms(code: str, rel_lo: jax.Array, rel_hi: jax.Array) -> tuple[jax.Array, ...]:
    """The functions of the relative variations alone that :func:`relative_factor_of` reads."""
    if code == "1":
        return _safe_log(rel_hi), _safe_log(rel_lo)
    if code == "5":
        return _exp_poly6_terms(rel_lo, rel_hi)
    if code == "6":
        return _poly6_terms(rel_lo, jnp.ones_like(rel_lo), rel_hi)
    raise ValueError(f"interpolation code {code!r} is not multiplicative")


def relative_factor_of(code: str, alpha: jax.Array, terms: tuple[jax.Array, ...]) -> jax.Array:
    """κ(α) of a multiplicative ``code`` from its :func:`relative_terms`."""
    if code == "1":
        log_hi, log_lo = terms
        return jnp.where(alpha >= 0, jnp.exp(alpha * log_hi), jnp.exp(-alpha * log_lo))
    if code == "5":
        return _exp_poly6_factor(alpha, terms)
    if code == "6":
        return 1.0 + _poly6_shift(alpha, terms)
    raise ValueError(f"interpolation code {code!r} is not multiplicative")


def relative_variations(
    lo: jax.Array, nom: jax.Array, hi: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """lo/nom and hi/nom (1 where the nominal is zero, whose yield no factor changes)."""
    safe_nom = jnp.where(nom != 0, nom, 1.0)
    return lo / safe_nom, hi / safe_nom


def multiplicative_factor(
    code: str, alpha: jax.Array, lo: jax.Array, nom: jax.Array, hi: jax.Array
) -> jax.Array:
    """The factor κ(α) of a multiplicative ``code`` (elementwise, broadcasting)."""
    return relative_factor(code, alpha, *relative_variations(lo, nom, hi))


def relative_factor(code: str, alpha: jax.Array, rel_lo: jax.Array, rel_hi: jax.Array) -> jax.Array:
    """κ(α) of a multiplicative ``code`` for variations relative to the nominal (normsys's
    ``lo``/``hi`` factors): :func:`multiplicative_factor` with ``nom = 1``, without the division."""
    return relative_factor_of(code, alpha, relative_terms(code, rel_lo, rel_hi))

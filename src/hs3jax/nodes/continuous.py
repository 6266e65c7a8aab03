"""Continuous one-dimensional densities: uniform, exponential, generalised normal, gamma,
relativistic Breit–Wigner and Landau.

Every ``log_density`` is written in log space and broadcasts elementwise (parameters of shape
``(n,)``, observables of shape ``(n,)`` or ``(events,)``); values and gradients are NaN-free
inside the support (double-``where`` wherever a branch would divide by zero or take the log of
zero). Every ``log_integral`` is the closed form of ``ln ∫_lo^hi exp(log_density) dx``, so a
density is normalised over its observable's range by ``log_density - log_integral``.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.scipy.special import gammainc, gammaincc, gammaln
from pydantic import field_validator

from hs3jax.registry import register
from hs3jax.schema.base import Distribution, Observable, Ref

__all__ = [
    "ExponentialDist",
    "GammaDist",
    "GeneralizedNormalDist",
    "LandauDist",
    "RelativisticBreitWignerDist",
    "UniformDist",
    "landau_cdf",
    "landau_logpdf",
    "landau_pdf",
    "landau_sf",
    "log_diff_exp",
]


def log_diff_exp(a: jax.Array, b: jax.Array) -> jax.Array:
    """ln(eᵃ − eᵇ) for a ≥ b, accurate when the two are close (−inf when a == b)."""
    d = jnp.where(a > b, b - a, -1.0)
    return jnp.where(a > b, a + jnp.log(-jnp.expm1(d)), -jnp.inf)


def _log_mass_from_tails(
    cdf_lo: jax.Array, sf_lo: jax.Array, cdf_hi: jax.Array, sf_hi: jax.Array
) -> jax.Array:
    """ln(F(hi) − F(lo)) from both tails, choosing the form that keeps full precision."""
    upper_tail = cdf_lo > 0.5  # the whole interval lies in the upper half: use sf differences
    lower_tail = sf_hi > 0.5  # the whole interval lies in the lower half: use cdf differences
    central = jnp.log1p(-jnp.where(upper_tail | lower_tail, 0.0, cdf_lo + sf_hi))
    upper = jnp.log(jnp.where(upper_tail, sf_lo - sf_hi, 1.0))
    lower = jnp.log(jnp.where(lower_tail & ~upper_tail, cdf_hi - cdf_lo, 1.0))
    return jnp.where(upper_tail, upper, jnp.where(lower_tail, lower, central))


@register("uniform_dist")
class UniformDist(Distribution):
    r"""Uniform density :math:`f(x) = 1/(hi - lo)` over the observable's range.

    HS3 ``uniform_dist``; ROOT ``RooUniform``. ROOT writes ``"x": ["x"]`` (a list with one
    observable); a one-element list is read as that observable and written back as a list.
    """

    x: Observable

    @field_validator("x", mode="before")
    @classmethod
    def _one_observable(cls, value: Any) -> Any:
        if isinstance(value, list):
            if len(value) != 1:
                raise ValueError(
                    "uniform_dist over several observables is not supported; "
                    f"got {len(value)} observables {value!r}"
                )
            return value[0]
        return value

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        if "x" in out and not isinstance(out["x"], list):
            out["x"] = [out["x"]]
        return out

    @staticmethod
    def log_density(x: jax.Array) -> jax.Array:  # type: ignore[override]
        return jnp.zeros_like(jnp.asarray(x, dtype=jnp.float64))

    @staticmethod
    def log_integral(lo: jax.Array, hi: jax.Array) -> jax.Array:  # type: ignore[override]
        return jnp.log(jnp.asarray(hi, dtype=jnp.float64) - lo)


@register("exponential_dist")
class ExponentialDist(Distribution):
    r"""Exponential density :math:`f(x) = e^{-c x}` (HS3 convention, note the sign).

    HS3 ``exponential_dist``; ROOT ``RooExponential``. ROOT's ``RooExponential(x, c)`` is
    :math:`e^{+c x}`: ROOT 6.40 writes it with ``c`` pointing to a ``generic_function`` ``-c``,
    and with ``negateCoefficient=true`` it writes ``c`` directly; both read back as
    :math:`e^{-c x}` here, which reproduces ROOT's numbers. The integral over ``[lo, hi]`` is
    :math:`(e^{-c\,lo} - e^{-c\,hi})/c`, evaluated as
    :math:`\max(-c\,lo, -c\,hi) + \ln L + \ln\frac{1-e^{-|c|L}}{|c|L}` (``L = hi - lo``) with a
    series for :math:`|c|L < 10^{-6}` (continuous through ``c = 0``; one-sided infinite ranges
    allowed where the integral converges).
    """

    x: Observable
    c: Ref

    @staticmethod
    def log_density(x: jax.Array, c: jax.Array) -> jax.Array:  # type: ignore[override]
        return -c * x

    @staticmethod
    def log_integral(lo: jax.Array, hi: jax.Array, c: jax.Array) -> jax.Array:  # type: ignore[override]
        a = -jnp.asarray(c, dtype=jnp.float64)
        lo = jnp.asarray(lo, dtype=jnp.float64)
        hi = jnp.asarray(hi, dtype=jnp.float64)
        length = hi - lo
        u = jnp.abs(a) * length
        small = u < 1e-6
        finite_len = jnp.where(jnp.isfinite(length), length, 1.0)
        # small |a| L: ln ∫ = a (lo + hi)/2 + ln L + (a L)²/24
        mid = jnp.where(small, 0.5 * (lo + hi), 0.0)
        series = a * mid + jnp.log(finite_len) + (a * finite_len) ** 2 / 24.0
        safe_a = jnp.where(small, 1.0, a)
        safe_u = jnp.where(small, 1.0, u)
        # the larger of a·lo, a·hi without touching an infinite end (NaN-free gradients)
        lo_f = jnp.where(jnp.isfinite(lo), lo, 0.0)
        hi_f = jnp.where(jnp.isfinite(hi), hi, 0.0)
        top = jnp.where(
            safe_a > 0,
            jnp.where(jnp.isfinite(hi), safe_a * hi_f, jnp.inf),
            jnp.where(jnp.isfinite(lo), safe_a * lo_f, jnp.inf),
        )
        general = top + jnp.log(-jnp.expm1(-safe_u)) - jnp.log(jnp.abs(safe_a))
        return jnp.where(small, series, general)


@register("generalized_normal_dist", "gennormal_dist")
class GeneralizedNormalDist(Distribution):
    r"""Generalised normal density
    :math:`f(x) = \frac{\beta}{2\alpha\Gamma(1/\beta)} e^{-(|x-\mu|/\alpha)^\beta}`.

    HS3 ``generalized_normal_dist`` (the HS3 text also names it ``gennormal_dist``; both are
    read) with keys ``x``, ``mean``, ``alpha`` (width), ``beta`` (power); ``beta = 2`` is a
    Gaussian with :math:`\sigma = \alpha/\sqrt2`. No ROOT class; reproduces
    ``scipy.stats.gennorm(beta, loc=mean, scale=alpha)``. ``log_density`` is normalised over the
    real line; the integral over ``[lo, hi]`` uses the regularised incomplete gamma functions
    :math:`F(x) = \tfrac12 + \tfrac12\,\mathrm{sign}(z)\,P(1/\beta, |z|^\beta)`, in the tail
    (``Q``) form where that keeps precision.
    """

    x: Observable
    mean: Ref
    alpha: Ref
    beta: Ref

    @staticmethod
    def _pow(z: jax.Array, beta: jax.Array) -> jax.Array:
        t = jnp.abs(z)
        safe = jnp.where(t > 0, t, 1.0)
        return jnp.where(t > 0, safe**beta, 0.0)

    @staticmethod
    def log_density(  # type: ignore[override]
        x: jax.Array, mean: jax.Array, alpha: jax.Array, beta: jax.Array
    ) -> jax.Array:
        z = (x - mean) / alpha
        return (
            -GeneralizedNormalDist._pow(z, beta)
            + jnp.log(beta)
            - jnp.log(2.0 * alpha)
            - gammaln(1.0 / beta)
        )

    @staticmethod
    def _tails(z: jax.Array, beta: jax.Array) -> tuple[jax.Array, jax.Array]:
        """(F(z), 1 − F(z)) of the standard generalised normal, each from its own tail."""
        s = 1.0 / beta
        finite = jnp.isfinite(z)
        zf = jnp.where(finite, z, 0.0)
        t = GeneralizedNormalDist._pow(zf, beta)
        safe_t = jnp.where(t > 0, t, 1.0)
        half_q = jnp.where(t > 0, 0.5 * gammaincc(s, safe_t), 0.5)  # mass beyond |z|
        cdf = jnp.where(zf < 0, half_q, 1.0 - half_q)
        sf = jnp.where(zf < 0, 1.0 - half_q, half_q)
        cdf = jnp.where(finite, cdf, jnp.where(z > 0, 1.0, 0.0))
        sf = jnp.where(finite, sf, jnp.where(z > 0, 0.0, 1.0))
        return cdf, sf

    @staticmethod
    def log_integral(  # type: ignore[override]
        lo: jax.Array, hi: jax.Array, mean: jax.Array, alpha: jax.Array, beta: jax.Array
    ) -> jax.Array:
        cdf_lo, sf_lo = GeneralizedNormalDist._tails((lo - mean) / alpha, beta)
        cdf_hi, sf_hi = GeneralizedNormalDist._tails((hi - mean) / alpha, beta)
        return _log_mass_from_tails(cdf_lo, sf_lo, cdf_hi, sf_hi)


@register("gamma_dist")
class GammaDist(Distribution):
    r"""Gamma density
    :math:`f(x) = \frac{((x-\mu)/\beta)^{\gamma-1} e^{-(x-\mu)/\beta}}{\beta\,\Gamma(\gamma)}`
    for :math:`x > \mu` (0 below).

    HS3 ``gamma_dist`` as ROOT 6.40 writes ``RooGamma`` (keys ``x``, ``gamma`` = shape,
    ``beta`` = scale, ``mu`` = location; ROOT evaluates ``TMath::GammaDist(x, gamma, mu, beta)``);
    reproduces ``scipy.stats.gamma(gamma, loc=mu, scale=beta)``. At :math:`x = \mu` the value is
    :math:`1/\beta` for :math:`\gamma = 1` and 0 otherwise, as in ``TMath::GammaDist``. The
    integral over ``[lo, hi]`` is :math:`P(\gamma, (hi-\mu)/\beta) - P(\gamma, (lo-\mu)/\beta)`
    (ROOT: ``ROOT::Math::gamma_cdf`` differences), taken from the upper-tail ``Q`` functions
    when the range lies in the upper tail.
    """

    x: Observable
    gamma: Ref
    beta: Ref
    mu: Ref

    @staticmethod
    def log_density(  # type: ignore[override]
        x: jax.Array, gamma: jax.Array, beta: jax.Array, mu: jax.Array
    ) -> jax.Array:
        t = (x - mu) / beta
        pos = t > 0
        safe_t = jnp.where(pos, t, 1.0)
        value = (gamma - 1.0) * jnp.log(safe_t) - safe_t - jnp.log(beta) - gammaln(gamma)
        at_mu = jnp.where(gamma == 1.0, -jnp.log(beta), -jnp.inf)
        return jnp.where(pos, value, jnp.where(t == 0, at_mu, -jnp.inf))

    @staticmethod
    def _tails(t: jax.Array, gamma: jax.Array) -> tuple[jax.Array, jax.Array]:
        pos = t > 0
        finite = jnp.isfinite(t)
        safe_t = jnp.where(pos & finite, t, 1.0)
        cdf = jnp.where(pos & finite, gammainc(gamma, safe_t), jnp.where(pos, 1.0, 0.0))
        sf = jnp.where(pos & finite, gammaincc(gamma, safe_t), jnp.where(pos, 0.0, 1.0))
        return cdf, sf

    @staticmethod
    def log_integral(  # type: ignore[override]
        lo: jax.Array, hi: jax.Array, gamma: jax.Array, beta: jax.Array, mu: jax.Array
    ) -> jax.Array:
        cdf_lo, sf_lo = GammaDist._tails((lo - mu) / beta, gamma)
        cdf_hi, sf_hi = GammaDist._tails((hi - mu) / beta, gamma)
        return _log_mass_from_tails(cdf_lo, sf_lo, cdf_hi, sf_hi)


@register("relativistic_breit_wigner_dist")
class RelativisticBreitWignerDist(Distribution):
    r"""Relativistic Breit–Wigner with constant width,
    :math:`f(x) = \frac{x\,\Gamma}{(M^2 - x^2)^2 + M^2\Gamma^2}` for :math:`x > 0`.

    HS3 ``relativistic_breit_wigner_dist`` in its constant-width special case (the HS3 text's
    formula :math:`m\Gamma_1(m)/|M^2 - m^2 - iM\Gamma(m)|^2` with one channel of constant width;
    the factor :math:`m` is the Jacobian from :math:`m^2` to :math:`m`). Keys: ``x`` (the
    observable), ``mass`` (:math:`M`), ``width`` (:math:`\Gamma`). No ROOT class (ROOT 6.40
    refuses ``RooBreitWigner``). Not ``scipy.stats.rel_breitwigner``, which has no factor
    :math:`x`. With :math:`u = x^2` the integral is elementary:
    :math:`\int f\,dx = \arctan\frac{x^2 - M^2}{M\Gamma}/(2M)`; ``log_density`` is normalised
    over :math:`x > 0` (total :math:`(\pi/2 + \arctan(M/\Gamma))/2M`).
    """

    x: Observable
    mass: Ref
    width: Ref

    @staticmethod
    def _log_total(mass: jax.Array, width: jax.Array) -> jax.Array:
        return jnp.log(0.5 * jnp.pi + jnp.arctan(mass / width)) - jnp.log(2.0 * mass)

    @staticmethod
    def log_density(x: jax.Array, mass: jax.Array, width: jax.Array) -> jax.Array:  # type: ignore[override]
        pos = x > 0
        safe_x = jnp.where(pos, x, 1.0)
        d = mass * mass - safe_x * safe_x
        value = (
            jnp.log(safe_x)
            + jnp.log(width)
            - jnp.log(d * d + (mass * width) ** 2)
            - RelativisticBreitWignerDist._log_total(mass, width)
        )
        return jnp.where(pos, value, -jnp.inf)

    @staticmethod
    def log_integral(  # type: ignore[override]
        lo: jax.Array, hi: jax.Array, mass: jax.Array, width: jax.Array
    ) -> jax.Array:
        mw = mass * width
        lo_c = jnp.maximum(jnp.asarray(lo, dtype=jnp.float64), 0.0)
        hi_c = jnp.maximum(jnp.asarray(hi, dtype=jnp.float64), 0.0)
        # arctan((x² − M²)/(MΓ)) at both ends; the difference is taken through arctan of the
        # difference formula when both ends are on the same side, to keep precision in tails
        a_lo = jnp.where(jnp.isfinite(lo_c), (lo_c * lo_c - mass * mass) / mw, jnp.inf)
        a_hi = jnp.where(jnp.isfinite(hi_c), (hi_c * hi_c - mass * mass) / mw, jnp.inf)
        same_side = (a_lo * a_hi > 0) & jnp.isfinite(a_hi) & jnp.isfinite(a_lo)
        safe_lo = jnp.where(same_side, a_lo, 0.0)
        safe_hi = jnp.where(same_side, a_hi, 1.0)
        diff_same = jnp.arctan((safe_hi - safe_lo) / (1.0 + safe_hi * safe_lo))
        diff = jnp.where(same_side, diff_same, jnp.arctan(a_hi) - jnp.arctan(a_lo))
        return (
            jnp.log(diff)
            - jnp.log(2.0 * mass)
            - RelativisticBreitWignerDist._log_total(mass, width)
        )


# --------------------------------------------------------------------------------------------
# Landau: an integral representation on a finite interval, evaluated by fixed quadrature.
#
# The standard Landau density (ROOT::Math::landau_pdf, CERNLIB DENLAN) is
#   p(λ) = (1/π) ∫_0^∞ exp(−t ln t − λt) sin(πt) dt.
# The Landau law is the stable law α = 1, β = 1; Zolotarev's / Nolan's (1997) integral
# representation gives, with h(φ) = (φ / sin φ) exp(−φ cot φ − λ) (increasing on (0, π)),
#   p(λ) = (1/π) ∫_0^π h e^{−h} dφ,      F(λ) = (1/π) ∫_0^π e^{−h} dφ.
# Both integrands are smooth and positive (no cancellation). In u = ln h the pdf integrand is the
# fixed Gumbel shape e^{u − e^u}; the interval is split at the φ where u takes the values in
# _LANDAU_U (found by bisection, 56 halvings of [0, π]) and each piece gets 16-point
# Gauss–Legendre. Pieces below u = −36 and above u = 3.64 contribute < 1e−16 relative to the
# pdf. Accuracy (checked against mpmath quadrature of the defining integral at 40 digits):
# relative error of the pdf < 4e−12 for λ in [−3.5, 1000], of the cdf and sf < 1e−13.
# ROOT's DENLAN values differ from the exact density by up to 3e−9 relative (measured on the
# conformance corpus), which is below the HS3TestSuite tolerance 1e−8.
# --------------------------------------------------------------------------------------------

_LANDAU_U = np.array([-36.0, -24.0, -16.0, -10.0, -6.0, -3.0, -1.0, 0.0, 1.0, 2.2, 3.64])
_LANDAU_NODES, _LANDAU_WEIGHTS = np.polynomial.legendre.leggauss(16)
_BISECTIONS = 56


def _landau_u(phi: jax.Array, lam: jax.Array) -> jax.Array:
    """u = ln h(φ) = ln(φ / sin φ) − φ cot φ − λ, continuous at φ = 0 (value −1 − λ)."""
    pos = phi > 0
    safe = jnp.where(pos, phi, 1.0)
    s = jnp.sin(safe)
    ratio = jnp.where(pos, safe / s, 1.0)
    pcot = jnp.where(pos, safe * jnp.cos(safe) / s, 1.0)
    return jnp.log(ratio) - pcot - lam


def _landau_pieces(lam: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Quadrature nodes φ (…, pieces, 16), weights and the last breakpoint for each λ."""
    lam_b = lam[..., None]
    targets = jnp.asarray(_LANDAU_U)
    lo = jnp.zeros(jnp.broadcast_shapes(lam_b.shape, targets.shape))
    hi = jnp.full_like(lo, math.pi)

    def halve(_: int, bounds: tuple[jax.Array, jax.Array]) -> tuple[jax.Array, jax.Array]:
        a, b = bounds
        m = 0.5 * (a + b)
        above = _landau_u(m, lam_b) > targets
        return jnp.where(above, a, m), jnp.where(above, m, b)

    a, b = lax.fori_loop(0, _BISECTIONS, halve, (lo, hi))
    breaks = lax.stop_gradient(0.5 * (a + b))
    edges = jnp.concatenate([jnp.zeros_like(breaks[..., :1]), breaks], axis=-1)
    left, right = edges[..., :-1], edges[..., 1:]
    half = 0.5 * (right - left)
    nodes = (0.5 * (left + right))[..., None] + half[..., None] * jnp.asarray(_LANDAU_NODES)
    weights = half[..., None] * jnp.asarray(_LANDAU_WEIGHTS)
    return nodes, weights, breaks[..., -1]


def _landau_u_at_nodes(lam: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    lam = jnp.asarray(lam, dtype=jnp.float64)
    nodes, weights, last = _landau_pieces(lam)
    u = jnp.minimum(_landau_u(nodes, lam[..., None, None]), 50.0)
    return u, weights, last


def landau_pdf(lam: jax.Array) -> jax.Array:
    r"""Standard Landau density :math:`\frac1\pi\int_0^\infty e^{-t\ln t-\lambda t}\sin\pi t\,dt`
    (``ROOT::Math::landau_pdf(λ)``), relative accuracy < 4e-12 for λ ∈ [−3.5, 1000]."""
    u, w, _ = _landau_u_at_nodes(lam)
    return jnp.sum(w * jnp.exp(u - jnp.exp(u)), axis=(-1, -2)) / math.pi


def landau_logpdf(lam: jax.Array) -> jax.Array:
    """ln of :func:`landau_pdf`, computed with a log-sum-exp (finite far in the left tail)."""
    u, w, _ = _landau_u_at_nodes(lam)
    terms = jnp.log(w) + u - jnp.exp(u)
    return jax.scipy.special.logsumexp(terms, axis=(-1, -2)) - math.log(math.pi)


def landau_cdf(lam: jax.Array) -> jax.Array:
    """Standard Landau distribution function (``ROOT::Math::landau_cdf``)."""
    u, w, _ = _landau_u_at_nodes(lam)
    return jnp.sum(w * jnp.exp(-jnp.exp(u)), axis=(-1, -2)) / math.pi


def landau_sf(lam: jax.Array) -> jax.Array:
    """1 − :func:`landau_cdf`, accurate in the upper tail (≈ 1/λ)."""
    u, w, last = _landau_u_at_nodes(lam)
    inside = jnp.sum(w * -jnp.expm1(-jnp.exp(u)), axis=(-1, -2))
    return (inside + (math.pi - last)) / math.pi


@register("landau_dist")
class LandauDist(Distribution):
    r"""Landau density :math:`f(x) = p((x-\mu)/\sigma)/\sigma` with the standard Landau
    density :math:`p(\lambda) = \frac1\pi\int_0^\infty e^{-t\ln t-\lambda t}\sin(\pi t)\,dt`.

    HS3 ``landau_dist`` (keys ``x``, ``mean``, ``sigma``); ROOT ``RooLandau``, which evaluates
    ``ROOT::Math::landau_pdf((x - mean)/sigma)`` and integrates with ``landau_cdf``.
    :math:`p` and its distribution function are computed from Nolan's finite-interval integral
    representation of the stable law α = β = 1 by fixed piecewise Gauss–Legendre quadrature
    (see :func:`landau_pdf`): relative accuracy better than 4e-12, 1000× finer than ROOT's
    CERNLIB rational approximations (which differ from the exact density by up to 3e-9).
    The integral over ``[lo, hi]`` is :math:`F(z_{hi}) - F(z_{lo})`, from the upper tail where
    the range lies beyond the median.
    """

    x: Observable
    mean: Ref
    sigma: Ref

    @staticmethod
    def log_density(x: jax.Array, mean: jax.Array, sigma: jax.Array) -> jax.Array:  # type: ignore[override]
        return landau_logpdf((x - mean) / sigma) - jnp.log(sigma)

    @staticmethod
    def log_integral(  # type: ignore[override]
        lo: jax.Array, hi: jax.Array, mean: jax.Array, sigma: jax.Array
    ) -> jax.Array:
        def tails(z: jax.Array) -> tuple[jax.Array, jax.Array]:
            finite = jnp.isfinite(z)
            zf = jnp.where(finite, z, 0.0)
            cdf = jnp.where(finite, landau_cdf(zf), jnp.where(z > 0, 1.0, 0.0))
            sf = jnp.where(finite, landau_sf(zf), jnp.where(z > 0, 0.0, 1.0))
            return cdf, sf

        cdf_lo, sf_lo = tails((lo - mean) / sigma)
        cdf_hi, sf_hi = tails((hi - mean) / sigma)
        return _log_mass_from_tails(cdf_lo, sf_lo, cdf_hi, sf_hi)

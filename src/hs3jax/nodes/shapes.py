"""Peak and threshold shapes of HEP fits: Crystal Ball (one- and double-sided), bifurcated
Gaussian and ARGUS, with closed-form integrals over the observable's range.

``log_density`` is written in log space and broadcasts elementwise; ``log_integral`` is the
closed form of ``ln ∫_lo^hi exp(log_density) dx``. Values and gradients are NaN-free (double
``where`` around every branch that would divide by zero or take the log of zero).
"""

from __future__ import annotations

import math
from typing import Annotated, Any

import jax
import jax.numpy as jnp
from jax.scipy.special import gammainc, gammaincc, gammaln, logsumexp, ndtr

from hs3jax.density import Scope, leaf_log_prob
from hs3jax.registry import register
from hs3jax.schema.base import Distribution, Observable, Ref, RefSpec

__all__ = [
    "ArgusDist",
    "BifurGaussDist",
    "CBShape",
    "CrystalBallDist",
    "DoubleSidedCrystalBallDist",
    "OneTailCrystalBall",
    "TwoTailCrystalBall",
]

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
#: ROOT's RooCBShape/RooCrystalBall switch to the n = 1 (logarithmic) tail integral below this
_CB_LOG_THRESHOLD = 1.0e-5


def _log_gauss_piece(sigma: jax.Array, a: jax.Array, b: jax.Array, present: jax.Array) -> jax.Array:
    r"""ln(σ ∫_a^b e^{-t²/2} dt) = ln σ + ln √(2π) + ln(Φ(b) − Φ(a)); −inf where not ``present``.

    Precision: the difference is taken in the tail where both ends are on the same side.
    """
    a = jnp.where(present, a, 0.0)
    b = jnp.where(present, b, 1.0)
    upper = a > 0  # both in the upper tail: Φ̄(a) − Φ̄(b)
    lower = b < 0
    mass = jnp.where(upper, ndtr(-a) - ndtr(-b), jnp.where(lower, ndtr(b) - ndtr(a), 0.0))
    central = 1.0 - ndtr(a) - ndtr(-b)
    mass = jnp.where(upper | lower, mass, central)
    safe = jnp.where(present & (mass > 0), mass, 1.0)
    out = jnp.log(sigma) + _LOG_SQRT_2PI + jnp.log(safe)
    return jnp.where(present & (mass > 0), out, -jnp.inf)


def _cb_tail_log(t: jax.Array, alpha: jax.Array, n: jax.Array) -> jax.Array:
    """ln of the power-law tail A (B − t)^(−n) at t < −α (α > 0)."""
    log_a = n * jnp.log(n / alpha) - 0.5 * alpha * alpha
    b = n / alpha - alpha
    arg = jnp.where(b - t > 0, b - t, 1.0)
    return log_a - n * jnp.log(arg)


def _log_cb_tail_integral(
    sigma: jax.Array,
    alpha: jax.Array,
    n: jax.Array,
    t1: jax.Array,
    t2: jax.Array,
    present: jax.Array,
) -> jax.Array:
    r"""ln(σ ∫_{t1}^{t2} A (B − t)^{−n} dt) for t1 < t2 ≤ −α, −inf where not ``present``.

    :math:`\int = A\,e^{(1-n)L_2}\,\frac{e^{(1-n)(L_1-L_2)}-1}{1-n}`, :math:`L_i = \ln(B - t_i)`,
    evaluated with ``expm1`` (exact for every n ≠ 1). For :math:`|n-1| < 10^{-5}` ROOT
    (``RooCBShape``, ``RooCrystalBall``) uses the n = 1 formula :math:`A(L_1 - L_2)`; this is
    reproduced, so the integral matches ROOT's, with the relative error of ROOT's switch
    (≈ |n−1|(L₁−L₂)/2 ≤ 5e-6·(L₁−L₂)) inside that window.
    """
    t1 = jnp.where(present, t1, -alpha - 2.0)
    t2 = jnp.where(present, t2, -alpha - 1.0)
    log_a = n * jnp.log(n / alpha) - 0.5 * alpha * alpha
    b = n / alpha - alpha
    l1 = jnp.log(b - t1)
    l2 = jnp.log(b - t2)
    d = l1 - l2
    eps = 1.0 - n
    use_log = jnp.abs(eps) < _CB_LOG_THRESHOLD
    safe_eps = jnp.where(use_log, 1.0, eps)
    ratio = jnp.where(use_log, d, jnp.expm1(safe_eps * d) / safe_eps)
    prefactor = jnp.where(use_log, 0.0, eps * l2)
    safe_ratio = jnp.where(present & (ratio > 0), ratio, 1.0)
    out = jnp.log(sigma) + log_a + prefactor + jnp.log(safe_ratio)
    return jnp.where(present & (ratio > 0), out, -jnp.inf)


def _logsum(*terms: jax.Array) -> jax.Array:
    stacked = jnp.stack(jnp.broadcast_arrays(*terms), axis=0)
    return logsumexp(stacked, axis=0)


class CBShape(Distribution):
    r"""One-sided Crystal Ball shape (ROOT ``RooCBShape``): with :math:`t = (m-m_0)/\sigma`,
    :math:`t \to -t` when :math:`\alpha < 0`,

    .. math::
        f(m) = \begin{cases} e^{-t^2/2} & t \ge -|\alpha| \\
        A\,(B - t)^{-n} & t < -|\alpha| \end{cases},\quad
        A = \left(\tfrac{n}{|\alpha|}\right)^n e^{-\alpha^2/2},\quad B = \tfrac{n}{|\alpha|}-|\alpha|.

    A negative α puts the tail on the high side (ROOT's convention). This is what HS3
    ``crystalball_dist`` means with the keys ROOT 6.40 writes for ``RooCBShape`` (``m``, ``m0``,
    ``sigma``, ``alpha``, ``n``; see :class:`CrystalBallDist`). ``log_density`` is ROOT's
    unnormalised shape (peak value 1). The integral reproduces
    ``RooCBShape::analyticalIntegral`` (``RooFit::Detail::MathFuncs::cbShapeIntegral``),
    including its n = 1 formula for :math:`|n-1| < 10^{-5}`; ROOT's rounded constants
    (``sqrtPiOver2 = 1.2533141373``, ``sqrt2 = 1.4142135624``) change its value by < 3e-11
    relative and are not copied. Not registered: the evaluation behind ``crystalball_dist``.
    """

    m: Observable
    m0: Ref
    sigma: Ref
    alpha: Ref
    n: Ref

    @staticmethod
    def log_density(  # type: ignore[override]
        m: jax.Array, m0: jax.Array, sigma: jax.Array, alpha: jax.Array, n: jax.Array
    ) -> jax.Array:
        t = (m - m0) / sigma
        t = jnp.where(alpha < 0, -t, t)
        abs_alpha = jnp.abs(alpha)
        gauss = t >= -abs_alpha
        tail = _cb_tail_log(jnp.where(gauss, -abs_alpha - 1.0, t), abs_alpha, n)
        return jnp.where(gauss, -0.5 * t * t, tail)

    @staticmethod
    def log_integral(  # type: ignore[override]
        lo: jax.Array,
        hi: jax.Array,
        m0: jax.Array,
        sigma: jax.Array,
        alpha: jax.Array,
        n: jax.Array,
    ) -> jax.Array:
        sig = jnp.abs(sigma)
        t_lo = (lo - m0) / sig
        t_hi = (hi - m0) / sig
        tmin = jnp.where(alpha < 0, -t_hi, t_lo)
        tmax = jnp.where(alpha < 0, -t_lo, t_hi)
        abs_alpha = jnp.abs(alpha)
        gauss = _log_gauss_piece(sig, jnp.maximum(tmin, -abs_alpha), tmax, tmax > -abs_alpha)
        tail = _log_cb_tail_integral(
            sig, abs_alpha, n, tmin, jnp.minimum(tmax, -abs_alpha), tmin < -abs_alpha
        )
        return _logsum(gauss, tail)


def _asymmetric_cb_log_density(
    m: jax.Array,
    m0: jax.Array,
    sigma_L: jax.Array,
    sigma_R: jax.Array,
    alpha_L: jax.Array,
    n_L: jax.Array,
    alpha_R: jax.Array,
    n_R: jax.Array,
    has_left: jax.Array,
    has_right: jax.Array,
) -> jax.Array:
    """ln of ROOT's unnormalised ``RooCrystalBall`` shape; a side without a tail (``has_*``
    false) is Gaussian to infinity."""
    a_l = jnp.abs(alpha_L)
    a_r = jnp.abs(alpha_R)
    t = (m - m0) / jnp.where(m < m0, jnp.abs(sigma_L), jnp.abs(sigma_R))
    left = has_left & (t < -a_l)
    right = has_right & (t > a_r)
    core = -0.5 * t * t
    tail_l = _cb_tail_log(jnp.where(left, t, -a_l - 1.0), a_l, n_L)
    tail_r = _cb_tail_log(jnp.where(right, -t, -a_r - 1.0), a_r, n_R)
    return jnp.where(left, tail_l, jnp.where(right, tail_r, core))


def _asymmetric_cb_log_integral(
    lo: jax.Array,
    hi: jax.Array,
    m0: jax.Array,
    sigma_L: jax.Array,
    sigma_R: jax.Array,
    alpha_L: jax.Array,
    n_L: jax.Array,
    alpha_R: jax.Array,
    n_R: jax.Array,
    has_left: jax.Array,
    has_right: jax.Array,
) -> jax.Array:
    """ln ∫_lo^hi of :func:`_asymmetric_cb_log_density` (``RooCrystalBall::analyticalIntegral``)."""
    s_l = jnp.abs(sigma_L)
    s_r = jnp.abs(sigma_R)
    a_l = jnp.abs(alpha_L)
    a_r = jnp.abs(alpha_R)
    tmin = (lo - m0) / jnp.where(lo < m0, s_l, s_r)
    tmax = (hi - m0) / jnp.where(hi < m0, s_l, s_r)
    left = _log_cb_tail_integral(
        s_l, a_l, n_L, tmin, jnp.minimum(tmax, -a_l), has_left & (tmin < -a_l)
    )
    right = _log_cb_tail_integral(
        s_r, a_r, n_R, -tmax, jnp.minimum(-tmin, -a_r), has_right & (tmax > a_r)
    )
    # the Gaussian core reaches to -inf / +inf on a side without a tail
    c_lo = jnp.where(has_left, jnp.maximum(tmin, -a_l), tmin)
    c_hi = jnp.where(has_right, jnp.minimum(tmax, a_r), tmax)
    core_l = _log_gauss_piece(s_l, c_lo, jnp.minimum(c_hi, 0.0), (c_lo < 0) & (c_hi > c_lo))
    core_r = _log_gauss_piece(s_r, jnp.maximum(c_lo, 0.0), c_hi, (c_hi > 0) & (c_hi > c_lo))
    return _logsum(left, right, core_l, core_r)


class TwoTailCrystalBall(Distribution):
    r"""Double-sided Crystal Ball with an asymmetric core (ROOT ``RooCrystalBall``): with
    :math:`t = (m - m_0)/\sigma_L` for :math:`m < m_0` and :math:`(m-m_0)/\sigma_R` otherwise,

    .. math::
        f(m) = \begin{cases} A_L (B_L - t)^{-n_L} & t < -\alpha_L \\ e^{-t^2/2} &
        -\alpha_L \le t \le \alpha_R \\ A_R (B_R + t)^{-n_R} & t > \alpha_R \end{cases},
        \quad A_i = \left(\tfrac{n_i}{\alpha_i}\right)^{n_i} e^{-\alpha_i^2/2},
        \ B_i = \tfrac{n_i}{\alpha_i} - \alpha_i

    (:math:`\alpha_i` and :math:`\sigma_i` taken in absolute value, as ROOT does); the HS3
    text's ``CrystalBallPdf``. ``log_density`` is ROOT's unnormalised shape; the integral
    reproduces ``RooCrystalBall::analyticalIntegral`` including the n = 1 switch at
    :math:`|n_i - 1| < 10^{-5}`. Not registered: the evaluation behind ``crystalball_dist``
    (HS3-text keys) and ``crystalball_doublesided_dist``.
    """

    m: Observable
    m0: Ref
    sigma_L: Ref
    sigma_R: Ref
    alpha_L: Ref
    n_L: Ref
    alpha_R: Ref
    n_R: Ref

    @staticmethod
    def log_density(  # type: ignore[override]
        m: jax.Array,
        m0: jax.Array,
        sigma_L: jax.Array,
        sigma_R: jax.Array,
        alpha_L: jax.Array,
        n_L: jax.Array,
        alpha_R: jax.Array,
        n_R: jax.Array,
    ) -> jax.Array:
        yes = jnp.asarray(True)
        return _asymmetric_cb_log_density(
            m, m0, sigma_L, sigma_R, alpha_L, n_L, alpha_R, n_R, yes, yes
        )

    @staticmethod
    def log_integral(  # type: ignore[override]
        lo: jax.Array,
        hi: jax.Array,
        m0: jax.Array,
        sigma_L: jax.Array,
        sigma_R: jax.Array,
        alpha_L: jax.Array,
        n_L: jax.Array,
        alpha_R: jax.Array,
        n_R: jax.Array,
    ) -> jax.Array:
        yes = jnp.asarray(True)
        return _asymmetric_cb_log_integral(
            lo, hi, m0, sigma_L, sigma_R, alpha_L, n_L, alpha_R, n_R, yes, yes
        )


class OneTailCrystalBall(Distribution):
    r"""ROOT ``RooCrystalBall`` with one tail: :class:`TwoTailCrystalBall` without the right tail
    (:math:`\alpha_R \to \infty`) when :math:`\alpha \ge 0`; for :math:`\alpha < 0` the tail
    (:math:`|\alpha|`, n) is on the high side instead and the low side is Gaussian, as
    ``RooCrystalBall::evaluate`` swaps them (``RooCBShape``'s convention). With
    :math:`\sigma_L = \sigma_R` it equals :class:`CBShape`. Not registered.
    """

    m: Observable
    m0: Ref
    sigma_L: Ref
    sigma_R: Ref
    alpha: Ref
    n: Ref

    @staticmethod
    def log_density(  # type: ignore[override]
        m: jax.Array,
        m0: jax.Array,
        sigma_L: jax.Array,
        sigma_R: jax.Array,
        alpha: jax.Array,
        n: jax.Array,
    ) -> jax.Array:
        left = alpha >= 0
        return _asymmetric_cb_log_density(m, m0, sigma_L, sigma_R, alpha, n, alpha, n, left, ~left)

    @staticmethod
    def log_integral(  # type: ignore[override]
        lo: jax.Array,
        hi: jax.Array,
        m0: jax.Array,
        sigma_L: jax.Array,
        sigma_R: jax.Array,
        alpha: jax.Array,
        n: jax.Array,
    ) -> jax.Array:
        left = alpha >= 0
        return _asymmetric_cb_log_integral(
            lo, hi, m0, sigma_L, sigma_R, alpha, n, alpha, n, left, ~left
        )


#: an optional reference (a key that may be absent)
OptionalRef = Annotated[str | float | None, RefSpec()]


def _crystal_ball_parts(node: Distribution, keys: dict[str, Any]) -> Distribution:
    """The evaluating node for present Crystal Ball keys (``sigma_L``... already resolved)."""
    common = {"name": node.name, "type": node.type, "m": keys["m"], "m0": keys["m0"]}
    if keys["alpha_R"] is None:
        return OneTailCrystalBall.model_construct(
            **common,
            sigma_L=keys["sigma_L"],
            sigma_R=keys["sigma_R"],
            alpha=keys["alpha_L"],
            n=keys["n_L"],
        )
    return TwoTailCrystalBall.model_construct(
        **common, **{k: keys[k] for k in ("sigma_L", "sigma_R", "alpha_L", "n_L", "alpha_R", "n_R")}
    )


def _require(
    node: Distribution, present: dict[str, bool], groups: list[tuple[str, str, str]]
) -> None:
    """Each group of alternative keys: exactly one spelling (a key or its _L/_R pair)."""
    from hs3jax.errors import DocumentError

    for single, left, right in groups:
        if present[single] and (present[left] or present[right]):
            raise DocumentError(
                f"{node.type} {node.name!r} gives {single!r} together with {left!r}/{right!r}",
                path=(single,),
                expected=f"either {single!r} or {left!r} and {right!r} (HS3 text)",
                found=[k for k in (single, left, right) if present[k]],
            )
        if not (present[single] or present[left]):
            raise DocumentError(
                f"{node.type} {node.name!r} has neither {single!r} nor {left!r}",
                path=(),
                expected=f"{single!r}, or {left!r} (and {right!r} for a second tail)",
                found=sorted(k for k, v in present.items() if v),
            )


_CB_GROUPS = [("sigma", "sigma_L", "sigma_R"), ("alpha", "alpha_L", "alpha_R"), ("n", "n_L", "n_R")]


@register("crystalball_dist")
class CrystalBallDist(Distribution):
    r"""HS3 ``crystalball_dist`` in both spellings (:math:`t = (m-m_0)/\sigma`).

    * ROOT 6.40's (``RooCBShape``): keys ``m``, ``m0``, ``sigma``, ``alpha``, ``n`` only — the
      one-sided shape :math:`e^{-t^2/2}` for :math:`t \ge -|\alpha|`, :math:`A(B-t)^{-n}`
      below, the tail on the high side for α < 0 (:class:`CBShape`; ROOT's factory table maps
      ``crystalball_dist`` to ``RooCBShape(m, m0, sigma, alpha, n)``).
    * The HS3 text's asymmetric double-sided ``CrystalBallPdf``: any of ``sigma_L``/``sigma_R``,
      ``alpha_L``/``alpha_R``, ``n_L``/``n_R`` present, each pair replaceable by its common key
      (``sigma``, ``alpha``, ``n``), :math:`A_i(B_i \mp t)^{-n_i}` beyond :math:`\mp\alpha_i`
      (:class:`TwoTailCrystalBall`, ROOT ``RooCrystalBall``). Only ``alpha_L``/``n_L`` given (no
      right tail): ROOT's single-tail ``RooCrystalBall`` (:class:`OneTailCrystalBall`).

    The HS3 text also reads ``sigma``, ``alpha``, ``n`` alone as the *symmetric* double-sided
    shape; ROOT 6.40 reads (and writes) that form as ``RooCBShape``, and hs3jax follows ROOT.
    Normalised over m's range in closed form; checked against ROOT 6.40's ``RooCBShape`` and
    ``RooCrystalBall`` values (conformance case ``cbshape``, own corpus ``crystalball_*``).
    """

    m: Observable
    m0: Ref
    sigma: OptionalRef = None
    alpha: OptionalRef = None
    n: OptionalRef = None
    sigma_L: OptionalRef = None
    sigma_R: OptionalRef = None
    alpha_L: OptionalRef = None
    alpha_R: OptionalRef = None
    n_L: OptionalRef = None
    n_R: OptionalRef = None

    def check(self) -> None:
        present = {k: getattr(self, k) is not None for k in type(self).ref_fields()}
        _require(self, present, _CB_GROUPS)
        if not self._is_root_form():
            _check_right_tail(self, self._resolved())

    def _is_root_form(self) -> bool:
        return all(getattr(self, k) is None for _, left, right in _CB_GROUPS for k in (left, right))

    def evaluating_node(self) -> Distribution:
        """The node that computes this density (:class:`CBShape` or an asymmetric form)."""
        if self._is_root_form():
            keys: dict[str, Any] = {"sigma": self.sigma, "alpha": self.alpha, "n": self.n}
            return CBShape.model_construct(  # check() made sure the three keys are present
                name=self.name, type=self.type, m=self.m, m0=self.m0, **keys
            )
        return _crystal_ball_parts(self, self._resolved())

    def _resolved(self) -> dict[str, Any]:
        """The asymmetric keys, common keys (``sigma``, ``alpha``, ``n``) copied to both sides;
        a missing ``sigma_R`` is ``sigma_L`` (one width), a missing ``alpha_R``: no right tail."""
        keys: dict[str, Any] = {"m": self.m, "m0": self.m0}
        for single, left, right in _CB_GROUPS:
            shared = getattr(self, single)
            keys[left] = shared if shared is not None else getattr(self, left)
            keys[right] = shared if shared is not None else getattr(self, right)
        if keys["sigma_R"] is None:
            keys["sigma_R"] = keys["sigma_L"]
        if keys["alpha_R"] is None and self.n_R is None:
            keys["n_R"] = None  # a common n with no right tail
        return keys

    def log_prob(self, scope: Scope) -> jax.Array:
        return leaf_log_prob(self.evaluating_node(), scope)


def _check_right_tail(node: Distribution, keys: dict[str, Any]) -> None:
    """A right tail needs both ``alpha_R`` and ``n_R`` (directly or through common keys)."""
    from hs3jax.errors import DocumentError

    if (keys["alpha_R"] is None) != (keys["n_R"] is None):
        missing = "n_R" if keys["n_R"] is None else "alpha_R"
        raise DocumentError(
            f"{node.type} {node.name!r} has a right tail without {missing!r}",
            path=(missing,),
            expected="alpha_R and n_R together (or neither: no right tail)",
            found=None,
        )


@register("crystalball_doublesided_dist")
class DoubleSidedCrystalBallDist(Distribution):
    r"""ROOT ``RooCrystalBall`` as ROOT 6.40 writes it (HS3 ``crystalball_doublesided_dist``):

    .. math::
        f(m) = \begin{cases} A_L (B_L - t)^{-n_L} & t < -\alpha_L \\ e^{-t^2/2} &
        -\alpha_L \le t \le \alpha_R \\ A_R (B_R + t)^{-n_R} & t > \alpha_R \end{cases}

    with :math:`t = (m-m_0)/\sigma_{L,R}` (:class:`TwoTailCrystalBall`). Keys of ROOT's export
    table: ``m``, ``m0``, ``sigma_L``, ``sigma_R``, ``alpha_L``, ``n_L``, and ``alpha_R``,
    ``n_R`` only for two tails: ROOT's single-tail ``RooCrystalBall(x, x0, sigma, alpha, n)`` is
    written without them and means one tail on the low side, or on the high side for
    :math:`\alpha_L < 0` (:class:`OneTailCrystalBall`). Checked against ROOT 6.40's values
    (own corpus ``crystalball_ds``, ``crystalball_shared_sigma``,
    ``crystalball_onetail_negative``).
    """

    m: Observable
    m0: Ref
    sigma_L: Ref
    sigma_R: Ref
    alpha_L: Ref
    n_L: Ref
    alpha_R: OptionalRef = None
    n_R: OptionalRef = None

    def check(self) -> None:
        _check_right_tail(self, {"alpha_R": self.alpha_R, "n_R": self.n_R})

    def evaluating_node(self) -> Distribution:
        """The node that computes this density (one or two tails)."""
        keys = {k: getattr(self, k) for k in type(self).ref_fields()}
        return _crystal_ball_parts(self, keys)

    def log_prob(self, scope: Scope) -> jax.Array:
        return leaf_log_prob(self.evaluating_node(), scope)


@register("bifurkated_gaussian_dist", "bifurcated_gaussian_dist")
class BifurGaussDist(Distribution):
    r"""Bifurcated Gaussian :math:`f(x) = \frac{2}{\sqrt{2\pi}(\sigma_L+\sigma_R)}
    e^{-(x-\mu)^2/2\sigma^2}`, :math:`\sigma = \sigma_L` for :math:`x < \mu`, else
    :math:`\sigma_R`.

    HS3 ``bifurkated_gaussian_dist`` (ROOT 6.40's spelling; ``bifurcated_gaussian_dist`` also
    read) with keys ``x``, ``mean``, ``sigmaL``, ``sigmaR``; ROOT ``RooBifurGauss``
    (``MathFuncs::bifurGauss`` and ``bifurGaussIntegral``). ``log_density`` is normalised over the
    real line; the integral over ``[lo, hi]`` is the sum of the two half-Gaussian pieces.
    """

    x: Observable
    mean: Ref
    sigmaL: Ref
    sigmaR: Ref

    @staticmethod
    def _log_total(sigmaL: jax.Array, sigmaR: jax.Array) -> jax.Array:
        return _LOG_SQRT_2PI + jnp.log(0.5 * (sigmaL + sigmaR))

    @staticmethod
    def log_density(  # type: ignore[override]
        x: jax.Array, mean: jax.Array, sigmaL: jax.Array, sigmaR: jax.Array
    ) -> jax.Array:
        z = (x - mean) / jnp.where(x < mean, sigmaL, sigmaR)
        return -0.5 * z * z - BifurGaussDist._log_total(sigmaL, sigmaR)

    @staticmethod
    def log_integral(  # type: ignore[override]
        lo: jax.Array, hi: jax.Array, mean: jax.Array, sigmaL: jax.Array, sigmaR: jax.Array
    ) -> jax.Array:
        lo = jnp.asarray(lo, dtype=jnp.float64)
        hi = jnp.asarray(hi, dtype=jnp.float64)
        z_lo_l = (lo - mean) / sigmaL
        z_hi_l = (jnp.minimum(hi, mean) - mean) / sigmaL
        z_lo_r = (jnp.maximum(lo, mean) - mean) / sigmaR
        z_hi_r = (hi - mean) / sigmaR
        left = _log_gauss_piece(sigmaL, z_lo_l, z_hi_l, lo < mean)
        right = _log_gauss_piece(sigmaR, z_lo_r, z_hi_r, hi > mean)
        return _logsum(left, right) - BifurGaussDist._log_total(sigmaL, sigmaR)


#: terms of the power series of ∫_0^U u^p e^{cu} du used for c > −1 (accurate for c·U ≤ 60)
_ARGUS_SERIES_TERMS = 160


def _argus_series(u: jax.Array, p: jax.Array, c: jax.Array) -> jax.Array:
    r""":math:`\int_0^U u^p e^{cu}\,du = U^{p+1}\sum_k \frac{(cU)^k}{k!\,(p+1+k)}` (U ≥ 0)."""
    k = jnp.arange(_ARGUS_SERIES_TERMS, dtype=jnp.float64)
    cu = (c * u)[..., None]
    mag = jnp.abs(cu)
    nonzero = mag > 0
    safe = jnp.where(nonzero, mag, 1.0)
    log_terms = k * jnp.log(safe) - gammaln(k + 1.0) - jnp.log(p[..., None] + 1.0 + k)
    sign = jnp.where((cu < 0) & (k % 2 == 1), -1.0, 1.0)
    terms = sign * jnp.exp(log_terms)
    terms = jnp.where(nonzero | (k == 0), terms, 0.0)
    total = jnp.sum(terms, axis=-1)
    pos = u > 0
    safe_u = jnp.where(pos, u, 1.0)
    return jnp.where(pos, safe_u ** (p + 1.0) * total, 0.0)


@register("ARGUS_dist", "argus_dist")
class ArgusDist(Distribution):
    r"""ARGUS shape :math:`f(m) = m\,u^p e^{c u}` with :math:`u = 1 - (m/m_0)^2`, for
    :math:`0 < m < m_0` (0 above :math:`m_0`).

    HS3 ``argus_dist`` (ROOT 6.40 writes ``ARGUS_dist``; both read) with keys ``mass`` (the
    observable), ``resonance`` (:math:`m_0`), ``slope`` (:math:`c`), ``power`` (:math:`p`);
    ROOT ``RooArgusBG``. With :math:`m\,dm = -\tfrac{m_0^2}{2}du` the integral over
    ``[lo, hi]`` (clipped to :math:`[0, m_0]`) is :math:`\tfrac{m_0^2}{2}[G(u_{lo}) - G(u_{hi})]`,
    :math:`G(U) = \int_0^U u^p e^{cu}du`, in closed form for every p > −1 (ROOT has it only for
    p = 0.5): for :math:`c \le -1`,
    :math:`G(U) = \Gamma(p+1)\,|c|^{-(p+1)}\,P(p+1, |c|U)` (regularised incomplete gamma, from
    the ``Q`` side in the tail); for :math:`c > -1` the convergent power series
    :math:`U^{p+1}\sum_k (cU)^k/(k!(p+1+k))` (160 terms: accurate for :math:`cU \le 60`).
    """

    mass: Observable
    resonance: Ref
    slope: Ref
    power: Ref

    @staticmethod
    def log_density(  # type: ignore[override]
        mass: jax.Array, resonance: jax.Array, slope: jax.Array, power: jax.Array
    ) -> jax.Array:
        r = mass / resonance
        u = 1.0 - r * r
        inside = (u > 0) & (mass > 0)
        safe_u = jnp.where(inside, u, 0.5)
        safe_m = jnp.where(inside, mass, 1.0)
        value = jnp.log(safe_m) + power * jnp.log(safe_u) + slope * safe_u
        return jnp.where(inside, value, -jnp.inf)

    @staticmethod
    def log_integral(  # type: ignore[override]
        lo: jax.Array, hi: jax.Array, resonance: jax.Array, slope: jax.Array, power: jax.Array
    ) -> jax.Array:
        m0 = resonance
        c = slope
        p = power
        lo_c = jnp.clip(jnp.asarray(lo, dtype=jnp.float64), 0.0, m0)
        hi_c = jnp.clip(jnp.asarray(hi, dtype=jnp.float64), 0.0, m0)
        u_big = 1.0 - (lo_c / m0) ** 2
        u_small = 1.0 - (hi_c / m0) ** 2
        # c <= -1: incomplete gamma form
        gamma_side = c <= -1.0
        abs_c = jnp.where(gamma_side, -c, 1.0)
        a = p + 1.0
        x_big = abs_c * u_big
        x_small = abs_c * u_small
        p_big = gammainc(a, x_big)
        p_small = gammainc(a, x_small)
        use_q = p_small > 0.5
        diff = jnp.where(use_q, gammaincc(a, x_small) - gammaincc(a, x_big), p_big - p_small)
        safe_diff = jnp.where(gamma_side & (diff > 0), diff, 1.0)
        log_gamma = gammaln(a) - a * jnp.log(abs_c) + jnp.log(safe_diff)
        # c > -1: power series
        c_series = jnp.where(gamma_side, 0.0, c)
        series = _argus_series(u_big, p, c_series) - _argus_series(u_small, p, c_series)
        safe_series = jnp.where(~gamma_side & (series > 0), series, 1.0)
        log_series = jnp.log(safe_series)
        core = jnp.where(gamma_side, log_gamma, log_series)
        ok = jnp.where(gamma_side, diff > 0, series > 0)
        return jnp.where(ok, 2.0 * jnp.log(m0) - math.log(2.0) + core, -jnp.inf)

"""Asymptotic (Wald) distributions of the test statistics: CL_s without toys.

Following arXiv:1007.1727 and pyhf's ``AsymptoticCalculator``: with q the observed test statistic
and q_A the same statistic on the Asimov data set (μ' = 0 for q̃_μ and q_μ; μ' = 1 for q_0), work
in the −μ̂/σ space where the statistic is normal with unit variance,

    t = √q − √q_A                         (q_μ, q_0; and q̃_μ when √q ≤ √q_A)
    t = (q − q_A) / (2 √q_A)              (q̃_μ when √q > √q_A, eq. 66)

    CL_{s+b} = Φ(−(t + √q_A)),   CL_b = Φ(−t),   CL_s = CL_{s+b} / CL_b.

The expected band replaces t by the b-only median shifted by n σ, n ∈ (2, 1, 0, −1, −2).

The Asimov data set is pyhf's ``generate_asimov_data``: expected main counts and global
observables at θ̂̂(μ') fitted to the *observed* data.

Fits start where their minimum is expected: the unconditional fit to the data from the model's
init (or ``init``); every conditional fit from the profile θ̂̂(μ) of the same data set known so
far (the unconditional fit at μ̂ and the conditional fits already made, extrapolated linearly
from the two nearest); the unconditional fit to the Asimov data from the point that generated
it, which is that data set's own maximum-likelihood point (for binned models exactly). The
conditional fit at μ' to the data, which generated the Asimov data, is not made twice. Each is
converged to the same Newton-decrement tolerance as from the init, in fewer Newton steps (each
an exact Hessian: ~2n gradients for n parameters).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hs3jax.errors import ModelError
from hs3jax.infer.arrays import log_ndtr, namespace, ndtr
from hs3jax.infer.asimov import asimov_data
from hs3jax.infer.fit import ParInput
from hs3jax.infer.minimize import Method, Minimum
from hs3jax.infer.results import NSIGMA, HypoTestResult
from hs3jax.infer.teststat import free_fit, poi_fit, statistic_from, zero_by_definition
from hs3jax.model import Model

__all__ = [
    "AsymptoticCalculator",
    "asymptotic_calculator",
    "asymptotic_teststat",
    "cls_expected",
    "cls_observed",
    "normalize_test_stat",
]

Pytree = Any
_ALIASES = {"qtilde": "qtilde", "qmu_tilde": "qtilde", "q": "q", "qmu": "q", "q0": "q0"}


def normalize_test_stat(name: str) -> str:
    """``"qtilde"``, ``"q"`` or ``"q0"`` (also accepting ``qmu_tilde`` and ``qmu``)."""
    if name not in _ALIASES:
        raise ModelError(f"unknown test statistic {name!r}; use one of {sorted(_ALIASES)}")
    return _ALIASES[name]


def asymptotic_teststat(q: Any, q_asimov: Any, test_stat: str) -> Any:
    """The statistic in −μ̂/σ space, t (see module doc); pure, on floats (numpy) or JAX
    arrays (differentiable)."""
    xp = namespace(q, q_asimov)
    sq = xp.sqrt(xp.maximum(q, 0.0))
    sqa = xp.sqrt(xp.maximum(q_asimov, 0.0))
    plain = sq - sqa
    if test_stat != "qtilde":
        return plain
    safe = xp.where(sqa > 0, sqa, 1.0)
    return xp.where(sq <= sqa, plain, (q - q_asimov) / (2.0 * safe))


#: CL_b below which CL_s is taken from the logarithms of the two tails: past t ≈ 37 both
#: underflow, and their ratio would be 0/0.
_CLB_FLOOR = 1e-280


def cls_observed(t: Any, q_asimov: Any) -> tuple[Any, Any, Any]:
    """(CL_{s+b}, CL_b, CL_s) for the statistic t in −μ̂/σ space; CL_s is
    exp(ln Φ(−t − √q_A) − ln Φ(−t)) where CL_b is below :data:`_CLB_FLOOR` (a hypothesis
    excluded by dozens of σ, as an upper limit's search may test), else the plain ratio."""
    xp = namespace(t, q_asimov)
    t = xp.asarray(t)
    sqa = xp.sqrt(xp.maximum(q_asimov, 0.0))
    clsb = ndtr(-(t + sqa))
    clb = ndtr(-t)
    tail = clb < _CLB_FLOOR
    from_logs = xp.exp(log_ndtr(-(t + sqa)) - log_ndtr(-t))
    return clsb, clb, xp.where(tail, from_logs, clsb / xp.where(tail, 1.0, clb))


def cls_expected(q_asimov: Any) -> tuple[Any, Any, Any]:
    """(CL_{s+b}, CL_b, CL_s) of the expected band, arrays over n σ ∈ (2, 1, 0, −1, −2)."""
    xp = namespace(q_asimov)
    n = xp.asarray(NSIGMA, dtype=xp.result_type(q_asimov, float))
    return cls_observed(n, q_asimov)


@dataclass(frozen=True, eq=False)
class AsymptoticCalculator:
    """Asymptotic hypothesis tests of one model on one data set; the μ-independent fits (the
    unconditional fits to the data and to the Asimov data, and the Asimov data itself) are made
    once, so scanning μ costs at most two conditional fits per point, and one for the expected
    band alone (:meth:`expected`); none where the one-sided statistic is 0 by definition
    (μ̂ ≥ μ for q_μ and q̃_μ, μ̂ ≤ 0 for q_0). Each conditional fit starts on the profile
    θ̂̂(μ) known so far: the conditional fits already made on the same data set and the free
    fit at μ̂, extrapolated linearly from the two nearest (converged to the same tolerance as
    from the model's init, in a few Newton steps).

    Build it with :func:`asymptotic_calculator`.
    """

    model: Model
    data: Pytree
    inputs: Pytree
    test_stat: str
    init: ParInput
    method: Method
    free_data: Minimum
    asimov: Pytree
    asimov_fit: Minimum
    free_asimov: Minimum
    # per data set ("data", "asimov"): {μ: (statistic, conditional fit)}
    _tests: dict[str, dict[float, tuple[float, Minimum | None]]] = field(
        default_factory=lambda: {"data": {}, "asimov": {}}, repr=False
    )

    def __post_init__(self) -> None:
        if self.test_stat != "q0":
            # the fit that generated the Asimov data is the conditional fit at μ' to the data
            mu = self._poi_hat(self.asimov_fit)
            self._tests["data"][mu] = (
                self._statistic(mu, self.asimov_fit, self.free_data),
                self.asimov_fit,
            )

    def _poi_hat(self, fit: Minimum) -> float:
        index = self.model.poi_index
        assert index is not None  # asymptotic_calculator checked
        return float(fit.x[index])

    def _statistic(self, mu: float, fixed: Minimum, free: Minimum) -> float:
        """q at ``mu`` from the conditional fit ``fixed`` and the free fit ``free``."""
        return float(statistic_from(fixed.nll, free.nll, self._poi_hat(free), mu, self.test_stat))

    def _q(self, mu: float, which: str) -> float:
        done = self._tests[which]
        if mu in done:
            return done[mu][0]
        data, free = self._data_set(which)
        if zero_by_definition(self._poi_hat(free), mu, self.test_stat):
            # no fit: an upper limit tests many μ below μ̂, and μ = 0 on an Asimov data set
            # whose μ̂ sits at that bound, where a signal's shape parameters are flat
            # directions and fits are slow
            done[mu] = (0.0, None)
            return 0.0
        fixed = poi_fit(self.model, mu, data, self.inputs, self._start(mu, which), self.method)
        q = self._statistic(mu, fixed, free)
        done[mu] = (q, fixed)
        return q

    def _data_set(self, which: str) -> tuple[Pytree, Minimum]:
        """The data set ``which`` (``"data"`` or ``"asimov"``) and its free fit."""
        if which == "data":
            return self.data, self.free_data
        return self.asimov, self.free_asimov

    def _start(self, mu: float, which: str) -> np.ndarray:
        """Where the conditional fit at ``mu`` starts: on the profile θ̂̂(μ) of the data set
        ``which``, known at its free fit (μ̂) and the conditional fits already made, linearly
        extrapolated from the two nearest points (off by O(Δμ²) instead of O(Δμ): a Newton step
        or two fewer; minimize clips the start into the bounds) where ``mu`` is within their
        distance of the nearest, else the nearest point itself."""
        free = self._data_set(which)[1]
        profile = {self._poi_hat(free): free.x}
        profile.update((m, fit.x) for m, (_, fit) in self._tests[which].items() if fit is not None)
        near = sorted(profile, key=lambda m: abs(m - mu))
        m1 = near[0]
        # no further than the two points are apart: the profile bends, and the fits' own
        # tolerance in x1 - x2 would be magnified by the ratio
        if len(near) == 1 or abs(mu - m1) > abs(m1 - near[1]):
            return profile[m1]
        m2 = near[1]
        x1, x2 = profile[m1], profile[m2]
        start: np.ndarray = x1 + (mu - m1) / (m1 - m2) * (x1 - x2)
        return start

    def teststats(self, mu: float) -> tuple[float, float]:
        """(q, q_A): the statistic at ``mu`` on the data and on the Asimov data."""
        return self._q(float(mu), "data"), self._q(float(mu), "asimov")

    def teststat_asimov(self, mu: float) -> float:
        """q_A at ``mu`` (the conditional fit to the Asimov data alone)."""
        return self._q(float(mu), "asimov")

    def expected(self, mu: float) -> tuple[float, ...]:
        """The expected band of CL_s (CL_{s+b} for q_0) at ``mu``, n σ ∈ (2, 1, 0, −1, −2):
        the Asimov fit alone."""
        clsb_e, _, cls_e = cls_expected(self.teststat_asimov(mu))
        band = clsb_e if self.test_stat == "q0" else cls_e
        return tuple(float(v) for v in np.asarray(band))

    def hypotest(self, mu: float) -> HypoTestResult:
        """CL_s (observed and expected band) at POI = ``mu``."""
        q, qa = self.teststats(mu)
        t = asymptotic_teststat(q, qa, self.test_stat)
        (clsb, clb, cls), (clsb_e, clb_e, cls_e) = cls_observed(t, qa), cls_expected(qa)
        is_q0 = self.test_stat == "q0"
        return HypoTestResult(
            poi_value=float(mu),
            test_stat=self.test_stat,
            calctype="asymptotics",
            CLs_obs=float(clsb if is_q0 else cls),
            CLs_exp=tuple(float(v) for v in np.asarray(clsb_e if is_q0 else cls_e)),
            CLsb=float(clsb),
            CLb=float(clb),
            CLsb_exp=tuple(float(v) for v in np.asarray(clsb_e)),
            CLb_exp=tuple(float(v) for v in np.asarray(clb_e)),
            teststat=q,
            teststat_asimov=qa,
            poi_hat=self._poi_hat(self.free_data),
        )


def asymptotic_calculator(
    model: Model,
    data: Pytree = None,
    *,
    test_stat: str = "qtilde",
    inputs: Pytree = None,
    init: ParInput = None,
    method: Method = "lbfgsb",
) -> AsymptoticCalculator:
    """Make the μ-independent fits of an :class:`AsymptoticCalculator`."""
    if model.poi is None:
        raise ModelError(
            f"{model.name} has no parameter of interest (background-only? add a signal with "
            "a JSON patch)"
        )
    ts = normalize_test_stat(test_stat)
    data = model.data if data is None else data
    inputs = model.inputs if inputs is None else inputs
    free_data = free_fit(model, data, inputs, init, method)
    asimov_mu = 1.0 if ts == "q0" else 0.0
    asimov_fit = poi_fit(model, asimov_mu, data, inputs, free_data.x, method)
    asimov = asimov_data(model, asimov_fit.x, inputs)
    # the Asimov data's maximum-likelihood point is the one that generated them
    free_asimov = free_fit(model, asimov, inputs, asimov_fit.x, method)
    return AsymptoticCalculator(
        model, data, inputs, ts, init, method, free_data, asimov, asimov_fit, free_asimov
    )

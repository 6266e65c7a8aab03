"""Frozen result types of hypothesis tests, limits and significances (labels and ``to_dict``)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

__all__ = ["NSIGMA", "HypoTestResult", "LimitResult", "SignificanceResult"]

#: The expected band, in pyhf's order: the test statistic at the b-only median shifted by
#: +2, +1, 0, −1, −2 σ, i.e. CLs_exp from its −2σ (smallest) to its +2σ (largest) value.
NSIGMA: tuple[int, ...] = (2, 1, 0, -1, -2)


@dataclass(frozen=True)
class HypoTestResult:
    """A test of the signal hypothesis μ = ``poi_value``.

    Attributes:
        poi_value: the tested POI value.
        test_stat: ``"qtilde"``, ``"q"`` or ``"q0"``.
        calctype: ``"asymptotics"`` or ``"toybased"``.
        CLs_obs: CL_s = CL_{s+b} / CL_b for the observed data (for ``q0``: the p-value p_0).
        CLs_exp: expected CL_s at −2, −1, 0, +1, +2 σ (for ``q0``: expected p_0).
        CLsb: observed CL_{s+b} = p_μ.
        CLb: observed CL_b = 1 − p_b.
        CLsb_exp, CLb_exp: the expected band of each.
        teststat: the observed test statistic (q̃_μ, q_μ or q_0).
        teststat_asimov: the same on the Asimov data (asymptotics), else NaN.
        poi_hat: μ̂ of the unconditional fit to the data.
        n_toys, n_failed: toys thrown and toys whose fits failed (toybased only).
    """

    poi_value: float
    test_stat: str
    calctype: str
    CLs_obs: float
    CLs_exp: tuple[float, ...]
    CLsb: float
    CLb: float
    CLsb_exp: tuple[float, ...]
    CLb_exp: tuple[float, ...]
    teststat: float
    teststat_asimov: float
    poi_hat: float
    n_toys: int = 0
    n_failed: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        return {
            "poi_value": self.poi_value,
            "test_stat": self.test_stat,
            "calctype": self.calctype,
            "CLs_obs": self.CLs_obs,
            "CLs_exp": list(self.CLs_exp),
            "CLsb": self.CLsb,
            "CLb": self.CLb,
            "CLsb_exp": list(self.CLsb_exp),
            "CLb_exp": list(self.CLb_exp),
            "teststat": self.teststat,
            "teststat_asimov": self.teststat_asimov,
            "poi_hat": self.poi_hat,
            "n_toys": self.n_toys,
            "n_failed": self.n_failed,
        }


@dataclass(frozen=True)
class LimitResult:
    """An upper limit on the POI at confidence level 1 − ``level``.

    Attributes:
        obs: observed limit.
        exp: expected limits at −2, −1, 0, +1, +2 σ (the Brazil band).
        level: the CLs threshold (0.05 for 95% CL).
        poi: the POI name.
        scan: the POI values where CLs was evaluated, sorted.
        cls_obs: observed CLs at ``scan`` (NaN at points where root finding of an expected
            curve needed only the expected band, i.e. no fit to the data).
        cls_exp: expected CLs (5 per point) at ``scan``.
        method: ``"toms748"`` (root finding) or ``"scan"`` (interpolation on a grid).
        n_evaluations: points of ``scan`` (hypothesis tests or expected bands).
    """

    obs: float
    exp: tuple[float, ...]
    level: float
    poi: str
    scan: tuple[float, ...] = ()
    cls_obs: tuple[float, ...] = ()
    cls_exp: tuple[tuple[float, ...], ...] = field(default=())
    method: str = "toms748"
    n_evaluations: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        return {
            "poi": self.poi,
            "level": self.level,
            "obs": self.obs,
            "exp": list(self.exp),
            "method": self.method,
            "n_evaluations": self.n_evaluations,
            "scan": list(self.scan),
            "cls_obs": [None if math.isnan(v) else v for v in self.cls_obs],
            "cls_exp": [list(row) for row in self.cls_exp],
        }


@dataclass(frozen=True)
class SignificanceResult:
    """Discovery significance from q_0 (asymptotic).

    Attributes:
        p0: observed p-value of the background-only hypothesis.
        Z: observed significance Φ⁻¹(1 − p_0).
        p0_exp: expected p_0 at −2..+2 σ (pyhf's order), from Asimov data with μ = 1.
        Z_exp: the expected significances.
        q0: observed q_0.
        q0_asimov: q_0 on the μ = 1 Asimov data.
        poi_hat: μ̂.
    """

    p0: float
    Z: float
    p0_exp: tuple[float, ...]
    Z_exp: tuple[float, ...]
    q0: float
    q0_asimov: float
    poi_hat: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        return {
            "p0": self.p0,
            "Z": self.Z,
            "p0_exp": list(self.p0_exp),
            "Z_exp": list(self.Z_exp),
            "q0": self.q0,
            "q0_asimov": self.q0_asimov,
            "poi_hat": self.poi_hat,
        }

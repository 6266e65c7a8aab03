"""Toy-based CLs against pyhf's ToyCalculator on the simple model.

Both are Monte Carlo estimates. CL_{s+b} and CL_b are tail fractions of N toys each, so each has
the binomial error sqrt(p (1 − p) / N); CL_s = CL_{s+b}/CL_b from independent toy sets has
relative error sqrt((σ_sb/CL_sb)² + (σ_b/CL_b)²). hs3jax and pyhf draw independent toys, so
their difference has the two errors added in quadrature; the test asserts |Δ| < 4σ for each.
Reference: tests/reference/pyhf/toy_reference.json (make_toy_reference.py).
"""

from __future__ import annotations

import math

import pytest

import hs3jax
from conftest import DATA, REFERENCE, read_json
from hs3jax.infer import toy_hypotest

REF_PATH = REFERENCE / "pyhf" / "toy_reference.json"


def _binomial(p: float, n: int) -> float:
    return math.sqrt(max(p * (1.0 - p), 1.0 / n) / n)


def _errors(clsb: float, clb: float, n: int) -> tuple[float, float, float]:
    """σ of CL_{s+b}, CL_b and CL_s from n toys per hypothesis."""
    s_sb, s_b = _binomial(clsb, n), _binomial(clb, n)
    cls = clsb / clb
    return s_sb, s_b, cls * math.sqrt((s_sb / clsb) ** 2 + (s_b / clb) ** 2)


@pytest.mark.skipif(not REF_PATH.exists(), reason="no stored pyhf toy reference")
def test_toy_cls_agrees_with_pyhf_within_statistics() -> None:
    ref = read_json(REF_PATH)
    model = hs3jax.load(DATA / "pyhf" / "simple.json").model()
    ours = toy_hypotest(model, ref["poi_value"], test_stat="qtilde", n_toys=ref["ntoys"], seed=7)
    n_ours = ours.n_toys - ours.n_failed
    assert ours.n_failed <= 0.01 * ours.n_toys
    mine = _errors(ours.CLsb, ours.CLb, n_ours)
    theirs = _errors(ref["CLsb"], ref["CLb"], ref["ntoys"])
    pairs = [
        ("CLsb", ours.CLsb, ref["CLsb"]),
        ("CLb", ours.CLb, ref["CLb"]),
        ("CLs", ours.CLs_obs, ref["CLs_obs"]),
    ]
    for (name, a, b), s_a, s_b in zip(pairs, mine, theirs, strict=True):
        sigma = math.hypot(s_a, s_b)
        assert abs(a - b) < 4.0 * sigma, (name, a, b, sigma)

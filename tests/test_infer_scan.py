"""2-D profile likelihood scans (one vmapped batch, warm-started) against independent fits with
both scanned parameters fixed."""

from __future__ import annotations

import numpy as np
import pytest

import hs3jax
from conftest import DATA
from hs3jax.infer import fit, profile_scan


def test_two_dimensional_scan_equals_fixed_parameter_fits() -> None:
    model = hs3jax.load(DATA / "pyhf" / "multichannel_all_modifiers.json").model()
    mus = np.asarray([0.0, 0.8, 2.0])
    alphas = np.asarray([-1.0, 0.1, 1.5])
    scan = profile_scan(model, {"mu": mus, "alpha_shape": alphas})
    assert scan.converged.all()
    assert scan.shape == (3, 3) and scan.grid().shape == (3, 3)
    best = fit(model, hessian=False)
    assert scan.min_nll == pytest.approx(best.nll, abs=1e-9)
    for i, j in [(0, 0), (1, 2), (2, 1), (1, 1)]:
        k = i * len(alphas) + j
        assert tuple(scan.points[k]) == (mus[i], alphas[j])
        ref = fit(model, fixed={"mu": mus[i], "alpha_shape": alphas[j]}, hessian=False)
        assert scan.nll[k] == pytest.approx(ref.nll, abs=1e-7)
        assert scan.grid()[i, j] == pytest.approx(2.0 * (ref.nll - best.nll), abs=2e-7)
    assert np.all(scan.twice_delta_nll >= -1e-9)

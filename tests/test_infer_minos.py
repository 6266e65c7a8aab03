"""MINOS-style profile-likelihood intervals (hs3jax.infer.minos) against iminuit's MINOS.

iminuit 2 runs MINUIT2's MINOS on the same function (hs3jax's NLL and JAX gradient, the model's
bounds, errordef 0.5, strategy 2, tol 1e-8); its crossings are only as precise as MINUIT's
tolerances, so the two agree to ~1e-4 relative, not to rounding. The ends are also checked
directly: a fit with the parameter fixed there gives 2ΔNLL = 1.
"""

from __future__ import annotations

import jax
import numpy as np
import pytest
from iminuit import Minuit

import hs3jax
from conftest import DATA
from hs3jax.errors import ModelError
from hs3jax.infer import fit

CASES = [
    ("simple.json", ["mu", "uncorr_bkguncrt[1]"]),
    ("multichannel_all_modifiers.json", ["mu", "alpha_shape", "shapesys_cr[0]"]),
]


def _minuit_minos(model: hs3jax.Model, names: list[str]) -> dict[str, tuple[float, float, bool]]:
    free = ~np.asarray(model.fixed)
    value_and_grad = jax.jit(jax.value_and_grad(model.nll_fn))
    base = np.asarray(model.init, dtype=np.float64)

    def full(x: np.ndarray) -> np.ndarray:
        out = base.copy()
        out[free] = x
        return out

    m = Minuit(
        lambda x: float(value_and_grad(full(np.asarray(x)), model.data, model.inputs)[0]),
        base[free],
        grad=lambda x: np.asarray(value_and_grad(full(np.asarray(x)), model.data, model.inputs)[1])[
            free
        ],
    )
    m.errordef = Minuit.LIKELIHOOD
    m.strategy = 2
    m.tol = 1e-8
    m.limits = [tuple(b) for b in np.asarray(model.bounds)[free]]
    m.migrad()
    order = [n for n, f in zip(model.parameters, free, strict=True) if f]
    out = {}
    for name in names:
        key = f"x{order.index(name)}"
        m.minos(key)
        me = m.merrors[key]
        assert me.is_valid or me.at_lower_limit or me.at_upper_limit
        out[name] = (me.lower, me.upper, bool(me.at_lower_limit))
    return out


@pytest.mark.parametrize(("file", "names"), CASES, ids=[c[0] for c in CASES])
def test_minos_equals_iminuit(file: str, names: list[str]) -> None:
    model = hs3jax.load(DATA / "pyhf" / file).model()
    res = fit(model, minos=names)
    assert set(res.minos) == set(names)
    reference = _minuit_minos(model, names)
    for name in names:
        ours, (lower, upper, at_lower) = res.minos[name], reference[name]
        assert ours.at_lower_limit == at_lower, name
        assert abs(ours.upper - upper) <= 1e-4 * abs(upper), (name, ours.upper, upper)
        assert abs(ours.lower - lower) <= 1e-4 * abs(lower), (name, ours.lower, lower)
        assert ours.lower <= 0.0 <= ours.upper
        # the ends are where the profile rises by one unit of 2 NLL (or the bound)
        for end, at_limit in ((ours.lower, ours.at_lower_limit), (ours.upper, False)):
            value = res.bestfit[name] + end
            prof = fit(model, fixed={name: value}, hessian=False)
            twice_delta = prof.twice_nll - res.twice_nll
            if at_limit:
                assert twice_delta < 1.0 and value == float(model.bounds[model.index(name), 0])
            else:
                assert abs(twice_delta - 1.0) <= 1e-6, (name, end, twice_delta)
    as_dict = res.to_dict()["minos"]
    assert as_dict[names[0]]["upper"] == res.minos[names[0]].upper


def test_minos_true_covers_every_free_parameter() -> None:
    model = hs3jax.load(DATA / "pyhf" / "simple.json").model()
    res = fit(model, minos=True)
    assert set(res.minos) == set(model.parameters)
    # the POI's lower end is its bound 0 (mu_hat ~ 0.59 < 1 sigma): MINOS's at_lower_limit
    assert res.minos["mu"].at_lower_limit
    assert res.minos["mu"].lower == pytest.approx(-res.bestfit["mu"], abs=1e-15)


def test_minos_on_a_fixed_or_unknown_parameter_is_a_clear_error() -> None:
    model = hs3jax.load(DATA / "pyhf" / "simple.json").model()
    with pytest.raises(ModelError, match="fixed"):
        fit(model, fixed={"mu": 1.0}, minos=["mu"])
    with pytest.raises(ModelError, match="nope"):
        fit(model, minos=["nope"])


def test_minos_of_a_fixed_parameter_is_refused_clearly() -> None:
    model = hs3jax.load(DATA / "pyhf" / "simple.json").model()
    with pytest.raises(ModelError, match="mu is fixed in this fit"):
        hs3jax.fit(model, fixed={"mu": 1.0}, minos=["mu"])

"""Asymptotic CL_s on unbinned models: Asimov events of density terms, against ROOT 6.40.

References: ``tests/reference/root/unbinned_asymptotics_reference.json``, written by
``tests/reference/root/make_unbinned_asymptotics_reference.py`` (RooStats' AsymptoticCalculator,
one-sided q~mu, tight Minuit2 tolerance) on the models of ``tests/data/unbinned/``.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

import hs3jax
from conftest import ROOT, read_json
from hs3jax.errors import ModelError
from hs3jax.infer.asimov import asimov_data
from hs3jax.infer.toys import sample_toys

REFERENCE = read_json(ROOT / "tests" / "reference" / "root" / "unbinned_asymptotics_reference.json")
CASES = REFERENCE["cases"]


@pytest.fixture(scope="module")
def models() -> dict[str, hs3jax.Model]:
    return {c["file"]: hs3jax.load(ROOT / c["file"]).model() for c in CASES}


# RooStats' AsymptoticCalculator runs its fits at Minuit tolerance >= 1 whatever the default
# options say ("convergence for edm < 1" in its log): on this case its unconditional fit stops at
# EDM 5.9e-4 with -ln L = -2620.46636, while hs3jax's minimum is -2620.46695 (lower by the EDM),
# so ROOT's q_obs is too small by ~1.2e-3 and its CL_s too large by 1.9e-5
ROOT_UNCONVERGED = {("tests/data/unbinned/mixture_1ch_1000ev.json", 1.5)}


def _case_param(case: dict) -> object:
    marks = (
        [pytest.mark.xfail(strict=True, reason="ROOT's fit stops at EDM 5.9e-4 (see above)")]
        if (case["file"], case["poi_value"]) in ROOT_UNCONVERGED
        else []
    )
    name = f"{case['file'].split('/')[-1]}-mu{case['poi_value']}"
    return pytest.param(case, id=name, marks=marks)


def test_roots_unconverged_fit_is_above_the_minimum(models: dict[str, hs3jax.Model]) -> None:
    """The evidence for the xfail: hs3jax's minimum is below the NLL at ROOT's fitted point
    (ROOT's log: mu = 1.13925, nbkg_ch0 = 626.899, t_ch0 = 0.314552, -ln L = -2620.46636)."""
    model = models["tests/data/unbinned/mixture_1ch_1000ev.json"]
    ours = hs3jax.fit(model)
    roots = model.nll({"mu": 1.13925, "nbkg_ch0": 626.899, "t_ch0": 0.314552})
    assert float(roots) == pytest.approx(-2620.46636, abs=2e-5)
    assert ours.nll < float(roots) - 5e-4


@pytest.mark.parametrize("case", [_case_param(c) for c in CASES])
def test_asymptotic_cls_equals_root(case: dict, models: dict[str, hs3jax.Model]) -> None:
    result = hs3jax.hypotest(models[case["file"]], case["poi_value"])
    # issue 5's tolerance for CLs: 1e-5 absolute
    assert result.CLs_obs == pytest.approx(case["CLs_obs"], abs=1e-5)
    assert np.asarray(result.CLs_exp) == pytest.approx(case["CLs_exp_nsigma_-2..2"], abs=1e-5)


def test_asimov_events_are_roots_fillbins(models: dict[str, hs3jax.Model]) -> None:
    """At θ: weight N_exp p(c) Δx at the centres c of 100 bins of x on [0, 10], padded to the
    number of observed events (735) with weightless copies of the heaviest centre (so that the Asimov
    fits reuse the observed data's compiled programs)."""
    model = models["tests/data/unbinned/mixture_1ch_1000ev.json"]
    pars = np.asarray(model.init).copy()
    pars[model.index("mu")] = 0.7
    events = asimov_data(model, pars)["events"]
    (padded,) = events
    n_observed = np.shape(model.data["events"][0]["weights"])
    assert n_observed == (735,)
    assert np.shape(padded["x"]) == np.shape(padded["weights"]) == n_observed
    heaviest = np.asarray(padded["x"])[np.argmax(np.asarray(padded["weights"]))]
    np.testing.assert_array_equal(np.asarray(padded["weights"])[100:], 0.0)
    np.testing.assert_array_equal(np.asarray(padded["x"])[100:], heaviest)
    channel = {key: np.asarray(column)[:100] for key, column in padded.items()}
    centres = (np.arange(100) + 0.5) * 0.1
    np.testing.assert_allclose(channel["x"], centres, rtol=0, atol=1e-12)
    density = np.asarray(model.pdf("model_ch0", {"x": centres}, pars))
    n_exp = (
        0.7
        * float(
            read_json(ROOT / "tests/data/unbinned/mixture_1ch_1000ev.json")["functions"][0][
                "expression"
            ].split("*")[1]
        )
        + pars[model.index("nbkg_ch0")]
    )
    np.testing.assert_allclose(channel["weights"], n_exp * density * 0.1, rtol=1e-12)
    # the midpoint rule keeps the expected total to O(Δx²)
    assert float(jnp.sum(channel["weights"])) == pytest.approx(n_exp, rel=1e-3)


def test_toys_of_density_terms_are_refused_clearly(models: dict[str, hs3jax.Model]) -> None:
    model = models["tests/data/unbinned/mixture_1ch_1000ev.json"]
    with pytest.raises(ModelError, match="sampling events of other densities"):
        sample_toys(model, model.init, 10, seed=1)


def test_asimov_data_of_point_data_is_refused_clearly() -> None:
    """An inline number has no binning to put expected events on: a ModelError naming it."""
    doc = {
        "metadata": {"hs3_version": "0.2"},
        "distributions": [
            {"name": "meas", "type": "gaussian_dist", "x": "x", "mean": "mu", "sigma": 1.0}
        ],
        "likelihoods": [{"name": "L", "distributions": ["meas"], "data": [1.5]}],
        "parameter_points": [
            {"name": "default_values", "parameters": [{"name": "mu", "value": 0.0}]}
        ],
        "domains": [
            {
                "name": "default_domain",
                "type": "product_domain",
                "axes": [{"name": "mu", "min": -5.0, "max": 5.0}],
            }
        ],
        "analyses": [{"name": "A", "likelihood": "L", "parameters_of_interest": ["mu"]}],
    }
    model = hs3jax.load(doc).model()
    with pytest.raises(ModelError, match=r"no Asimov data for 'meas'.*point data"):
        asimov_data(model, model.init)

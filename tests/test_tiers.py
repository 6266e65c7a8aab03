"""Quick and optimised executables (hs3jax.tiers): what differs between them and when fits
switch from one to the other."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import hs3jax
from conftest import DATA
from hs3jax.infer import fit
from hs3jax.infer.asimov import _derivs_jit, _other_data
from hs3jax.infer.hessian import hessian_batch, value_grad_hessian
from hs3jax.infer.minimize import objective
from hs3jax.model import Model
from hs3jax.tiers import (
    QUICK_CPU_OPTIONS,
    QUICK_MAX_ELEMENTS,
    QUICK_MAX_EVENTS,
    TieredExecutable,
    events_tier,
    loop_tier,
)

pytestmark = pytest.mark.skipif(
    jax.default_backend() != "cpu", reason="the quick options are XLA:CPU options"
)

MULTICHANNEL = DATA / "pyhf" / "multichannel_all_modifiers.json"
UNBINNED = DATA / "unbinned" / "mixture_2ch_2000ev.json"


def _both(fn: Any, *args: Any) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Outputs of ``fn`` compiled with XLA's defaults and with the quick options."""
    with jax.enable_x64(True):
        lowered = jax.jit(fn).lower(*args)
        optimised = lowered.compile()(*args)
        quick = lowered.compile(QUICK_CPU_OPTIONS)(*args)
    leaves = jax.tree_util.tree_leaves
    return [np.asarray(v) for v in leaves(optimised)], [np.asarray(v) for v in leaves(quick)]


@pytest.mark.parametrize("path", [MULTICHANNEL, UNBINNED], ids=["binned", "unbinned"])
def test_quick_programs_give_the_optimised_values_bit_for_bit(path: Any) -> None:
    """What the module doc promises: prepared templates, expected data, the derivatives behind
    Asimov global observables, −ln L and its gradient are the same to the last bit; Hessian
    entries differ by at most a few units of the last place."""
    model: Model = hs3jax.load(path).model()
    with jax.enable_x64(True):
        pars = jnp.asarray(model.init, dtype=jnp.float64) * 1.01
        prepared = model.prepared_inputs()
        aux = jnp.asarray(model.data["aux"], dtype=jnp.float64)
    checks: list[tuple[Any, tuple[Any, ...]]] = [
        (model.prepare_fn, (model.inputs,)),
        (model.expected_fn, (pars, model.inputs)),
        (jax.value_and_grad(model.prepared_nll_fn), (pars, model.data, prepared)),
    ]
    if aux.shape[0]:
        derivatives = _derivs_jit(model)._jit  # the function the aux-derivatives role jits
        checks.append((derivatives, (pars, aux, model.inputs, _other_data(model))))
    for fn, args in checks:
        optimised, quick = _both(fn, *args)
        for a, b in zip(optimised, quick, strict=True):
            np.testing.assert_array_equal(a, b)
    n = len(model.parameters)
    batch = hessian_batch(n, model.inputs, (prepared, model.data))
    optimised, quick = _both(
        value_grad_hessian(model.prepared_nll_fn, batch), pars, model.data, prepared
    )
    np.testing.assert_array_equal(optimised[0], quick[0])
    np.testing.assert_array_equal(optimised[1], quick[1])
    scale = np.abs(optimised[2]).max()
    assert np.abs(optimised[2] - quick[2]).max() <= 8 * np.finfo(np.float64).eps * scale


def test_tiered_executable_switches_once_its_budget_is_spent() -> None:
    def f(x: jax.Array) -> jax.Array:
        return jnp.sum(jnp.sin(x) ** 2)

    x = jnp.linspace(0.0, 1.0, 32)
    lowered = jax.jit(f).lower(x)
    stays = TieredExecutable(lowered, QUICK_CPU_OPTIONS, budget_s=1e9)
    for _ in range(5):
        value = stays(x)
    assert stays.optimised is None
    switches = TieredExecutable(lowered, QUICK_CPU_OPTIONS, budget_s=1e-3)
    first = switches(x)
    assert switches.optimised is None  # lost less than 1 ms so far
    switches._budget = 0.0
    second = switches(x)
    optimised = switches.optimised
    assert optimised is not None
    switches(x)
    assert switches.optimised is optimised  # compiled once
    assert float(first) == float(second) == float(value) == float(f(x))


def test_loop_programs_are_quick_for_small_binned_models_only() -> None:
    small = {"main": np.zeros(100), "aux": np.zeros(3)}
    large = {"events": np.zeros((QUICK_MAX_ELEMENTS + 1,))}
    assert loop_tier(small) == "tiered"
    assert loop_tier((small, large)) == "full"
    # unbinned events: a tier per data set, quick up to QUICK_MAX_EVENTS events in all, never
    # switching in the middle of a fit
    assert loop_tier(small, events=True) is events_tier
    pars = np.zeros(3)
    few = {"events": [{"x": np.zeros(n), "weights": np.ones(n)} for n in (100, 200)]}
    many = {"events": [{"x": np.zeros(n), "weights": np.ones(n)} for n in (100, QUICK_MAX_EVENTS)]}
    assert events_tier((pars, few, {})) == "quick"
    assert events_tier((pars, many, {})) == "full"
    unbinned = hs3jax.load(UNBINNED).model()
    assert objective(unbinned).value_and_grad._tier is events_tier  # type: ignore[attr-defined]
    # a fit on a small model: its loop programs hold quick executables, with the same result
    # as a fit with the optimised ones
    model = hs3jax.load(MULTICHANNEL).model()
    quick_fit = fit(model)
    fused = objective(model).value_grad_hessian
    assert fused is not None
    tiered = [e for e in fused._executables.values() if isinstance(e, TieredExecutable)]  # type: ignore[attr-defined]
    assert tiered and all(e.optimised is None for e in tiered)
    for executable in tiered:
        executable._budget = 0.0  # switch at the next call
    optimised_fit = fit(model)
    assert all(e.optimised is not None for e in tiered)
    assert optimised_fit.nll == pytest.approx(quick_fit.nll, rel=1e-14, abs=0.0)
    np.testing.assert_allclose(optimised_fit.x, quick_fit.x, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(
        optimised_fit.covariance, quick_fit.covariance, rtol=1e-9, atol=1e-15
    )


def test_asimov_fits_of_a_small_unbinned_model_reuse_the_observed_data_programs() -> None:
    """2,000 events in two channels: the Asimov grids (100 points per channel) are padded to
    the observed lengths with zero-weight points, so the hypothesis test's Asimov fits run the
    loop programs compiled for the observed data (one executable each, not two), quick."""
    model = hs3jax.load(UNBINNED).model()
    result = hs3jax.hypotest(model, 1.0)
    assert 0.0 < result.CLs_obs < 1.0
    derivatives = objective(model)
    programs = [derivatives.value_and_grad, derivatives.hessian]
    for program in programs:
        executables = program._executables  # type: ignore[attr-defined]
        assert len(executables) == 1, executables.keys()
        (executable,) = executables.values()
        assert not isinstance(executable, TieredExecutable)
    observed = [int(np.shape(e["weights"])[0]) for e in model.data["events"]]
    assert sum(observed) <= QUICK_MAX_EVENTS
    asimov = model.asimov_events(model.init, model.data["aux"])
    for events, n in zip(asimov, observed, strict=True):
        weights = np.asarray(events["weights"])
        assert weights.shape == (n,)
        assert np.all(weights[100:] == 0.0) and np.all(weights[:100] > 0.0)
        heaviest = np.asarray(events["x"])[np.argmax(weights)]
        assert np.all(np.asarray(events["x"])[100:] == heaviest)

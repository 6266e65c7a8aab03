"""Expected global observables and Asimov data sets.

The Asimov data set at θ (arXiv:1007.1727, §3.2) replaces every observation by its expectation:
the main counts by ν(θ) (``Model.expected_fn``) and each global observable by the value its
constraint expects, as pyhf's ``pdf.expected_data`` does:

- Gaussian constraint G(a | θ, σ): â = θ;
- Poisson constraint Pois(a | τγ): â = τγ.

Both are read off the constraint part of −ln L (``Model.constraint_nll_fn``, the terms that
hold global observables; the whole −ln L for a model without it). Constraint terms are separable
in the global observables, so with g = ∂(−ln L)/∂a and h = ∂²(−ln L)/∂a² (the diagonal, one
Hessian-vector product with a vector of ones):

- Gaussian: g = (a − θ)/σ², h = 1/σ² (independent of a), so θ = a − g/h;
- Poisson: g = ψ(a + 1) − ln(τγ), h = ψ′(a + 1), so τγ = exp(ψ(a + 1) − g).

Each global observable's kind is detected once (h unchanged when a moves: Gaussian;
h = ψ′(a + 1): Poisson); the maps are exact, pure JAX and differentiable in θ and the inputs.

Where every global observable belongs to one Gaussian or Poisson constraint on a parameter,
or to one of HistFactory's Poisson constraints (pyhf models, among others), the model carries
the same maps in closed form (:class:`hs3jax.model.ExpectedAux`: â = θ, â = τγ) and no
derivative program is compiled (on ATLAS-3LeRJR 0.33 s of a first hypothesis test).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from scipy.special import polygamma as scipy_polygamma

from hs3jax.cache import StoredProgram, stored_jit
from hs3jax.errors import ModelError
from hs3jax.infer.arrays import digamma, namespace
from hs3jax.model import Model, device_array

__all__ = ["asimov_data", "asimov_fn", "constraint_kinds", "expected_aux_fn"]

Pytree = Any
_KINDS: weakref.WeakKeyDictionary[Model, np.ndarray] = weakref.WeakKeyDictionary()
_GAUSS, _POISSON = 0, 1


def _aux_derivatives(
    model: Model, pars: jax.Array, aux: jax.Array, inputs: Pytree, rest: Pytree = None
) -> tuple[jax.Array, jax.Array]:
    """(g, h): first and (diagonal) second derivative of −ln L in the global observables.

    ``rest``: the data other than the global observables (default: the observed data); the
    derivatives do not depend on it, but −ln L needs it."""
    others = _other_data(model) if rest is None else rest
    constraint_nll = model.constraint_nll_fn

    def nll_aux(a: jax.Array) -> jax.Array:
        if constraint_nll is not None:
            # only the constraint terms hold global observables: differentiating them alone
            # keeps the main measurement out of this program
            return constraint_nll(pars, a, inputs)
        return model.nll_fn(pars, {**others, "aux": a}, inputs)

    grad = jax.grad(nll_aux)
    g, h = jax.jvp(grad, (aux,), (jnp.ones_like(aux),))
    return g, h


def constraint_kinds(model: Model) -> np.ndarray:
    """Per global observable: 0 for a Gaussian constraint, 1 for a Poisson constraint.

    Raises:
        ModelError: a global observable whose constraint is neither.
    """
    if model not in _KINDS:
        closed_form = model.expected_aux
        _KINDS[model] = (
            _kinds_from_derivatives(model)
            if closed_form is None
            else np.asarray(closed_form.kinds, dtype=np.int64)
        )
    return _KINDS[model]


def _kinds_from_derivatives(model: Model) -> np.ndarray:
    """:func:`constraint_kinds` read off the second derivatives in the global observables."""
    aux_np = np.asarray(model.data["aux"], dtype=np.float64)
    if aux_np.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    with jax.enable_x64(True):
        # one compiled program called directly with numpy arguments, so this runs on concrete
        # values even inside another trace (ensure_compile_time_eval would run it op by op,
        # compiling every primitive separately: seconds on a first call)
        pars = np.asarray(model.init, dtype=np.float64)
        rest = _other_data(model)
        derivs = _derivs_jit(model).compile(pars, aux_np, model.inputs, rest)
        _, h0 = derivs(pars, aux_np, model.inputs, rest)
        _, h1 = derivs(pars, aux_np + 1.0 + np.abs(aux_np), model.inputs, rest)
        h0n, h1n = np.asarray(h0), np.asarray(h1)
    trigamma = scipy_polygamma(1, aux_np + 1.0)
    gauss = np.isclose(h0n, h1n, rtol=1e-9, atol=0.0) & (h0n > 0)
    poisson = ~gauss & np.isclose(h0n, trigamma, rtol=1e-6, atol=0.0)
    bad = ~(gauss | poisson)
    if bad.any():
        names = [model.global_observables[i] for i in np.flatnonzero(bad)]
        raise ModelError(
            f"{model.name}: cannot build Asimov data: the constraints of global observables "
            f"{names[:5]} are neither Gaussian nor Poisson"
        )
    return np.where(poisson, _POISSON, _GAUSS).astype(np.int64)


def _other_data(model: Model) -> Pytree:
    """The observed data without the global observables."""
    return {k: v for k, v in model.data.items() if k != "aux"}


def _asimov_events(model: Model, pars: jax.Array, aux: jax.Array) -> Pytree:
    """Expected events of the density terms (``Model.asimov_events_fn``), or {}."""
    if model.asimov_events_fn is None:
        return {}
    return {"events": model.asimov_events_fn(pars, aux, model.data["events"])}


def _aux_from_derivatives(a: Any, g: Any, h: Any, kinds: Any) -> Any:
    """The expected global observables from the derivatives at ``a`` (module doc): θ = a − g/h
    for a Gaussian constraint, τγ = exp(ψ(a + 1) − g) for a Poisson one; numpy for host
    arrays, JAX (differentiable) for JAX arrays."""
    xp = namespace(a, g, h)
    poisson = xp.exp(digamma(a + 1.0) - g)
    return xp.where(kinds == _POISSON, poisson, a - g / h)


def expected_aux_fn(model: Model) -> Callable[[jax.Array, Pytree], jax.Array]:
    """A pure function ``(pars, inputs) -> expected global observables`` (see module doc)."""
    closed_form = model.expected_aux
    if closed_form is not None:

        def from_table(pars: jax.Array, inputs: Pytree) -> jax.Array:
            out: jax.Array = closed_form(jnp.asarray(pars), inputs)
            return out

        return from_table
    kinds = jnp.asarray(constraint_kinds(model))
    ref = model.data["aux"]

    def expected_aux(pars: jax.Array, inputs: Pytree) -> jax.Array:
        a = jnp.asarray(ref, dtype=pars.dtype)
        if a.shape[0] == 0:
            return a
        g, h = _aux_derivatives(model, pars, a, inputs)
        out: jax.Array = _aux_from_derivatives(a, g, h, kinds)
        return out

    return expected_aux


def asimov_fn(model: Model) -> Callable[[jax.Array, Pytree], Pytree]:
    """A pure function ``(pars, inputs) -> {"main": ν(θ), "aux": â(θ)}`` (not jitted)."""
    expected_aux = expected_aux_fn(model)

    def asimov(pars: jax.Array, inputs: Pytree) -> Pytree:
        aux = expected_aux(pars, inputs)
        return {
            "main": model.expected_fn(pars, inputs),
            "aux": aux,
            **_asimov_events(model, pars, aux),
        }

    return asimov


_DERIVS: weakref.WeakKeyDictionary[Model, Any] = weakref.WeakKeyDictionary()


def _derivs_jit(model: Model) -> StoredProgram:
    """Jitted ``(pars, aux, inputs) -> (g, h)``, compiled once per model."""
    wrapped = _DERIVS.get(model)
    if wrapped is None:
        wrapped = stored_jit(
            lambda pars, aux, inputs, rest: _aux_derivatives(model, pars, aux, inputs, rest),
            model.structure,
            "aux-derivatives",
            "quick",
        )
        _DERIVS[model] = wrapped
    return wrapped


def asimov_data(model: Model, pars: jax.Array | np.ndarray, inputs: Pytree = None) -> Pytree:
    """The Asimov data pytree at ``pars``: ``{"main": ν(θ), "aux": â(θ)}``, and ``"events"``
    (the expected events of the density terms, ``Model.asimov_events_fn``) where the model
    has density terms."""
    inputs = model.inputs if inputs is None else inputs
    with jax.enable_x64(True):
        p = model.vector(pars)
        main = model.expected_main(p, inputs)
        a = np.asarray(model.data["aux"], dtype=np.float64)
        if a.shape[0] == 0:
            aux = device_array(a)
        elif model.expected_aux is not None:
            # the host table on the host vector: no round trip through the device copy ``p``
            aux = device_array(model.expected_aux(np.asarray(pars, dtype=np.float64), inputs))
        else:
            g, h = (
                np.asarray(v)
                for v in _derivs_jit(model)(p, device_array(a), inputs, _other_data(model))
            )
            aux = device_array(_aux_from_derivatives(a, g, h, constraint_kinds(model)))
        # host path: the jitted events program, not the traced function op by op
        events = model.asimov_events(p, aux)
        return {"main": main, "aux": aux, **({"events": events} if events else {})}

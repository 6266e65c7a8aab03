"""The compiled model: an ordered parameter vector and jitted pure functions of it.

``Model`` holds no JSON and no pydantic objects: names, arrays and jitted functions. Its pure
functions take the data and the model inputs (sample templates) as arguments, so one compiled
program serves every dataset (observed, Asimov, toys), ``vmap``s over them, and differentiates
with respect to the templates.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from hs3jax.cache import stored_jit
from hs3jax.errors import ModelError
from hs3jax.tiers import Tier

__all__ = ["EventTerms", "ExpectedAux", "Model", "device_array", "unknown_name"]

Pytree = Any
Pars = jax.Array | np.ndarray | Sequence[float] | Mapping[str, float]


def device_array(value: Any, dtype: Any = None) -> jax.Array:
    """``value`` (host numbers) as a JAX array on the default device, without compiling:
    ``jnp.asarray`` of a numpy array runs a one-operation program, compiled once per shape and
    dtype (~15 ms each; a model's first build made eleven of them, 0.18 of its 0.25 s)."""
    array: jax.Array = jax.device_put(np.asarray(value, dtype=dtype))
    return array


def _identity(inputs: Pytree) -> Pytree:
    return inputs


def _unprepared(pars: jax.Array, data: Pytree, prepared: Pytree) -> jax.Array:
    raise AssertionError("replaced by Model.nll_fn in Model.__post_init__")  # pragma: no cover


@dataclass(frozen=True, eq=False)
class EventTerms:
    """−ln L split where unbinned channels of one structure are evaluated together:

        −ln L(θ) = rest(θ) + events(v(θ)),   v(θ) = the values those channels read

    (parameters and functions of parameters, a few per channel). The event part's Hessian in
    ``v`` is block-sparse: one small block per channel, from per-channel Hessians. Its
    Hessian in θ follows by the chain rule (:func:`hs3jax.infer.hessian.event_split_hessian`)
    at the cost of a few directions through the events instead of one per parameter.

    Attributes:
        rest_fn: ``(pars, data, prepared) -> rest``, every other term of −ln L, for the
            inputs through :attr:`Model.prepare_fn`.
        values_fn: ``(pars, aux) -> v``, the ``(m,)`` values the event terms read.
        nll_fn: ``(v, events) -> events part of −ln L``.
        hessian_fn: ``(v, events) -> (m, m)`` Hessian of ``nll_fn`` in ``v``.
    """

    rest_fn: Callable[[jax.Array, Pytree, Pytree], jax.Array]
    values_fn: Callable[[jax.Array, jax.Array], jax.Array]
    nll_fn: Callable[[jax.Array, Any], jax.Array]
    hessian_fn: Callable[[jax.Array, Any], jax.Array]


@dataclass(frozen=True, eq=False)
class ExpectedAux:
    """The global observables of an Asimov data set in closed form, for models where each
    global observable is the random variable of one Gaussian or Poisson constraint whose mean
    is a parameter, or of a HistFactory Poisson constraint of rate τγ (as pyhf's
    ``expected_auxdata``): â = θ, or â = τγ with τ from the model inputs. What
    :mod:`hs3jax.infer.asimov` otherwise reads off the derivatives of the constraint terms,
    without compiling a program for them.

    Attributes:
        kinds: per global observable, 0 for a Gaussian constraint, 1 for a Poisson one.
        direct_aux, direct_par: positions in ``data["aux"]`` and in the parameter vector of
            the observables whose expectation is a parameter (â = θ).
        scaled_aux, scaled_par: the same for HistFactory's Poisson constraints (â = τγ).
        tau_fn: ``inputs -> τ``, one per entry of ``scaled_aux`` (an input the template
            preparation passes through unchanged).
    """

    kinds: np.ndarray
    direct_aux: np.ndarray
    direct_par: np.ndarray
    scaled_aux: np.ndarray
    scaled_par: np.ndarray
    tau_fn: Callable[[Pytree], jax.Array] = field(repr=False)

    def __call__(self, pars: Any, inputs: Pytree) -> Any:
        """The expected global observables at ``pars`` for the model ``inputs`` (numpy for a
        numpy vector, JAX for a JAX array: differentiable in the parameters and, through τ,
        in the templates)."""
        n_aux = len(self.kinds)
        tau = self.tau_fn(inputs) if self.scaled_aux.size else np.zeros(0)
        if isinstance(pars, jax.Array) or isinstance(tau, jax.core.Tracer):
            values = jnp.asarray(pars, dtype=jnp.float64)
            out = jnp.zeros(n_aux, dtype=jnp.float64)
            out = out.at[self.direct_aux].set(values[self.direct_par])
            return out.at[self.scaled_aux].set(values[self.scaled_par] * tau)
        host = np.asarray(pars, dtype=np.float64)
        result = np.zeros(n_aux, dtype=np.float64)
        result[self.direct_aux] = host[self.direct_par]
        result[self.scaled_aux] = host[self.scaled_par] * np.asarray(tau, dtype=np.float64)
        return result


@dataclass(frozen=True, eq=False)
class Model:
    """A likelihood compiled to JAX.

    Attributes:
        name: the analysis (or likelihood) this model was built from.
        parameters: every parameter, in vector order.
        poi: the (first) parameter of interest, or None.
        init: initial values, float64, vector order.
        bounds: ``(n, 2)`` lower and upper bounds.
        fixed: bool mask of constant parameters.
        data: the observed data, the pytree :meth:`nll` takes: ``{"main": HistFactory counts,
            "aux": global observables}`` and, for other densities, ``"events"``: one
            ``{observable: points, "weights": w}`` per (distribution, dataset) pair.
        inputs: the model inputs (sample templates, constraint widths) as a pytree.
        channels: names of the binned channels, in the order of the concatenated bin axis.
        global_observables: names of the entries of ``data["aux"]``.
        asimov_events_fn: ``(pars, aux, events) -> events`` of the Asimov data set for the
            density terms (None without density terms); see :mod:`hs3jax.infer.asimov`.
        constraint_nll_fn: ``(pars, aux, inputs) -> −Σ ln(constraint terms)``, the part of
            −ln L that holds the global observables (the Asimov global observables are read
            off its derivatives); None where a model does not separate it.
        event_terms: the split of −ln L for models with unbinned channels of one structure
            (:class:`EventTerms`), which the fits' Hessian uses; None otherwise.
        expected_aux: the Asimov global observables in closed form (:class:`ExpectedAux`),
            where each global observable belongs to one Gaussian or Poisson constraint on a
            parameter or to one of HistFactory's Poisson constraints; None otherwise.
        prepare_fn: ``inputs -> prepared``, the functions of the templates alone that −ln L
            reads (interpolation coefficients, ...): pure and differentiable.
        prepared_nll_fn: ``(pars, data, prepared) -> −ln L`` with
            ``nll_fn(p, d, i) == prepared_nll_fn(p, d, prepare_fn(i))``: what fits and
            repeated evaluations at fixed templates use, so the templates' share of the work
            is done once instead of at every parameter point.
        structure: the key under which this model's programs are stored on disk while the
            compilation cache is enabled (:mod:`hs3jax.cache`); equal for models of one
            structure, None where programs are not stored.
    """

    name: str
    parameters: tuple[str, ...]
    poi: str | None
    init: jax.Array
    bounds: jax.Array
    fixed: jax.Array
    data: Pytree
    inputs: Pytree
    channels: tuple[str, ...]
    channel_slices: Mapping[str, tuple[int, int]]
    sample_slices: Mapping[tuple[str, str], tuple[int, int]]
    global_observables: tuple[str, ...]
    nll_fn: Callable[[jax.Array, Pytree, Pytree], jax.Array] = field(repr=False)
    expected_fn: Callable[[jax.Array, Pytree], jax.Array] = field(repr=False)
    pois: tuple[str, ...] = ()
    density_fn: Callable[[jax.Array, Pytree, str, dict[str, Any]], jax.Array] | None = field(
        default=None, repr=False
    )
    asimov_events_fn: Callable[[jax.Array, jax.Array, Any], list[dict[str, Any]]] | None = field(
        default=None, repr=False
    )
    constraint_nll_fn: Callable[[jax.Array, jax.Array, Pytree], jax.Array] | None = field(
        default=None, repr=False
    )
    event_terms: EventTerms | None = field(default=None, repr=False)
    expected_aux: ExpectedAux | None = field(default=None, repr=False)
    prepare_fn: Callable[[Pytree], Pytree] = field(default=_identity, repr=False)
    prepared_nll_fn: Callable[[jax.Array, Pytree, Pytree], jax.Array] = field(
        default=_unprepared, repr=False
    )
    structure: str | None = field(default=None, repr=False)
    _jit_nll: Callable[..., jax.Array] = field(init=False, repr=False)
    _jit_expected: Callable[..., jax.Array] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.prepared_nll_fn is _unprepared:
            if self.prepare_fn is not _identity:
                raise ModelError("a Model with a prepare_fn needs its prepared_nll_fn")
            object.__setattr__(self, "prepared_nll_fn", self.nll_fn)
        object.__setattr__(self, "_jit_nll", _jitted(self.nll_fn, self.structure, "nll"))
        object.__setattr__(
            self, "_jit_expected", _jitted(self.expected_fn, self.structure, "expected", "quick")
        )

    # -- parameter vectors -------------------------------------------------------------------
    @property
    def poi_index(self) -> int | None:
        return None if self.poi is None else self.parameters.index(self.poi)

    def index(self, name: str) -> int:
        """Position of parameter ``name`` in the vector."""
        try:
            return self.parameters.index(name)
        except ValueError:
            raise ModelError(unknown_name(name, self.parameters)) from None

    def vector(self, pars: Pars | None = None) -> jax.Array:
        """A float64 parameter vector from an array, a sequence or a ``{name: value}`` dict
        (missing names take their initial value)."""
        with jax.enable_x64(True):
            if pars is None:
                return jnp.asarray(self.init, dtype=jnp.float64)
            if isinstance(pars, Mapping):
                vec = np.asarray(self.init, dtype=np.float64).copy()
                for key, value in pars.items():
                    vec[self.index(key)] = float(value)
                return device_array(vec)
            if isinstance(pars, jax.Array):
                arr = pars.astype(jnp.float64)
            else:
                arr = device_array(pars, np.float64)
            if arr.shape[-1:] != (len(self.parameters),):
                raise ModelError(
                    f"parameter vector has shape {tuple(arr.shape)}, expected "
                    f"({len(self.parameters)},) in the order of model.parameters"
                )
            return arr

    # -- evaluation -----------------------------------------------------------------------------
    def nll(
        self, pars: Pars | None = None, data: Pytree = None, inputs: Pytree = None
    ) -> jax.Array:
        """−ln L (float64), normalisation constants included; jitted.

        ``pars``: vector in the order of :attr:`parameters`, or ``{name: value}``.
        ``data``: a data pytree like :attr:`data` (default: the observed data).
        ``inputs``: model inputs like :attr:`inputs` (default: the document's templates).
        """
        with jax.enable_x64(True):
            data = self.data if data is None else data
            if inputs is None:
                # the model's own templates: their share of the work done once
                nll = _jitted(self.prepared_nll_fn, self.structure, "prepared-nll")
                out: jax.Array = nll(self.vector(pars), data, self.prepared_inputs())
                return out
            return self._jit_nll(self.vector(pars), data, inputs)

    def prepared_inputs(self, inputs: Pytree = None) -> Pytree:
        """``prepare_fn(inputs)``, what :attr:`prepared_nll_fn` takes (jitted; for the model's
        own :attr:`inputs`, None or the same object, computed once and kept)."""
        with jax.enable_x64(True):
            prepare = _jitted(self.prepare_fn, self.structure, "prepare", "quick")
            if inputs is not None and inputs is not self.inputs:
                return prepare(inputs)
            cached = self.__dict__.get("_prepared")
            if cached is None:
                cached = prepare(self.inputs)
                object.__setattr__(self, "_prepared", cached)
            return cached

    def logpdf(
        self, pars: Pars | None = None, data: Pytree = None, inputs: Pytree = None
    ) -> jax.Array:
        """ln L = −:meth:`nll`."""
        return -self.nll(pars, data, inputs)

    def expected_data(
        self, pars: Pars | None = None, inputs: Pytree = None
    ) -> dict[str, jax.Array]:
        """Expected counts per binned channel: ``{channel: array}``."""
        with jax.enable_x64(True):
            flat = self._jit_expected(self.vector(pars), self.inputs if inputs is None else inputs)
        return {name: flat[a:b] for name, (a, b) in self.channel_slices.items()}

    def log_density(
        self, name: str, points: Mapping[str, Any], pars: Pars | None = None
    ) -> jax.Array:
        """ln of distribution ``name`` at ``points`` ({observable: values}), normalised over the
        observables' ranges (data axes, else domains), as ROOT's ``getVal(normSet)``."""
        if self.density_fn is None:
            raise ModelError("this model has no density evaluation")
        with jax.enable_x64(True):
            return self.density_fn(
                self.vector(pars),
                self.data["aux"],
                name,
                {k: np.asarray(v, dtype=np.float64) for k, v in points.items()},
            )

    def pdf(self, name: str, points: Mapping[str, Any], pars: Pars | None = None) -> jax.Array:
        """The normalised density of distribution ``name`` at ``points`` (see log_density)."""
        with jax.enable_x64(True):
            return jnp.exp(self.log_density(name, points, pars))

    def expected_main(self, pars: Pars | None = None, inputs: Pytree = None) -> jax.Array:
        """Expected counts on the concatenated bin axis (the layout of ``data["main"]``)."""
        with jax.enable_x64(True):
            return self._jit_expected(self.vector(pars), self.inputs if inputs is None else inputs)

    def asimov_events(self, pars: Pars | None, aux: jax.Array) -> list[dict[str, Any]]:
        """Asimov events of the density terms at ``pars`` with global observables ``aux``
        (``asimov_events_fn``, jitted once per model structure); [] without density terms.
        Unbinned channels of data sets of at most 16,384 events come padded to their observed
        lengths with zero-weight points (see ``hs3jax.compile.ASIMOV_PAD_MAX``)."""
        if self.asimov_events_fn is None:
            return []
        with jax.enable_x64(True):
            asimov = _jitted(self.asimov_events_fn, self.structure, "asimov-events", "quick")
            return asimov(  # type: ignore[no-any-return]
                self.vector(pars), jnp.asarray(aux), self.data["events"]
            )

    # -- building data and inputs -----------------------------------------------------------
    def make_data(
        self, counts: Mapping[str, Sequence[float]] | jax.Array | np.ndarray, aux: Any = None
    ) -> Pytree:
        """A data pytree from per-channel counts (dict) or a flat array, keeping or replacing
        the global observables."""
        with jax.enable_x64(True):
            if isinstance(counts, Mapping):
                flat = np.asarray(self.data["main"], dtype=np.float64).copy()
                for name, values in counts.items():
                    if name not in self.channel_slices:
                        raise ModelError(unknown_name(name, self.channels, "channel"))
                    a, b = self.channel_slices[name]
                    flat[a:b] = np.asarray(values, dtype=np.float64)
                main = jnp.asarray(flat)
            else:
                main = jnp.asarray(counts, dtype=jnp.float64)
            return {
                **self.data,
                "main": main,
                "aux": self.data["aux"] if aux is None else jnp.asarray(aux, dtype=jnp.float64),
            }

    def with_sample(self, channel: str, sample: str, yields: Any, inputs: Pytree = None) -> Pytree:
        """Model inputs with the nominal yields of one sample replaced (jit- and grad-friendly)."""
        key = (channel, sample)
        if key not in self.sample_slices:
            known = [f"{c}/{s}" for c, s in self.sample_slices]
            raise ModelError(unknown_name(f"{channel}/{sample}", known, "sample"))
        a, b = self.sample_slices[key]
        base = self.inputs if inputs is None else inputs
        hf = dict(base["histfactory"])
        hf["nominal"] = jnp.asarray(hf["nominal"]).at[a:b].set(yields)
        return {**base, "histfactory": hf}


# one jitted wrapper per pure function: models of one structure share their functions
# (hs3jax.compile), and with them the compiled programs
_JITTED: weakref.WeakKeyDictionary[Callable[..., Any], Callable[..., Any]] = (
    weakref.WeakKeyDictionary()
)


def _jitted(
    fn: Callable[..., Any], structure: str | None, role: str, tier: Tier = "full"
) -> Callable[..., Any]:
    wrapped = _JITTED.get(fn)
    if wrapped is None:
        wrapped = stored_jit(fn, structure, role, tier)
        _JITTED[fn] = wrapped
    return wrapped


def unknown_name(name: str, known: Sequence[str], what: str = "parameter") -> str:
    import difflib

    close = difflib.get_close_matches(name, list(known), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    shown = ", ".join(list(known)[:20]) + (" ..." if len(known) > 20 else "")
    return f"unknown {what} {name!r}{hint} (known: {shown})"

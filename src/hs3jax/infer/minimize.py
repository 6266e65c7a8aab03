"""Bounded minimisation of a model's NLL over its free parameters, with JAX derivatives.

One :class:`Objective` per model structure holds the jitted value-and-gradient and Hessian of
``θ ↦ −ln L(θ)`` (for models of up to :data:`FUSED_MAX_PARAMETERS` parameters also all three
from one program, which is all a Newton fit compiles); free parameters are selected on the
host, and data and model inputs are arguments, so observed data, Asimov data, toys and new
templates reuse the compiled programs.

The minimiser (:func:`minimize`) starts a fit of up to :data:`NEWTON_MAX_FREE` free parameters
(or more, where the Hessian is sparse and compressed to at most that many Hessian-vector
products, :mod:`hs3jax.infer.sparsity`) with projected Newton iterations from the initial point;
where they do not converge (and for other larger fits) it runs scipy's L-BFGS-B (or iminuit's
MIGRAD) with the JAX gradient to a moderate tolerance, then *polishes* the result with the same
projected Newton steps using the exact Hessian:

    p = −H_FF⁻¹ g_F,   F = free parameters not held at a bound by the gradient,

accepted while they lower −ln L or, at the rounding floor of −ln L, the projected gradient.
Convergence is judged by the Newton decrement ``½ gᵀ H⁻¹ g`` (the predicted distance to the
minimum in units of −ln L), which is invariant under rescaling of the parameters.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import jax
import numpy as np
from scipy.linalg import solve_triangular
from scipy.optimize import minimize as _scipy_minimize

from hs3jax.cache import argument_signature, stored_jit
from hs3jax.errors import HS3JaxError
from hs3jax.infer.hessian import (
    event_split_hessian,
    hessian_batch,
    hessian_products,
    value_grad_hessian,
)
from hs3jax.infer.sparsity import BlockLayout, BlockSolve, SparseHessian
from hs3jax.model import Model
from hs3jax.tiers import loop_tier

__all__ = [
    "FitFailed",
    "Method",
    "Minimum",
    "Objective",
    "minimize",
    "objective",
]

Method = Literal["lbfgsb", "minuit"]
Pytree = Any

#: Newton decrement (½ gᵀH⁻¹g, in units of −ln L) below which a minimum counts as converged.
DECREMENT_TOL = 1e-8
_POLISH_STEPS = 30
#: Newton iterations allowed when projected Newton starts from the initial point.
_NEWTON_STEPS = 60
#: Free parameters up to which a fit starts with projected Newton from the initial point: its
#: ~8 exact Hessians replace the hundreds of gradient calls L-BFGS-B needs. Warm fit, L-BFGS-B
#: path → Newton first (2-core CPU): multichannel_all_modifiers (28 free) 29 → 6 ms;
#: ATLAS-SUSY-2018-31 BkgOnlyA (66 free, Hessian 26x a gradient) ~150 → ~90 ms; synthetic
#: models of 122 / 467 / 927 free parameters 163 → 20 ms / 1.53 → 0.85 s / 1.73 → 3.37 s.
NEWTON_MAX_FREE = 300

#: Newton decrement below which a fit that needs no final Hessian (hypothesis tests, scans,
#: profiles) takes *chord* steps: the last exact Hessian with a fresh gradient. From there a
#: Newton step lands at ~decrement², and the Hessian moves by ~√(2·decrement) relative over
#: it, so each chord step still gains ≥ 6 orders of the decrement for one value-and-gradient
#: call instead of a Hessian (~2n gradients).
CHORD_DECREMENT = 1e-6
#: Factor by which each chord step must shrink the decrement; a step that shrinks it less
#: (above the tolerance) is replaced by an exact Newton step. Without it the Asimov free fit of
#: the 30-channel unbinned benchmark model crawled through 150 chord steps with parameters at
#: their bounds (decrement 1.4e-7 at the end, down ~1e-9 in −ln L per step) and failed.
CHORD_CONTRACTION = 0.1
#: Free parameters from which chord steps are taken (a smaller Hessian costs about as much as
#: the dispatch of a value-and-gradient call; ATLAS-SUSY-2018-16, 191 parameters: Hessian
#: 15 ms in cache-sized blocks, value and gradient 0.2 ms).
CHORD_MIN_FREE = 100
#: Free parameters from which the line search of a Newton step in a fit that takes chord steps
#: tries points with the value and gradient alone, and evaluates the Hessian only where it
#: accepts one (a rejected trial of the fused program threw its Hessian away: toy fits of
#: ATLAS-SUSY-2018-16 take 54–121 calls for ~20 steps near the bounds of its γ parameters;
#: 1.0–2.0 s → 0.5–1.1 s per fit). Fits with a covariance keep the fused trials: the value and
#: gradient would be one more program to compile on a first fit (+0.6 s there).
TRIAL_VALUE_GRAD_MIN_FREE = CHORD_MIN_FREE


class FitFailed(HS3JaxError):
    """A fit did not converge (or gave a non-finite NLL) after every retry; the message says why."""


#: Parameters up to which the Newton iterations evaluate −ln L, its gradient and its Hessian in
#: one compiled program (one trace and one compilation on a first fit instead of two; the
#: Hessian at an accepted step is the one the next step needs). Larger models compile the
#: gradient and a blocked Hessian separately (see :mod:`hs3jax.infer.hessian`).
FUSED_MAX_PARAMETERS = NEWTON_MAX_FREE


@dataclass(frozen=True, eq=False)
class Objective:
    """Jitted −ln L of ``model`` with its gradient and Hessian over the *full* parameter vector.

    Compiled once per model: the free parameters of a fit are selected on the host, so fits
    with different fixed parameters, data, Asimov data, toys or templates reuse one program.
    The derivatives take the templates through :attr:`prepare` (``Model.prepare_fn``), once
    per fit instead of at every step.

    Attributes:
        model: the model.
        prepare: ``inputs -> prepared`` (``Model.prepared_inputs``: jitted, the model's own
            templates prepared once).
        value_and_grad: ``(pars, data, prepared) -> (nll, ∇nll)``.
        hessian: ``(pars, data, prepared) -> ∇²nll``; for models of more than
            :data:`FUSED_MAX_PARAMETERS` binned parameters a :class:`SparseHessian` (a host
            matrix from compressed Hessian-vector products where the Hessian is sparse).
        value_grad_hessian: ``(pars, data, prepared) -> (nll, ∇nll, ∇²nll)`` as one program
            (models of at most :data:`FUSED_MAX_PARAMETERS` parameters), else None.
    """

    model: Model
    prepare: Callable[[Pytree], Pytree]
    value_and_grad: Callable[..., tuple[jax.Array, jax.Array]]
    hessian: Callable[..., jax.Array | np.ndarray]
    value_grad_hessian: Callable[..., tuple[jax.Array, jax.Array, jax.Array]] | None = None


_CACHE: weakref.WeakKeyDictionary[Model, Objective] = weakref.WeakKeyDictionary()
# jitted derivatives per pure NLL function: models of one structure share ``prepared_nll_fn``
# (hs3jax.compile), so refits of a patched or rebuilt model reuse the compiled programs
_DERIVATIVES: weakref.WeakKeyDictionary[Callable[..., Any], tuple[Any, Any, Any]] = (
    weakref.WeakKeyDictionary()
)


def objective(model: Model) -> Objective:
    """The (cached) :class:`Objective` of ``model``."""
    if model not in _CACHE:
        nll = model.prepared_nll_fn
        derivatives = _DERIVATIVES.get(nll)
        if derivatives is None:
            n = len(model.parameters)
            key = model.structure
            # quick executables first for small binned models (hs3jax.tiers.loop_tier)
            tier = loop_tier((model.inputs, model.data), events="events" in model.data)
            value_and_grad = stored_jit(jax.value_and_grad(nll), key, "value-and-grad", tier)
            if model.event_terms is not None:
                # unbinned channels: the Hessian through the per-channel values (a few
                # directions through the events), evaluated only where a step was accepted
                batch = hessian_batch(n, model.inputs)
                split = event_split_hessian(model.event_terms, batch)
                derivatives = (
                    value_and_grad,
                    stored_jit(split, key, f"event-split-hessian-{batch}", tier),
                    None,
                )
            elif n <= FUSED_MAX_PARAMETERS:
                # what −ln L reads per call: its widest array sets cache-sized Hessian blocks
                # (the model's own prepared templates, which its fits compute anyway; from the
                # program store, where eval_shape would trace)
                read = (model.prepared_inputs(), model.data)
                batch = hessian_batch(n, model.inputs, read)
                fused = stored_jit(
                    value_grad_hessian(nll, batch), key, f"value-grad-hessian-{batch}", tier
                )

                def hessian(pars: Any, data: Pytree, prepared: Pytree) -> jax.Array:
                    matrix: jax.Array = fused(pars, data, prepared)[2]
                    return matrix

                derivatives = (value_and_grad, hessian, fused)
            else:
                read = (model.prepared_inputs(), model.data)
                batch = hessian_batch(n, model.inputs, read)
                # large models are mostly per-bin γ: their Hessian is sparse and, once its
                # pattern is known, takes a few hundred products instead of n
                products = stored_jit(
                    hessian_products(nll, batch), key, f"hessian-products-{batch}", tier
                )
                derivatives = (value_and_grad, SparseHessian(products, n, batch), None)
            _DERIVATIVES[nll] = derivatives
        _CACHE[model] = Objective(model, model.prepared_inputs, *derivatives)
    return _CACHE[model]


@dataclass(frozen=True)
class Minimum:
    """The outcome of :func:`minimize`.

    Attributes:
        x: full parameter vector at the minimum (fixed entries as given).
        nll: −ln L at ``x``.
        success: the Newton decrement at ``x`` is below :data:`DECREMENT_TOL`.
        message: what the minimiser reported (and the retries taken).
        n_calls: evaluations of −ln L and its gradient (Hessians not counted).
        decrement: ½ gᵀH⁻¹g over the free parameters not held at a bound.
        method: the minimiser that produced ``x``.
        hessian: ∇²(−ln L) over the free parameters at ``x``, as the last Newton step used it
            (the fit's covariance inverts it instead of evaluating it again); None where no
            Newton step was taken.
    """

    x: np.ndarray
    nll: float
    success: bool
    message: str
    n_calls: int
    decrement: float
    method: str
    hessian: np.ndarray | None = field(default=None, repr=False, compare=False)


# (jitted program, argument signature) pairs already compiled or being compiled
_AHEAD: weakref.WeakKeyDictionary[Callable[..., Any], set[Any]] = weakref.WeakKeyDictionary()


def _compile_ahead(
    program: Callable[..., Any], x: np.ndarray, data: Pytree, prepared: Pytree
) -> threading.Thread | None:
    """Compile ``program`` (the Hessian, or the value and gradient of chord steps) in a
    background thread while the minimiser runs (and compiles its first program) on this one;
    the caller joins it before the program's first call, which then finds the executable in
    JAX's cache. XLA compiles without the GIL, so on a first fit the two compilations overlap.
    An error is left to the later call."""
    signature = argument_signature((x, data, prepared))
    if signature is None:
        return None
    seen = _AHEAD.setdefault(program, set())
    if signature in seen:
        return None
    seen.add(signature)

    def compile_program() -> None:
        try:
            with jax.enable_x64(True):
                program.compile(x, data, prepared)  # type: ignore[attr-defined]
        except Exception:  # the same call in the main thread reports it
            seen.discard(signature)

    thread = threading.Thread(target=compile_program, name="hs3jax-compile", daemon=True)
    thread.start()
    return thread


def _joined(thread: threading.Thread | None) -> threading.Thread | None:
    """Wait for a compile-ahead ``thread`` (if any); None, for the attribute that held it."""
    if thread is not None:
        thread.join()
    return None


class _Counted:
    """Host-side view on the free parameters: float64 numpy in and out, call counting,
    non-finite values mapped to a large finite penalty so that line searches back off."""

    def __init__(
        self,
        obj: Objective,
        base: np.ndarray,
        free: np.ndarray,
        data: Pytree,
        prepared: Pytree,
        pending: threading.Thread | None = None,
        pending_value_and_grad: threading.Thread | None = None,
    ) -> None:
        self.obj, self.base, self.free, self.data = obj, base, free, data
        self.prepared = prepared
        self.pending = pending
        self.pending_value_and_grad = pending_value_and_grad
        self.n_calls = 0
        self._last_hessian: tuple[bytes, np.ndarray] | None = None

    def full(self, x: np.ndarray) -> np.ndarray:
        out: np.ndarray = self.base.copy()
        out[self.free] = x
        return out

    def _host(self, f: jax.Array, g: jax.Array) -> tuple[float, np.ndarray, bool]:
        """(f, g over the free parameters, finite); non-finite values become the penalty."""
        fv, gv = float(f), np.asarray(g, dtype=np.float64)[self.free]
        if not np.isfinite(fv) or not np.all(np.isfinite(gv)):
            return 1e300, np.zeros_like(gv), False
        return fv, gv, True

    def __call__(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        self.pending_value_and_grad = _joined(self.pending_value_and_grad)
        self.n_calls += 1
        fv, gv, _ = self._host(*self.obj.value_and_grad(self.full(x), self.data, self.prepared))
        return fv, gv

    def hessian(self, x: np.ndarray) -> np.ndarray:
        key = x.tobytes()
        if self._last_hessian is not None and self._last_hessian[0] == key:
            return self._last_hessian[1]
        self.pending = _joined(self.pending)
        hessian, free = self.obj.hessian, self.free
        sub: np.ndarray
        if isinstance(hessian, SparseHessian):
            # only the free rows and columns: conditional fits of large models would copy
            # n² entries per Hessian to drop one
            every = len(free) == hessian.n
            sub = hessian.over(None if every else free, self.full(x), self.data, self.prepared)
        else:
            h = np.asarray(hessian(self.full(x), self.data, self.prepared))
            sub = h if len(free) == len(h) else h.take(free, 0).take(free, 1)
        self._last_hessian = (key, sub)
        return sub

    def newton_pays(self, x: np.ndarray) -> bool:
        """Whether projected Newton should start the fit: at most :data:`NEWTON_MAX_FREE`
        free parameters, or a Hessian compressed to at most that many products
        (:class:`SparseHessian`; where its pattern is not known yet, it is read off the
        Hessian at ``x``, which the Newton iterations then take as their first)."""
        if len(x) <= NEWTON_MAX_FREE:
            return True
        sparse_hessian = self.obj.hessian
        if not isinstance(sparse_hessian, SparseHessian):
            return False
        if sparse_hessian.pattern is None:
            # the value and gradient first: on a first fit they compile here while the
            # Hessian's program compiles in the background (see _compile_ahead)
            self(x)
            self.hessian(x)
        return sparse_hessian.n_products <= NEWTON_MAX_FREE

    def layout(self, keep: np.ndarray) -> BlockLayout | None:
        """The block layout (:class:`BlockLayout`) of the Hessian over the free parameters
        ``keep`` where the objective's Hessian is compressed (:class:`SparseHessian`); else
        None."""
        sparse_hessian = self.obj.hessian
        if not isinstance(sparse_hessian, SparseHessian):
            return None
        return sparse_hessian.layout(self.free[keep])

    def with_hessian(self, x: np.ndarray) -> tuple[float, np.ndarray, np.ndarray | None]:
        """(f, g, H) over the free parameters; H is None where it would cost a separate
        program call (:meth:`hessian` gets it when needed)."""
        fused = self.obj.value_grad_hessian
        if fused is None:
            f, g = self(x)
            return f, g, None
        self.n_calls += 1
        fv, gv, hv = fused(self.full(x), self.data, self.prepared)
        f, g, finite = self._host(fv, gv)
        return f, g, np.asarray(hv)[np.ix_(self.free, self.free)] if finite else None


def _active(x: np.ndarray, g: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Parameters held at a bound: at the lower bound with g > 0 or at the upper with g < 0."""
    span = 1e-10 * np.maximum(1.0, np.abs(x))
    held: np.ndarray = ((x <= lo + span) & (g > 0)) | ((x >= hi - span) & (g < 0))
    return held


class _Curvature:
    """A Hessian over the free parameters with its factorisation, one per set of parameters
    not held at a bound: the chord steps that reuse a Hessian reuse its factor too (0.17 s to
    factorise at 2,277 free parameters, against 5 ms for the two triangular solves). Where
    ``layout`` gives a block layout of the parameters kept (a compressed Hessian, see
    :class:`SparseHessian`), by blocks (:class:`BlockSolve`)."""

    def __init__(
        self,
        hessian: np.ndarray,
        layout: Callable[[np.ndarray], BlockLayout | None] | None = None,
    ) -> None:
        self.hessian = hessian
        self.layout = layout
        self._factors: dict[bytes, np.ndarray | BlockSolve | None] = {}

    def _factor(self, keep: np.ndarray) -> np.ndarray | BlockSolve | None:
        """The block solve of the ``keep`` block, else the lower Cholesky factor of the
        symmetrised block; either shifted by a multiple of the identity where the block is
        not positive definite. None where even the shifted block fails."""
        key = np.packbits(keep).tobytes()
        if key not in self._factors:
            hk = self.hessian if keep.all() else self.hessian[np.ix_(keep, keep)]
            layout = None if self.layout is None else self.layout(keep)
            blocks = None if layout is None else BlockSolve.shifted(hk, layout)
            if blocks is not None:
                self._factors[key] = blocks
                return blocks
            hk = 0.5 * (hk + hk.T)
            try:
                chol: np.ndarray | None = np.linalg.cholesky(hk)
            except np.linalg.LinAlgError:
                w = np.linalg.eigvalsh(hk)
                shift = max(1e-8, -1.5 * float(w.min())) + 1e-12 * float(np.abs(w).max())
                try:
                    chol = np.linalg.cholesky(hk + shift * np.eye(len(hk)))
                except np.linalg.LinAlgError:
                    chol = None
            self._factors[key] = chol
        return self._factors[key]

    def newton_step(self, g: np.ndarray, keep: np.ndarray) -> tuple[np.ndarray, float]:
        """Newton step on the ``keep`` subset and the decrement ½ gᵀH⁻¹g (inf where the
        Hessian cannot be factorised even shifted)."""
        p = np.zeros_like(g)
        if not keep.any():
            return p, 0.0
        factor = self._factor(keep)
        if factor is None:
            return p, float("inf")
        if isinstance(factor, BlockSolve):
            solved = factor.solve(g[keep])
            p[keep] = -solved
            return p, 0.5 * float(g[keep] @ solved)
        # two triangular solves: O(n²), where a general solve would factorise chol again
        # (O(n³): 0.2 s per step at 2,277 free parameters)
        y = solve_triangular(factor, g[keep], lower=True)
        p[keep] = -solve_triangular(factor.T, y, lower=False)
        return p, 0.5 * float(y @ y)


def _polish(
    fun: _Counted,
    x: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    steps: int = _POLISH_STEPS,
    *,
    chord: bool = False,
) -> tuple[np.ndarray, float, float, np.ndarray | None]:
    """Projected Newton iterations from ``x``; returns (x, f, decrement, Hessian at x or None).

    With ``chord``, once a step starts below :data:`CHORD_DECREMENT` the later steps reuse its
    Hessian (value-and-gradient calls only; the final decrement is measured with it too, and
    no Hessian at x is returned); with ``chord`` and at least
    :data:`TRIAL_VALUE_GRAD_MIN_FREE` free parameters, line-search points are tried with the
    value and gradient alone."""
    value_grad_trials = chord and len(x) >= TRIAL_VALUE_GRAD_MIN_FREE
    f, g, h = fun.with_hessian(x)
    if f >= 1e300:  # non-finite −ln L at the start: no descent to measure
        return x, f, float("inf"), None
    decrement = float("inf")
    moved = True  # x changed since the last Newton step (the final decrement needs one)
    fixed: _Curvature | None = None  # the Hessian of chord steps
    for _ in range(steps):
        keep = ~_active(x, g, lo, hi)
        if fixed is not None:
            last = decrement
            p, decrement = fixed.newton_step(g, keep)
            if decrement >= DECREMENT_TOL and decrement > CHORD_CONTRACTION * last:
                # the chord Hessian no longer contracts (parameters came to rest at bounds,
                # the curvature moved): an exact step, and chord steps from its Hessian
                fixed = None
        if fixed is None:
            h = fun.hessian(x) if h is None else h
            curvature = _Curvature(h, fun.layout)
            p, decrement = curvature.newton_step(g, keep)
            if chord and decrement < CHORD_DECREMENT:
                fixed = curvature
        moved = False
        if not np.isfinite(decrement) or decrement < 1e-17:
            break
        pg = np.abs(g[keep]).max(initial=0.0)
        floor = 8 * np.finfo(np.float64).eps * max(1.0, abs(f))
        t, accepted = 1.0, False
        while t > 1e-6:
            xn = np.clip(x + t * p, lo, hi)
            if fixed is None and not value_grad_trials:
                fn, gn, hn = fun.with_hessian(xn)
            else:
                (fn, gn), hn = fun(xn), None
            keep_n = ~_active(xn, gn, lo, hi)
            pgn = np.abs(gn[keep_n]).max(initial=0.0)
            if fn < f - floor or (fn <= f + floor and pgn < pg):
                accepted = True
                break
            if decrement < min(floor, DECREMENT_TOL):
                # converged, and the predicted decrease is below what −ln L resolves: shorter
                # steps would only re-sample its rounding (20 more calls per step); the
                # tolerance bound keeps a fit of large |f| (8ε|f| > 1e-8) from stopping short
                break
            t *= 0.5
        if not accepted:
            break
        x, f, g, h = xn, fn, gn, hn
        moved = True
    if moved:
        keep = ~_active(x, g, lo, hi)
        if fixed is None:
            h = fun.hessian(x) if h is None else h
            _, decrement = _Curvature(h, fun.layout).newton_step(g, keep)
        else:
            _, decrement = fixed.newton_step(g, keep)
    return x, f, decrement, h if fixed is None else None


def _lbfgsb(
    fun: _Counted, x0: np.ndarray, lo: np.ndarray, hi: np.ndarray, maxiter: int
) -> tuple[np.ndarray, str]:
    res = _scipy_minimize(
        fun,
        x0,
        jac=True,
        method="L-BFGS-B",
        bounds=[
            (a if np.isfinite(a) else None, b if np.isfinite(b) else None)
            for a, b in zip(lo, hi, strict=True)
        ],
        options={
            "maxiter": maxiter,
            "maxfun": 4 * maxiter,
            # moderate: the exact-Hessian Newton polish converges quadratically from here,
            # cheaper than L-BFGS-B's linear convergence on the last digits
            "ftol": 1e-12,
            "gtol": 1e-7,
            "maxcor": 20,
            "maxls": 50,
        },
    )
    return np.asarray(res.x, dtype=np.float64), f"L-BFGS-B: {res.message}"


def _minuit(
    fun: _Counted, x0: np.ndarray, lo: np.ndarray, hi: np.ndarray, maxiter: int
) -> tuple[np.ndarray, str]:
    from iminuit import Minuit

    m = Minuit(lambda x: fun(np.asarray(x))[0], x0, grad=lambda x: fun(np.asarray(x))[1])
    m.errordef = Minuit.LIKELIHOOD
    m.limits = [
        (a if np.isfinite(a) else None, b if np.isfinite(b) else None)
        for a, b in zip(lo, hi, strict=True)
    ]
    m.strategy = 1
    m.tol = 1e-6
    m.migrad(ncall=maxiter)
    valid = m.fmin is not None and m.fmin.is_valid
    return np.asarray(m.values, dtype=np.float64), f"MIGRAD: {'valid' if valid else 'invalid'}"


_RUNNERS: dict[str, Callable[[_Counted, np.ndarray, np.ndarray, np.ndarray, int], Any]] = {
    "lbfgsb": _lbfgsb,
    "minuit": _minuit,
}


def minimize(
    model: Model,
    start: np.ndarray | jax.Array,
    free_mask: np.ndarray,
    data: Pytree,
    inputs: Pytree,
    *,
    method: Method = "lbfgsb",
    maxiter: int = 10000,
    retries: int = 2,
    raise_on_failure: bool = True,
    final_hessian: bool = True,
) -> Minimum:
    """Minimise −ln L over the parameters in ``free_mask``, starting from the full vector
    ``start`` (which also supplies the fixed parameters).

    ``final_hessian=False`` (no covariance wanted) lets fits of at least
    :data:`CHORD_MIN_FREE` free parameters finish with chord steps (see :func:`_polish`);
    ``Minimum.hessian`` is then None.

    With ``method="lbfgsb"`` and at most :data:`NEWTON_MAX_FREE` free parameters (or a
    Hessian compressed to at most that many products, :meth:`_Counted.newton_pays`), tries
    projected Newton from ``start`` first (``Minimum.method == "newton"``). Then ``method``
    (followed by the Newton polish), then (if the Newton decrement is still above
    :data:`DECREMENT_TOL`) restarts from perturbed starting points and from the other
    minimiser. Raises :class:`FitFailed` with every attempt's message when none converges and
    ``raise_on_failure``; never returns a non-finite NLL.
    """
    free = np.flatnonzero(np.asarray(free_mask, dtype=bool))
    with jax.enable_x64(True):
        full0 = np.asarray(start, dtype=np.float64).copy()
        bounds = np.asarray(model.bounds, dtype=np.float64)[free]
        lo, hi = bounds[:, 0], bounds[:, 1]
        x0 = np.clip(full0[free], lo, hi)
        obj = objective(model)
        prepared = obj.prepare(inputs)
        # the fused program of a small model is the Hessian's: nothing to compile ahead, but
        # chord steps (and their fits' line-search trials) need its value and gradient alone
        fused = obj.value_grad_hessian is not None
        chord = not final_hessian and len(x0) >= CHORD_MIN_FREE
        pending = (
            None if fused or not len(x0) else _compile_ahead(obj.hessian, full0, data, prepared)
        )
        pending_vg = (
            _compile_ahead(obj.value_and_grad, full0, data, prepared) if chord and fused else None
        )
        fun = _Counted(obj, full0, free, data, prepared, pending, pending_vg)
        if len(x0) == 0:
            f0, _ = fun(x0)
            if f0 >= 1e300:
                raise FitFailed(f"{model.name}: −ln L is not finite at the given point")
            return Minimum(full0, f0, True, "no free parameters", fun.n_calls, 0.0, "none")
        order = [method, *(m for m in _RUNNERS if m != method)]
        rng = np.random.default_rng(20240531)
        messages: list[str] = []
        best: tuple[np.ndarray, float, float, str, np.ndarray | None] | None = None
        attempts = [(order[0], x0)]
        for k in range(retries):
            width = np.where(np.isfinite(hi - lo), hi - lo, 2.0 * np.maximum(1.0, np.abs(x0)))
            jitter = x0 + (0.05 * (k + 1)) * width * rng.uniform(-1, 1, size=x0.shape)
            attempts.append((order[0], np.clip(jitter, lo, hi)))
        attempts.extend((m, x0) for m in order[1:])
        if method == "lbfgsb" and fun.newton_pays(x0):
            attempts.insert(0, ("newton", x0))
        for name, xs in attempts:
            try:
                if name == "newton":
                    x, f, dec, h = _polish(fun, xs, lo, hi, _NEWTON_STEPS, chord=chord)
                    msg = "projected Newton"
                else:
                    x, msg = _RUNNERS[name](fun, xs, lo, hi, maxiter)
                    x, f, dec, h = _polish(fun, np.clip(x, lo, hi), lo, hi, chord=chord)
            except (ValueError, np.linalg.LinAlgError, RuntimeError) as err:
                messages.append(f"{name}: {err}")
                continue
            messages.append(f"{msg}; Newton decrement {dec:.2e}")
            better = best is None or f < best[1] - 1e-12 * abs(f) or dec < best[2]
            close = best is None or f <= best[1] + 1e-9 * max(1.0, abs(f))
            if f < 1e300 and better and close:
                best = (x, f, dec, name, h)
            if best is not None and best[2] < DECREMENT_TOL:
                break
        if best is None or best[1] >= 1e300:
            if raise_on_failure:
                raise FitFailed(f"{model.name}: −ln L is not finite; " + " | ".join(messages))
            return Minimum(
                full0, float("nan"), False, " | ".join(messages), fun.n_calls, float("inf"), method
            )
        x, f, dec, name, h = best
        success = dec < DECREMENT_TOL
        if not success and raise_on_failure:
            raise FitFailed(
                f"{model.name}: no convergence (Newton decrement {dec:.3g} > {DECREMENT_TOL}) "
                "after " + " | ".join(messages)
            )
        full = fun.full(x)
        return Minimum(
            full, float(f), success, " | ".join(messages), fun.n_calls, dec, name, hessian=h
        )

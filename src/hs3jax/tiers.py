"""Which XLA options a program is compiled with: quick executables for first calls on CPU.

Most of a small model's first fit in a fresh process is XLA compiling its programs, not running
them. XLA:CPU compiles the same lowered program without its fusion emitters
(``xla_cpu_use_fusion_emitters=False``) in 55–70 % of the time, and the executable runs 15–40 %
slower. Measured on ATLAS-3LeRJR (70 parameters, 2-core CPU): the fused value, gradient and
Hessian compile in 0.70 s instead of 1.03–1.12 s and run in 0.75 ms instead of 0.53 ms; the
template preparation compiles in 0.09 s instead of 0.15 s. Values, gradients, prepared templates
and expected data come out bit for bit the same; Hessian entries may differ in the last bit
(another summation order inside XLA's kernels).

Three tiers, fixed per program role (``stored_jit`` in :mod:`hs3jax.cache`):

* ``"full"``: XLA's defaults (plain ``jax.jit``);
* ``"quick"``: the quick options, for programs a fit or test calls once or a few times
  (template preparation, expected data, the derivatives that give Asimov global observables);
* ``"tiered"``: the programs fits call in their loops, for binned models where −ln L reads no
  array of more than :data:`QUICK_MAX_ELEMENTS` entries (:func:`loop_tier`; :class:`TieredExecutable`): the quick
  executable first, and the optimised one once the time lost running the quick one would have
  paid for compiling it (the ski-rental rule: where the estimates hold, at most twice the cost
  of the better choice in hindsight, whatever the number of calls to come). A fit, a
  hypothesis test or a limit on a small model stays quick; a long scan switches.

The loop programs of models with unbinned channels take their tier per argument signature
(:func:`events_tier`): ``"quick"`` for data sets of at most :data:`QUICK_MAX_EVENTS` events
(the Asimov data of a hypothesis test, small samples), ``"full"`` above. They never switch in
the middle: a fit of a multimodal unbinned likelihood follows one executable's rounding.

Quick options apply on CPU only (``xla_cpu_*`` options); elsewhere every tier is ``"full"``.
With the compilation cache enabled (:mod:`hs3jax.cache`), tiered programs are compiled
optimised at once: the cache makes that a one-time cost.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, Literal

import jax
import numpy as np

__all__ = [
    "COMPILE_RATIO",
    "QUICK_CPU_OPTIONS",
    "QUICK_MAX_ELEMENTS",
    "QUICK_MAX_EVENTS",
    "QUICK_SLOWDOWN",
    "Tier",
    "TierRule",
    "TieredExecutable",
    "events_tier",
    "loop_tier",
    "quick_options",
]

Tier = Literal["full", "quick", "tiered"]
#: a tier chosen per argument signature, from the arguments of the program's first call
TierRule = Callable[[tuple[Any, ...]], Tier]

#: XLA:CPU compile options of the quick executables
QUICK_CPU_OPTIONS: dict[str, Any] = {"xla_cpu_use_fusion_emitters": False}

#: the optimised compile's time over the quick one's (measured 1.4–1.8 on the ATLAS models)
COMPILE_RATIO = 1.6
#: the quick executable's extra run time over the optimised one's, where −ln L reads arrays of
#: at most :data:`QUICK_MAX_ELEMENTS` (measured 0.19–0.40 on the ATLAS models and the
#: synthetic 292-parameter model)
QUICK_SLOWDOWN = 0.3
#: elements of the largest array −ln L reads above which its loop programs are compiled
#: optimised at once: without the fusion emitters, loops over many entries run several times
#: slower (100,000 events of an unbinned model: value and gradient 5.3 ms against 1.5 ms)
QUICK_MAX_ELEMENTS = 1 << 16
#: events of an unbinned data set (all channels) up to which its loop programs are compiled
#: quick for good: the value and gradient of 8,192 events run 1.06–1.27x slower quick (one and
#: four channels; 32,768 in one channel 1.06x), of 100,000 in ten channels 3.6x
QUICK_MAX_EVENTS = 1 << 14


def loop_tier(read: Any, *, events: bool = False) -> Tier | TierRule:
    """The tier of the programs fits call in their loops (value and gradient, Hessian) for a
    −ln L that reads the arrays in the pytree ``read``: ``"tiered"`` where the largest holds at
    most :data:`QUICK_MAX_ELEMENTS` entries and there are no unbinned ``events``, else
    ``"full"``; with unbinned ``events``, :func:`events_tier` per data set. Unbinned channels
    are not tiered whatever their size: their events are laid out as one padded table per group
    of channels inside the program (30 channels of 33,000 events: one loop over a million
    entries), and switching executables in the middle of a fit changed its path on a multimodal
    likelihood (30 channels, 10⁶ events: a Newton decrement stuck at 1.5e-5)."""
    if events:
        return events_tier
    largest = max((int(np.size(leaf)) for leaf in jax.tree_util.tree_leaves(read)), default=0)
    return "tiered" if largest <= QUICK_MAX_ELEMENTS else "full"


def events_tier(args: tuple[Any, ...]) -> Tier:
    """``"quick"`` where the data of a loop program's arguments ``(pars, data, ...)`` hold at
    most :data:`QUICK_MAX_EVENTS` unbinned events (the lengths of their ``"weights"``, summed
    over the density terms), else ``"full"``. A 7-parameter model's value, gradient and Hessian
    compile in 0.96 s instead of 1.59 s on 1,000 events and run 1.2x slower (342 vs 280 µs)."""
    data = args[1] if len(args) > 1 else None
    terms = data.get("events", ()) if isinstance(data, Mapping) else ()
    n_events = sum(int(np.shape(term["weights"])[0]) for term in terms)
    return "quick" if n_events <= QUICK_MAX_EVENTS else "full"


def quick_options() -> dict[str, Any] | None:
    """The quick compile options for the default backend; None where there are none (GPU)."""
    return dict(QUICK_CPU_OPTIONS) if jax.default_backend() == "cpu" else None


class TieredExecutable:
    """One argument signature of a tiered program: runs the quick executable (compiled here)
    until the time it lost, estimated as ``QUICK_SLOWDOWN / (1 + QUICK_SLOWDOWN)`` of its run
    time, reaches the estimated compile time of the optimised executable
    (``COMPILE_RATIO`` × the quick compile); then compiles that one from the same lowering (no
    second trace) and runs it from then on. Quick calls wait for their results, to time
    them. ``budget_s`` replaces the estimated compile time.

    Which calls run quick depends on timing; their values and gradients are the optimised
    executable's bit for bit, their Hessians may differ in the last bit of some entries (fits,
    CL_s and limits measured to agree to 1e-13 relative or better)."""

    def __init__(
        self, lowered: Any, options: dict[str, Any], budget_s: float | None = None
    ) -> None:
        start = time.perf_counter()
        self.quick = lowered.compile(options)
        # the optimised compile's estimated time, the most the quick executable may lose
        self._budget = (
            COMPILE_RATIO * (time.perf_counter() - start) if budget_s is None else budget_s
        )
        self._lowered: Any = lowered
        self._lost = 0.0
        self.optimised: Any = None

    def __call__(self, *args: Any) -> Any:
        if self.optimised is not None:
            return self.optimised(*args)
        if self._lost >= self._budget:
            self.optimised = self._lowered.compile()
            self._lowered = None
            return self.optimised(*args)
        start = time.perf_counter()
        out = jax.block_until_ready(self.quick(*args))  # type: ignore[no-untyped-call]
        self._lost += (time.perf_counter() - start) * QUICK_SLOWDOWN / (1.0 + QUICK_SLOWDOWN)
        return out

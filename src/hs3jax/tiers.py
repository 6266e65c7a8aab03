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

Quick options apply on CPU only (``xla_cpu_*`` options); elsewhere every tier is ``"full"``.
With the compilation cache enabled (:mod:`hs3jax.cache`), tiered programs are compiled
optimised at once: the cache makes that a one-time cost.
"""

from __future__ import annotations

import time
from typing import Any, Literal

import jax
import numpy as np

__all__ = [
    "COMPILE_RATIO",
    "QUICK_CPU_OPTIONS",
    "QUICK_MAX_ELEMENTS",
    "QUICK_SLOWDOWN",
    "Tier",
    "TieredExecutable",
    "loop_tier",
    "quick_options",
]

Tier = Literal["full", "quick", "tiered"]

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


def loop_tier(read: Any, *, events: bool = False) -> Tier:
    """The tier of the programs fits call in their loops (value and gradient, Hessian) for a
    −ln L that reads the arrays in the pytree ``read``: ``"tiered"`` where the largest holds at
    most :data:`QUICK_MAX_ELEMENTS` entries and there are no unbinned ``events``, else
    ``"full"``. Unbinned channels are excluded whatever their size: their events are laid out
    as one padded table per group of channels inside the program (30 channels of 33,000 events:
    one loop over a million entries), and the quick executables' loops are the slow part."""
    if events:
        return "full"
    largest = max((int(np.size(leaf)) for leaf in jax.tree_util.tree_leaves(read)), default=0)
    return "tiered" if largest <= QUICK_MAX_ELEMENTS else "full"


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

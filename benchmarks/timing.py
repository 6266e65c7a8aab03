"""Timing helpers shared by the peers: first calls, interleaved medians of warm calls, and
JAX compile times (first call of a freshly jitted function minus a warm call)."""

from __future__ import annotations

import json
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

__all__ = ["block", "compile_time", "first_and_warm", "steady"]


def block(x: Any) -> Any:
    """Wait for JAX's asynchronous dispatch (no-op for plain Python and numpy values)."""
    try:
        import jax
    except ImportError:  # ROOT-only workers
        return x
    return jax.block_until_ready(x)


def _once(f: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    block(f())
    return time.perf_counter() - t0


def steady(
    fns: dict[str, Callable[[], Any]], repeats: int, max_s: float, rounds: int = 5
) -> dict[str, float]:
    """Median seconds per warm call of each zero-argument function.

    The functions are interleaved in ``rounds`` blocks, so that drifts of a shared machine hit
    all of them alike; each gets ``repeats`` calls or about ``max_s`` seconds, whichever comes
    first (at least 3 calls), after two warm-up calls.
    """
    samples: dict[str, list[float]] = {k: [] for k in fns}
    per_round = max(1, repeats // rounds)
    for f in fns.values():
        for _ in range(2):
            block(f())
    for _ in range(rounds):
        for key, f in fns.items():
            acc = samples[key]
            deadline = time.perf_counter() + max_s / rounds
            for _ in range(per_round):
                acc.append(_once(f))
                if time.perf_counter() > deadline and len(acc) >= 3:
                    break
    return {k: statistics.median(v) for k, v in samples.items()}


def _save_partial(values: dict[str, float]) -> None:
    """Leave the first-call time where the parent finds it should the warm calls time out
    (``BENCH_PARTIAL``: a path, set by ``worker.py``)."""
    path = os.environ.get("BENCH_PARTIAL")
    if path:
        with open(path, "w") as fh:
            json.dump(values, fh)


def first_and_warm(f: Callable[[], Any], repeats: int, max_s: float) -> tuple[float, float, Any]:
    """(seconds of the first call, median seconds of up to ``repeats`` warm calls (at least one;
    no more once about ``max_s`` seconds are spent), the first call's result)."""
    t0 = time.perf_counter()
    out = block(f())
    first = time.perf_counter() - t0
    _save_partial({"first_s": first})
    warm: list[float] = []
    deadline = time.perf_counter() + max_s
    while len(warm) < max(1, repeats):
        warm.append(_once(f))
        if time.perf_counter() > deadline:
            break
    return first, statistics.median(warm), out


_COMPILE_EVENTS: dict[str, float] = {}


def _listener(event: str, duration: float, **_: Any) -> None:
    if event.startswith("/jax/core/compile/"):
        key = event.rsplit("/", 1)[-1].removesuffix("_duration")
        _COMPILE_EVENTS[key] = _COMPILE_EVENTS.get(key, 0.0) + duration


_listening = False


def compile_time(
    make: Callable[[], Callable[..., Any]], args: tuple[Any, ...]
) -> tuple[dict[str, float], Callable[..., Any]]:
    """Compile seconds of ``make()`` (a fresh ``jax.jit``): its first call minus the fastest of
    three warm calls, JAX's caches cleared first; with JAX's own breakdown of the first call
    (tracing, lowering to MLIR, XLA compile). Returns the timings and the compiled function."""
    import jax

    global _listening
    if not _listening:
        jax.monitoring.register_event_duration_secs_listener(_listener)
        _listening = True
    jax.clear_caches()
    f = make()
    _COMPILE_EVENTS.clear()
    t0 = time.perf_counter()
    block(f(*args))
    first = time.perf_counter() - t0
    events = dict(_COMPILE_EVENTS)
    warm = min(_once(lambda: f(*args)) for _ in range(3))
    return {
        "compile_s": first - warm,
        "first_call_s": first,
        "trace_s": events.get("jaxpr_trace", 0.0),
        "lower_s": events.get("jaxpr_to_mlir_module", 0.0),
        "xla_compile_s": events.get("backend_compile", 0.0),
    }, f

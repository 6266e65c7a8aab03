"""hs3jax: ``hs3jax.load`` + ``ws.model()``; ``model.prepared_nll_fn(pars, data, prepared)``
jitted, with data and templates as arguments (the templates through ``model.prepare_fn``, once
per template set, its compilation counted in the compile column; ``vg_templates_s`` is the
value and gradient of ``model.nll_fn(pars, data, inputs)``, preparing the templates at every
call); inference with ``hs3jax.infer`` at its defaults."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from timing import compile_time, first_and_warm, steady  # noqa: E402  (benchmarks/ is on sys.path)

import hs3jax  # noqa: E402
from hs3jax.infer import fit, hypotest, upper_limit  # noqa: E402

from .common import batch_points, pytree_bytes  # noqa: E402

NAME = "hs3jax"


def _build(files: dict[str, str]) -> tuple[Any, float]:
    source = files.get("pyhf") or files["hs3"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # background-only workspaces: "POI does not appear"
        t0 = time.perf_counter()
        model = hs3jax.load(source).model()
        return model, time.perf_counter() - t0


_INFERENCE: dict[str, Any] = {
    "fit": lambda model: fit(model),
    "hypotest": lambda model: hypotest(model, 1.0),
    "limit": lambda model: upper_limit(model, level=0.05),
}
_RESULT = {
    "fit": ("twice_nll", lambda r: float(r.twice_nll)),
    "hypotest": ("cls_obs", lambda r: float(r.CLs_obs)),
    "limit": ("upper_limit", lambda r: float(r.obs)),
}
#: first calls slower than this are not repeated in the two processes of ``first_cached_s``
_CACHED_MAX_FIRST_S = 20.0


def run(task: str, files: dict[str, str], opts: dict[str, Any]) -> dict[str, Any]:
    model, build_s = _build(files)
    out: dict[str, Any] = {"build_s": build_s, "n_params": len(model.parameters)}
    if task == "eval":
        out.update(_eval(model, opts))
    elif task == "batch":
        out.update(_batch(model, opts["batch_points"], opts["max_time"]))
    elif task in _INFERENCE:
        call = _INFERENCE[task]
        first, warm, res = first_and_warm(
            lambda: call(model), opts["inference_repeats"], opts["inference_max_time"]
        )
        key, value = _RESULT[task]
        out.update(first_s=first, warm_s=warm, **{key: value(res)})
        if first < _CACHED_MAX_FIRST_S:
            out.update(_cached_first(task, files))
    else:
        raise ValueError(f"unknown task {task}")
    return out


_CHILD = """
import sys, time
sys.path.insert(0, sys.argv[1])
from peers.hs3jax_peer import _INFERENCE, _build
import json
model, _ = _build(json.loads(sys.argv[3]))
t0 = time.perf_counter()
_INFERENCE[sys.argv[2]](model)
print(time.perf_counter() - t0)
"""


def _cached_first(task: str, files: dict[str, str]) -> dict[str, Any]:
    """``first_cached_s``: the first call of ``task`` in a fresh process with hs3jax's
    compilation cache enabled (``HS3JAX_CACHE_DIR``, an empty folder) after one earlier process
    of the same model ran it (and filled the cache): what a rerun or a batch job of the same
    model structure pays."""
    bench = str(Path(__file__).resolve().parents[1])
    with tempfile.TemporaryDirectory(prefix="hs3jax-cache-") as cache:
        env = {**os.environ, "HS3JAX_CACHE_DIR": cache}
        times = []
        for _ in range(2):
            done = subprocess.run(
                [sys.executable, "-c", _CHILD, bench, task, json.dumps(files)],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            times.append(float(done.stdout.strip().splitlines()[-1]))
    return {"first_cached_s": times[1], "first_filling_cache_s": times[0]}


def _eval(model: Any, opts: dict[str, Any]) -> dict[str, Any]:
    fn, data = model.prepared_nll_fn, model.data
    init = np.asarray(model.init, dtype=np.float64)
    comp_prep, prepare = compile_time(lambda: jax.jit(model.prepare_fn), (model.inputs,))
    args = (jnp.asarray(init), data, prepare(model.inputs))
    comp, f_nll = compile_time(lambda: jax.jit(lambda p, d, i: fn(p, d, i)), args)
    comp_vg, f_vg = compile_time(
        lambda: jax.jit(jax.value_and_grad(lambda p, d, i: fn(p, d, i))), args
    )
    raw_args = (args[0], data, model.inputs)
    f_vg_raw = jax.jit(jax.value_and_grad(model.nll_fn))
    f_vg_raw(*raw_args)
    t = steady(
        {
            "nll": lambda: f_nll(*args),
            "vg": lambda: f_vg(*args),
            "vg_templates": lambda: f_vg_raw(*raw_args),
        },
        opts["repeats"],
        opts["max_time"],
    )
    out: dict[str, Any] = {
        "compile_s": comp["compile_s"] + comp_prep["compile_s"],
        "compile_detail": comp,
        "compile_prepare_s": comp_prep["compile_s"],
        "compile_vg_s": comp_vg["compile_s"],
        "nll_s": t["nll"],
        "vg_s": t["vg"],
        "vg_templates_s": t["vg_templates"],
        "nll_init": float(f_nll(*args)),
        "model_bytes": pytree_bytes(data, model.inputs),
    }
    return out


def _batch(model: Any, n: int, max_s: float) -> dict[str, Any]:
    """NLL at ``n`` parameter points in one call: ``jax.jit(jax.vmap(prepared_nll_fn))`` after
    ``prepare_fn`` (both in every timed call); first call (compilation included) and the median
    of up to 5 warm calls."""
    fn, data, inputs = model.prepared_nll_fn, model.data, model.inputs
    init = np.asarray(model.init, dtype=np.float64)
    lo, hi = np.asarray(model.bounds, dtype=np.float64).T
    pts = jnp.asarray(batch_points(init, lo, hi, n))
    prepare = jax.jit(model.prepare_fn)
    f_batch = jax.jit(jax.vmap(lambda p, d, i: fn(p, d, i), in_axes=(0, None, None)))
    first, warm, _ = first_and_warm(lambda: f_batch(pts, data, prepare(inputs)), 5, max_s)
    return {"batch_s": warm, "batch_first_s": first, "batch_points": n}

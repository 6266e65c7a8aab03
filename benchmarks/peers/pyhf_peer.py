"""pyhf 0.7.6 with the JAX or the numpy backend: ``pyhf.Workspace`` + ``ws.model()`` +
``ws.data(model)``; the NLL ``-model.logpdf(pars, data)[0]`` with data closed over (jitted for
JAX); inference with pyhf's defaults and the scipy optimiser (``pyhf.optimize.scipy_optimizer()``,
its default tolerance): ``pyhf.infer.mle.fit``, ``pyhf.infer.hypotest(1.0, ..., test_stat="qtilde",
return_expected_set=True)``, ``pyhf.infer.intervals.upper_limits.upper_limit(..., scan=None,
level=0.05)`` (TOMS 748 root finding; on the JAX backend with the hypotest results made floats,
see ``_float_results``)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import pyhf  # noqa: E402
import pyhf.infer.intervals.upper_limits as upper_limits  # noqa: E402
from timing import compile_time, first_and_warm, steady  # noqa: E402  (benchmarks/ is on sys.path)

from . import NotAvailable  # noqa: E402
from .common import batch_points  # noqa: E402


def _float_results(hypotest: Callable[..., Any]) -> Callable[..., Any]:
    """``pyhf.infer.hypotest`` with its CLs values as Python floats.

    pyhf 0.7.6's ``toms748_scan`` (``upper_limit(..., scan=None)``) caches hypotests in a dict
    keyed by the POI value that scipy's TOMS 748 computes from earlier results; on the JAX
    backend those are JAX arrays, which are unhashable (``TypeError``). Floats change nothing
    else: the numpy backend returns numpy scalars and runs the same algorithm.
    """

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        res = hypotest(*args, **kwargs)
        return tuple(float(x) if np.ndim(x) == 0 else [float(y) for y in x] for x in res)

    return wrapped


def _build(files: dict[str, str], backend: str) -> tuple[Any, Any, float]:
    if "pyhf" not in files:
        raise NotAvailable(
            "pyhf reads only binned HistFactory (pyhf JSON); this model is unbinned HS3"
        )
    pyhf.set_backend(backend, pyhf.optimize.scipy_optimizer())
    t0 = time.perf_counter()
    ws = pyhf.Workspace(json.loads(Path(files["pyhf"]).read_text()))
    try:
        model = ws.model()
    except pyhf.exceptions.InvalidModel:  # background-only workspace without a patch
        model = ws.model(poi_name=None)
    data = ws.data(model)
    if backend == "jax":
        data = jnp.asarray(data)
    return model, data, time.perf_counter() - t0


def run(task: str, files: dict[str, str], opts: dict[str, Any]) -> dict[str, Any]:
    backend = opts["backend"]
    model, data, build_s = _build(files, backend)
    out: dict[str, Any] = {"build_s": build_s, "n_params": int(model.config.npars)}
    reps, max_s = opts["inference_repeats"], opts["inference_max_time"]
    if task == "eval":
        out.update(
            _eval_jax(model, data, opts) if backend == "jax" else _eval_numpy(model, data, opts)
        )
    elif task == "batch":
        if backend != "jax":
            raise NotAvailable("no vmap on the numpy backend")
        out.update(_batch(model, data, opts["batch_points"], opts["max_time"]))
    elif task == "fit":
        first, warm, res = first_and_warm(
            lambda: pyhf.infer.mle.fit(data, model, return_fitted_val=True), reps, max_s
        )
        out.update(first_s=first, warm_s=warm, twice_nll=float(np.asarray(res[1])))
    elif task == "hypotest":
        if model.config.poi_index is None:
            raise NotAvailable("background-only model: no parameter of interest")
        first, warm, res = first_and_warm(
            lambda: pyhf.infer.hypotest(
                1.0, data, model, test_stat="qtilde", return_expected_set=True
            ),
            reps,
            max_s,
        )
        out.update(first_s=first, warm_s=warm, cls_obs=float(np.asarray(res[0])))
    elif task == "limit":
        if model.config.poi_index is None:
            raise NotAvailable("background-only model: no parameter of interest")
        if backend == "jax":
            upper_limits.hypotest = _float_results(pyhf.infer.hypotest)
        first, warm, res = first_and_warm(
            lambda: upper_limits.upper_limit(data, model, scan=None, level=0.05), reps, max_s
        )
        out.update(first_s=first, warm_s=warm, upper_limit=float(np.asarray(res[0])))
    else:
        raise ValueError(f"unknown task {task}")
    return out


def _eval_jax(model: Any, data: Any, opts: dict[str, Any]) -> dict[str, Any]:
    init = jnp.asarray(model.config.suggested_init(), dtype=jnp.float64)

    def nll(p: Any) -> Any:
        return -model.logpdf(p, data)[0]

    comp, f_nll = compile_time(lambda: jax.jit(nll), (init,))
    comp_vg, f_vg = compile_time(lambda: jax.jit(jax.value_and_grad(nll)), (init,))
    t = steady(
        {"nll": lambda: f_nll(init), "vg": lambda: f_vg(init)}, opts["repeats"], opts["max_time"]
    )
    out: dict[str, Any] = {
        "compile_s": comp["compile_s"],
        "compile_detail": comp,
        "compile_vg_s": comp_vg["compile_s"],
        "nll_s": t["nll"],
        "vg_s": t["vg"],
        "nll_init": float(f_nll(init)),
    }
    return out


def _batch(model: Any, data: Any, n: int, max_s: float) -> dict[str, Any]:
    """NLL at ``n`` parameter points in one call: ``jax.jit(jax.vmap(nll))``; first call
    (compilation included) and the median of up to 5 warm calls."""
    init = np.asarray(model.config.suggested_init(), dtype=np.float64)
    lo, hi = np.asarray(model.config.suggested_bounds(), dtype=np.float64).T
    pts = jnp.asarray(batch_points(init, lo, hi, n))
    f_batch = jax.jit(jax.vmap(lambda p: -model.logpdf(p, data)[0]))
    first, warm, _ = first_and_warm(lambda: f_batch(pts), 5, max_s)
    return {"batch_s": warm, "batch_first_s": first, "batch_points": n}


def _eval_numpy(model: Any, data: Any, opts: dict[str, Any]) -> dict[str, Any]:
    init = np.asarray(model.config.suggested_init(), dtype=np.float64)
    t = steady({"nll": lambda: -model.logpdf(init, data)[0]}, opts["repeats"], opts["max_time"])
    return {"nll_s": t["nll"], "nll_init": float(-model.logpdf(init, data)[0])}

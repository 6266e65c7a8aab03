"""pyhs3 0.4.2: ``pyhs3.Workspace(**doc)`` + ``ws.model(analysis)`` (a PyTensor graph) +
``pyhs3.jaxify(-model.log_prob)``, jitted with JAX. pyhs3 has no inference API (fit, hypotest,
limit: n/a). The document is hs3jax's lossless HS3 adapted to what pyhs3 0.4.2 accepts (see
``adapt``): its BB-lite ``staterror`` cannot be built (``Model`` calls the BB-full constraint for
every ``staterror``), so staterror is written in BB-full mode with per-sample uncertainties, and
``shapesys`` uncertainties are made absolute. The likelihood is therefore *not* the same as the
other peers' for models with ``staterror``; its size and structure are.
"""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Any

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
from timing import compile_time, steady  # noqa: E402  (benchmarks/ is on sys.path)

from . import NotAvailable  # noqa: E402


def adapt(doc: dict[str, Any]) -> dict[str, Any]:
    """hs3jax's lossless HS3 in the form pyhs3 0.4.2 builds (see the module docstring)."""
    doc = copy.deepcopy(doc)
    for dist in doc.get("distributions", []):
        if dist.get("type") != "histfactory_dist":
            continue
        has_staterror = False
        for sample in dist.get("samples", []):
            for mod in sample.get("modifiers", []):
                if mod["type"] == "staterror":
                    has_staterror = True
                    mod["data"] = {
                        "uncertainties": sample["data"].get(
                            "errors", [0.0] * len(sample["data"]["contents"])
                        )
                    }
                elif mod["type"] == "shapesys" and "vals" in mod.get("data", {}):
                    contents = sample["data"]["contents"]
                    mod["data"] = {
                        "vals": [v * c for v, c in zip(mod["data"]["vals"], contents, strict=True)]
                    }
        if has_staterror:
            dist["barlow_beeston_method"] = "full"
    return doc


def _as_input(value: Any, ndim: int) -> Any:
    """A value shaped for a PyTensor input of ``ndim`` dimensions (scalars as size-1 arrays,
    event arrays with trailing unit axes)."""
    a = jnp.asarray(value, dtype=jnp.float64)
    if a.ndim == ndim:
        return a
    if a.size == 1:
        return a.reshape((1,) * ndim)
    return a.reshape(a.shape + (1,) * (ndim - a.ndim)) if a.ndim < ndim else a


def run(task: str, files: dict[str, str], opts: dict[str, Any]) -> dict[str, Any]:
    if task != "eval":
        raise NotAvailable("pyhs3 0.4.2 has no inference API (fit, hypotest, limits)")
    import pyhs3

    doc = json.loads(Path(files["pyhs3"]).read_text())
    t0 = time.perf_counter()
    ws = pyhs3.Workspace(**doc)
    model = ws.model(doc["analyses"][0]["name"], progress=False)
    graph = pyhs3.jaxify(-model.log_prob)
    build_s = time.perf_counter() - t0
    # parameters pyhs3 leaves out of free_params (an analysis without "init") take the
    # document's first parameter point, as the other peers do
    points = doc.get("parameter_points") or [{"parameters": []}]
    values = {p["name"]: p["value"] for p in points[0]["parameters"]}
    values.update({**model.data, **model.free_params})
    args = tuple(
        _as_input(values[n], v.type.ndim)
        for n, v in zip(graph.input_names, graph.inputs, strict=True)
    )

    def nll(*a: Any) -> Any:
        return jnp.sum(graph.call_positional(*a)[0])

    comp, f_nll = compile_time(lambda: jax.jit(nll), args)
    wrt = tuple(
        k for k, n in enumerate(graph.input_names) if n not in model.data
    )  # parameters, not data
    comp_vg, f_vg = compile_time(lambda: jax.jit(jax.value_and_grad(nll, argnums=wrt)), args)
    t = steady(
        {"nll": lambda: f_nll(*args), "vg": lambda: f_vg(*args)}, opts["repeats"], opts["max_time"]
    )
    return {
        "build_s": build_s,
        "n_params": len(wrt),
        "compile_s": comp["compile_s"],
        "compile_detail": comp,
        "compile_vg_s": comp_vg["compile_s"],
        "nll_s": t["nll"],
        "vg_s": t["vg"],
        "nll_init": float(f_nll(*args)),
        "note": "staterror in BB-full mode, shapesys absolute: not the same likelihood"
        if "staterror" in json.dumps(doc)
        else "",
    }

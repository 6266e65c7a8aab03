"""The ``hs3jax`` command: JSON on stdout, readable summaries on stderr, exit codes 0/1/2.

Exit codes: 0 success, 1 the work failed (a fit that did not converge), 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from hs3jax.errors import HS3JaxError
from hs3jax.workspace import Workspace, load

__all__ = ["main"]


def _parse_assignments(items: Sequence[str]) -> dict[str, float]:
    out: dict[str, float] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"hs3jax: expected name=value, got {item!r}")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            raise SystemExit(f"hs3jax: {item!r}: {value!r} is not a number") from None
    return out


def _load(args: argparse.Namespace) -> Workspace:
    return load(args.file, patches=args.patch or [])


def _inspect(args: argparse.Namespace) -> dict[str, Any]:
    ws = _load(args)
    model = ws.model(args.analysis)
    channels = []
    for dist in ws.distributions:
        samples = getattr(dist, "samples", None)
        if dist.name in model.channels and samples is not None:
            channels.append(
                {
                    "name": dist.name,
                    "bins": getattr(dist, "nbins", None),
                    "samples": [
                        {"name": s.name, "modifiers": [f"{m.type}:{m.name}" for m in s.modifiers]}
                        for s in samples
                    ],
                }
            )
    result = {
        "file": args.file,
        "format": ws.source_format,
        "analyses": [a.name for a in ws.analyses],
        "model": model.name,
        "poi": model.poi,
        "channels": channels,
        "parameters": [
            {
                "name": name,
                "init": float(model.init[i]),
                "bounds": [float(b) for b in np.asarray(model.bounds[i])],
                "fixed": bool(model.fixed[i]),
            }
            for i, name in enumerate(model.parameters)
        ],
        "global_observables": list(model.global_observables),
    }
    print(
        f"{model.name}: {len(channels)} binned channels, {len(model.parameters)} parameters "
        f"({int(np.sum(np.asarray(model.fixed)))} fixed), POI {model.poi}",
        file=sys.stderr,
    )
    return result


def _validate(args: argparse.Namespace) -> dict[str, Any]:
    ws = _load(args)
    names = [a.name for a in ws.analyses] or [lik.name for lik in ws.likelihoods]
    for name in names:
        model = ws.model(name)
        value = float(model.nll())
        if not np.isfinite(value):
            raise HS3JaxError(f"{name}: the NLL at the initial point is not finite ({value})")
    print(f"{args.file}: valid ({', '.join(names)})", file=sys.stderr)
    return {"file": args.file, "valid": True, "models": names}


def _nll(args: argparse.Namespace) -> dict[str, Any]:
    model = _load(args).model(args.analysis)
    pars = _parse_assignments(args.set or [])
    value = float(model.nll(pars))
    print(f"NLL = {value!r}", file=sys.stderr)
    return {"model": model.name, "nll": value, "parameters": pars}


def _fit(args: argparse.Namespace) -> dict[str, Any]:
    import jax
    import jax.numpy as jnp
    from scipy.optimize import minimize

    ws = _load(args)
    model = ws.model(args.analysis)
    with jax.enable_x64(True):
        init = np.asarray(model.vector(_parse_assignments(args.init or [])))
        fixed = np.asarray(model.fixed).copy()
        for name, value in _parse_assignments(args.fixed or []).items():
            i = model.index(name)
            init[i] = value
            fixed[i] = True
        free = ~fixed
        bounds = np.asarray(model.bounds)[free]
        value_and_grad = jax.jit(jax.value_and_grad(model.nll_fn))

        def objective(x: np.ndarray) -> tuple[float, np.ndarray]:
            full = init.copy()
            full[free] = x
            value, grad = value_and_grad(jnp.asarray(full), model.data, model.inputs)
            return float(value), np.asarray(grad)[free]

        start = time.perf_counter()
        result = minimize(
            objective,
            init[free],
            jac=True,
            method="L-BFGS-B",
            bounds=[
                (lo if np.isfinite(lo) else None, hi if np.isfinite(hi) else None)
                for lo, hi in bounds
            ],
            options={"maxiter": 10000, "ftol": 1e-12, "gtol": 1e-9},
        )
        seconds = time.perf_counter() - start
    best = init.copy()
    best[free] = result.x
    print(
        f"{model.name}: {'converged' if result.success else 'NOT converged'} in {seconds:.2f} s, "
        f"min NLL {result.fun:.6f}"
        + (f", {model.poi} = {best[model.poi_index]:.6g}" if model.poi else ""),
        file=sys.stderr,
    )
    return {
        "model": model.name,
        "success": bool(result.success),
        "message": str(result.message),
        "nll": float(result.fun),
        "twice_nll": 2 * float(result.fun),
        "bestfit": {name: float(v) for name, v in zip(model.parameters, best, strict=True)},
        "seconds": seconds,
    }


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hs3jax", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    commands = {
        "inspect": (_inspect, "channels, samples, modifiers and parameters of a model"),
        "validate": (_validate, "read a file and build every model in it"),
        "nll": (_nll, "the negative log-likelihood at a point"),
        "fit": (_fit, "maximum-likelihood fit (L-BFGS-B with JAX gradients)"),
    }
    for name, (func, text) in commands.items():
        cmd = sub.add_parser(name, help=text, description=text)
        cmd.add_argument("file", help="HS3 or pyhf JSON file")
        cmd.add_argument("--analysis", default=None, help="analysis or likelihood name")
        cmd.add_argument("--patch", action="append", help="JSON Patch file (repeatable)")
        cmd.add_argument("--output-file", default=None, help="write the JSON result here")
        if name == "nll":
            cmd.add_argument("--set", action="append", help="name=value (repeatable)")
        if name == "fit":
            cmd.add_argument("--init", action="append", help="name=value (repeatable)")
            cmd.add_argument("--fixed", action="append", help="name=value (repeatable)")
        cmd.set_defaults(func=func)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        result = args.func(args)
    except HS3JaxError as exc:
        print(f"hs3jax: error: {exc}", file=sys.stderr)
        return 2
    text = json.dumps(result, indent=2)
    if args.output_file:
        with open(args.output_file, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
    else:
        print(text)
    return 0 if result.get("success", True) else 1


if __name__ == "__main__":
    sys.exit(main())

"""The ``hs3jax`` command: JSON on stdout, readable summaries on stderr, exit codes 0/1/2.

Exit codes: 0 success, 1 the work failed (a fit that did not converge), 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

import jax
import numpy as np

from hs3jax.errors import HS3JaxError, ModelError
from hs3jax.model import Model
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


def _model_and_setup(args: argparse.Namespace) -> tuple[Model, dict[str, float], dict[str, float]]:
    model = _load(args).model(args.analysis)
    init = _parse_assignments(args.init or [])
    fixed = _parse_assignments(args.fixed or [])
    for name in (*init, *fixed):
        model.index(name)  # a bad name is bad input (exit code 2)
    return model, init, fixed


def _fit(args: argparse.Namespace) -> dict[str, Any]:
    from hs3jax.infer.fit import fit

    model, init, fixed = _model_and_setup(args)
    # --minos alone: every free parameter; --minos a b: those
    minos: bool | list[str] = False if args.minos is None else (args.minos or True)
    bar = _progress() if minos else None
    if bar is None:
        result = fit(model, init=init or None, fixed=fixed or None, method=args.method, minos=minos)
    else:
        with bar:
            bar.add_task("fit and MINOS intervals", total=None)
            result = fit(
                model, init=init or None, fixed=fixed or None, method=args.method, minos=minos
            )
    poi = (
        f", {model.poi} = {result.bestfit[model.poi]:.6g} ± {result.errors[model.poi]:.3g}"
        if model.poi
        else ""
    )
    print(
        f"{model.name}: {'converged' if result.success else 'NOT converged'} in "
        f"{result.seconds:.2f} s, min NLL {result.nll:.6f}{poi}",
        file=sys.stderr,
    )
    for name, interval in result.minos.items():
        print(
            f"  {name}: {result.bestfit[name]:.6g} {interval.lower:+.4g} {interval.upper:+.4g}"
            f"{' (lower end at the bound)' if interval.at_lower_limit else ''}"
            f"{' (upper end at the bound)' if interval.at_upper_limit else ''}",
            file=sys.stderr,
        )
    return {"model": model.name, **result.to_dict()}


def _poi_checked(model: Model) -> str:
    if model.poi is None:
        raise ModelError(
            f"{model.name} has no parameter of interest (background-only? add a signal with "
            "--patch)"
        )
    return model.poi


def _cls(args: argparse.Namespace) -> dict[str, Any]:
    from hs3jax.infer.hypotest import hypotest

    model, init, fixed = _model_and_setup(args)
    _poi_checked(model)
    if fixed:
        raise ModelError("--fixed is not supported by cls (the POI is set by --poi-value)")
    result = hypotest(
        model,
        args.poi_value,
        test_stat=args.test_stat,
        calctype=args.calctype,
        init=init or None,
        n_toys=args.n_toys,
        seed=args.seed,
    )
    exp = ", ".join(f"{v:.4g}" for v in result.CLs_exp)
    print(
        f"{model.name}: {model.poi} = {args.poi_value:g}: CLs obs {result.CLs_obs:.5g}, "
        f"exp [{exp}] (-2..+2 sigma)",
        file=sys.stderr,
    )
    return {"model": model.name, "poi": model.poi, **result.to_dict()}


def _progress() -> Any:
    try:
        from rich.console import Console
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
    except ImportError:  # rich is optional
        return None
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )


def _limit(args: argparse.Namespace) -> dict[str, Any]:
    from hs3jax.infer.limits import upper_limit

    model, init, _ = _model_and_setup(args)
    poi = _poi_checked(model)
    scan = None
    if args.scan:
        lo, hi, n = args.scan
        scan = np.linspace(float(lo), float(hi), int(n))
    bar = _progress()
    if bar is None:
        result = upper_limit(model, level=args.level, scan=scan, init=init or None)
    else:
        with bar:
            task = bar.add_task("upper limit", total=None)

            def tick(mu: float, res: Any) -> None:
                bar.update(task, description=f"{poi} = {mu:.4g}: CLs {res.CLs_obs:.4f}")

            result = upper_limit(
                model, level=args.level, scan=scan, init=init or None, progress=tick
            )
    exp = ", ".join(f"{v:.4g}" for v in result.exp)
    print(
        f"{model.name}: {100 * (1 - args.level):g}% CL upper limit on {poi}: obs "
        f"{result.obs:.5g}, exp [{exp}] (-2..+2 sigma), {result.n_evaluations} points",
        file=sys.stderr,
    )
    return {"model": model.name, **result.to_dict()}


def _significance(args: argparse.Namespace) -> dict[str, Any]:
    from hs3jax.infer.hypotest import significance

    model, init, _ = _model_and_setup(args)
    _poi_checked(model)
    result = significance(model, init=init or None)
    print(
        f"{model.name}: discovery p0 {result.p0:.4g} (Z = {result.Z:.3f}), expected "
        f"Z = {result.Z_exp[2]:.3f}",
        file=sys.stderr,
    )
    return {"model": model.name, **result.to_dict()}


def _scan(args: argparse.Namespace) -> dict[str, Any]:
    from hs3jax.infer.scan import profile_scan

    model, init, fixed = _model_and_setup(args)
    names = args.parameter or [_poi_checked(model)]
    ranges = args.range or [["0", "3", "31"]]
    if len(names) > 2 or len(ranges) != len(names):
        raise ModelError(
            "scan takes one or two --parameter NAME, each with its own --range LO HI N "
            f"(got {len(names)} parameters and {len(ranges)} ranges)"
        )
    grid = {}
    for name, (lo, hi, n) in zip(names, ranges, strict=True):
        model.index(name)  # a bad name is bad input (exit code 2)
        grid[name] = np.linspace(float(lo), float(hi), int(n))
    bar = _progress()
    if bar is None:
        result = profile_scan(model, grid, init=init or None, fixed=fixed or None)
    else:
        with bar:
            bar.add_task(f"profile scan over {int(np.prod(list(map(len, grid.values()))))} points")
            result = profile_scan(model, grid, init=init or None, fixed=fixed or None)
    best = ", ".join(f"{n} = {v:.6g}" for n, v in zip(names, result.bestfit, strict=True))
    print(
        f"{model.name}: profile scan of {' x '.join(names)} over {len(result.points)} points, "
        f"best fit {best}, {int(result.converged.sum())} converged",
        file=sys.stderr,
    )
    return {"model": model.name, **result.to_dict()}


def _pulls(args: argparse.Namespace) -> dict[str, Any]:
    from hs3jax.infer.pulls import pulls

    model, init, fixed = _model_and_setup(args)
    result = pulls(model, init=init or None, fixed=fixed or None)
    for i, name in enumerate(result.parameters):
        if np.isfinite(result.pull[i]):
            print(f"{name:40s} {result.pull[i]:+.3f} ± {result.constraint[i]:.3f}", file=sys.stderr)
    return {"model": model.name, **result.to_dict()}


def _ranking(args: argparse.Namespace) -> dict[str, Any]:
    from hs3jax.infer.ranking import ranking

    model, init, fixed = _model_and_setup(args)
    _poi_checked(model)
    bar = _progress()
    if bar is None:
        result = ranking(model, init=init or None, fixed=fixed or None)
    else:
        with bar:
            bar.add_task(f"impacts of {len(model.parameters)} parameters", total=None)
            result = ranking(model, init=init or None, fixed=fixed or None)
    print(f"{'parameter':40s} {'impact +':>10s} {'impact -':>10s}  pull/prefit", file=sys.stderr)
    for i, name in enumerate(result.parameters[: args.top]):
        pull = (
            f"{result.normalised_pulls[i]:+.3f} ± {result.normalised_constraints[i]:.3f}"
            if np.isfinite(result.normalised_pulls[i])
            else "(unconstrained)"
        )
        print(
            f"{name:40s} {result.impact_up[i]:+10.4g} {result.impact_down[i]:+10.4g}  {pull}",
            file=sys.stderr,
        )
    return {"model": model.name, **result.to_dict()}


def _convert(args: argparse.Namespace) -> dict[str, Any]:
    from hs3jax.workspace import dump

    ws = _load(args)
    dump(ws, args.out, to=args.to, for_root=args.for_root, analysis=args.analysis)
    print(f"{args.file} ({ws.source_format}) -> {args.out} ({args.to})", file=sys.stderr)
    return {"input": args.file, "output": args.out, "to": args.to, "for_root": args.for_root}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hs3jax", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    commands = {
        "inspect": (_inspect, "channels, samples, modifiers and parameters of a model"),
        "validate": (_validate, "read a file and build every model in it"),
        "nll": (_nll, "the negative log-likelihood at a point"),
        "fit": (_fit, "maximum-likelihood fit (JAX gradients, Hessian uncertainties)"),
        "cls": (_cls, "CLs at one POI value (asymptotic or toys), observed and expected band"),
        "limit": (_limit, "upper limit on the POI (observed and the Brazil band)"),
        "significance": (_significance, "discovery significance from q0"),
        "scan": (_scan, "1-D or 2-D profile likelihood scan"),
        "ranking": (_ranking, "impacts of the nuisance parameters on the POI, and pulls"),
        "pulls": (_pulls, "post-fit pulls normalised to the pre-fit constraint widths"),
        "convert": (_convert, "write a workspace as HS3 (optionally for ROOT) or pyhf JSON"),
    }
    inference = {"fit", "cls", "limit", "significance", "scan", "ranking", "pulls"}
    for name, (func, text) in commands.items():
        cmd = sub.add_parser(name, help=text, description=text)
        cmd.add_argument("file", help="HS3 or pyhf JSON file")
        cmd.add_argument("--analysis", default=None, help="analysis or likelihood name")
        cmd.add_argument("--patch", action="append", help="JSON Patch file (repeatable)")
        cmd.add_argument("--output-file", default=None, help="write the JSON result here")
        if name == "nll":
            cmd.add_argument("--set", action="append", help="name=value (repeatable)")
        if name in inference:
            cmd.add_argument("--init", action="append", help="start value name=value (repeatable)")
            cmd.add_argument("--fixed", action="append", help="hold name=value fixed (repeatable)")
        if name == "fit":
            cmd.add_argument("--method", default="lbfgsb", choices=["lbfgsb", "minuit"])
            cmd.add_argument(
                "--minos",
                nargs="*",
                metavar="NAME",
                default=None,
                help="profile-likelihood (MINOS) intervals: of the NAMEs, or of every free "
                "parameter when no NAME is given",
            )
        if name == "cls":
            cmd.add_argument("--poi-value", type=float, default=1.0, help="tested POI value")
            cmd.add_argument("--test-stat", default="qtilde", choices=["qtilde", "q", "q0"])
            cmd.add_argument(
                "--calctype", default="asymptotics", choices=["asymptotics", "toybased"]
            )
            cmd.add_argument("--n-toys", type=int, default=1000)
            cmd.add_argument("--seed", type=int, default=0)
        if name == "limit":
            cmd.add_argument("--level", type=float, default=0.05, help="CLs level (0.05: 95%% CL)")
            cmd.add_argument(
                "--scan",
                nargs=3,
                metavar=("LO", "HI", "N"),
                help="grid scan instead of root finding",
            )
        if name == "scan":
            cmd.add_argument(
                "--parameter",
                action="append",
                help="scanned parameter (default: the POI); give it twice for a 2-D scan",
            )
            cmd.add_argument(
                "--range",
                action="append",
                nargs=3,
                metavar=("LO", "HI", "N"),
                help="grid of each --parameter, in order (default: 0 3 31)",
            )
        if name == "ranking":
            cmd.add_argument("--top", type=int, default=15, help="rows shown on stderr")
        if name == "convert":
            cmd.add_argument("out", help="output JSON file")
            cmd.add_argument("--to", default="hs3", choices=["hs3", "pyhf"])
            cmd.add_argument(
                "--for-root", action="store_true", help="HS3 that ROOT 6.40 imports and evaluates"
            )
        cmd.set_defaults(func=func)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 ok, 1 the work failed, 2 bad input)."""
    from hs3jax.infer.minimize import FitFailed

    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: bad usage is bad input
        return 0 if exc.code in (0, None) else 2
    try:
        with jax.enable_x64(True):
            result = args.func(args)
    except FitFailed as exc:
        print(f"hs3jax: fit failed: {exc}", file=sys.stderr)
        result = {"success": False, "error": str(exc)}
        _emit(args, result)
        return 1
    except (HS3JaxError, OSError, ValueError) as exc:
        print(f"hs3jax: error: {exc}", file=sys.stderr)
        return 2
    except SystemExit as exc:  # _parse_assignments
        print(str(exc.code), file=sys.stderr)
        return 2
    _emit(args, result)
    return 0 if result.get("success", True) else 1


def _emit(args: argparse.Namespace, result: dict[str, Any]) -> None:
    text = json.dumps(result, indent=2, allow_nan=True)
    if args.output_file:
        with open(args.output_file, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
    else:
        try:
            print(text, flush=True)
        except BrokenPipeError:
            # the reader closed the pipe (`hs3jax fit ... | head`): nothing more to say, and
            # Python's flush at exit must not raise again on the closed descriptor
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())


if __name__ == "__main__":
    sys.exit(main())

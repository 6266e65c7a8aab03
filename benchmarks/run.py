"""hs3jax vs pyhf (jax backend): build, compile and steady-state NLL / value-and-grad timings.

    python benchmarks/run.py            # default: synthetic 1/10/100 channels + all ATLAS models
    python benchmarks/run.py --quick    # CI size (~1 min): fewer models, fewer repetitions
    python benchmarks/run.py --full     # more repetitions, and a 300-channel synthetic model

Every ratio is hs3jax / pyhf-jax measured in the same process in the same run (< 1: hs3jax is
faster). See benchmarks/README.md for what each column measures and for the options.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import re
import statistics
import sys
import time
import traceback
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import pyhf  # noqa: E402
import synthetic  # noqa: E402

import hs3jax  # noqa: E402

ATLAS_DIR = ROOT / "tests" / "data" / "likelihoods"
QUICK_ATLAS = ("ATLAS-SUSY-2018-31__BkgOnlyA",)

# --------------------------------------------------------------------------------------------
# timing helpers


def _block(x: Any) -> Any:
    return jax.block_until_ready(x)


def first_call(f: Callable[..., Any], args: Sequence[Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = _block(f(*args))
    return time.perf_counter() - t0, out


def steady(
    fns: dict[str, tuple[Callable[..., Any], Sequence[Any]]], repeats: int, max_s: float, rounds: int = 5
) -> dict[str, float]:
    """Median seconds per warm call of each function. The functions are interleaved in
    ``rounds`` blocks, so that drifts of the machine hit both peers alike; each function gets
    ``repeats`` calls or about ``max_s`` seconds, whichever comes first (at least 5 calls)."""
    samples: dict[str, list[float]] = {k: [] for k in fns}
    per_round = max(1, repeats // rounds)
    for f, args in fns.values():  # warm-up
        for _ in range(2):
            _block(f(*args))
    for _ in range(rounds):
        for key, (f, args) in fns.items():
            acc = samples[key]
            budget = time.perf_counter() + max_s / rounds
            for _ in range(per_round):
                t0 = time.perf_counter()
                _block(f(*args))
                t1 = time.perf_counter()
                acc.append(t1 - t0)
                if t1 > budget and len(acc) >= 5:
                    break
    return {k: statistics.median(v) for k, v in samples.items()}


_COMPILE_EVENTS: dict[str, float] = {}


def _listener(event: str, duration: float, **_: Any) -> None:
    if event.startswith("/jax/core/compile/"):
        key = event.rsplit("/", 1)[-1].removesuffix("_duration")
        _COMPILE_EVENTS[key] = _COMPILE_EVENTS.get(key, 0.0) + duration


jax.monitoring.register_event_duration_secs_listener(_listener)


def compile_time(make: Callable[[], Callable[..., Any]], args: Sequence[Any]) -> tuple[dict[str, float], Callable[..., Any]]:
    """Compile time as the issue defines it: the first call of a freshly jitted function (caches
    cleared) minus a warm call. Also the breakdown JAX reports for that first call (tracing,
    lowering to MLIR, XLA backend compile). Returns the timings and the (now compiled) function."""
    jax.clear_caches()
    f = make()
    _COMPILE_EVENTS.clear()
    first, _ = first_call(f, args)
    events = dict(_COMPILE_EVENTS)
    warm = min(first_call(f, args)[0] for _ in range(3))
    return {
        "compile_s": first - warm,
        "first_call_s": first,
        "warm_call_s": warm,
        "trace_s": events.get("jaxpr_trace", 0.0),
        "lower_s": events.get("jaxpr_to_mlir_module", 0.0),
        "xla_compile_s": events.get("backend_compile", 0.0),
    }, f


# --------------------------------------------------------------------------------------------
# peers


class Hs3jaxPeer:
    name = "hs3jax"

    def __init__(self, spec: dict[str, Any]) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # background-only: "POI does not appear"
            t0 = time.perf_counter()
            ws = hs3jax.load(spec)
            model = ws.model()
            self.build_s = time.perf_counter() - t0
        self.model = model
        self.parameters = list(model.parameters)
        self.n_bins = int(np.asarray(model.data["main"]).shape[0])
        fn, data, inputs = model.nll_fn, model.data, model.inputs
        self.args_tail = (data, inputs)
        self.make_nll = lambda: jax.jit(lambda p, d, i: fn(p, d, i))
        self.make_vg = lambda: jax.jit(jax.value_and_grad(lambda p, d, i: fn(p, d, i)))

    def args(self, pars: jax.Array) -> tuple[Any, ...]:
        return (pars, *self.args_tail)


class PyhfPeer:
    name = "pyhf-jax"

    def __init__(self, spec: dict[str, Any]) -> None:
        pyhf.set_backend("jax")
        t0 = time.perf_counter()
        ws = pyhf.Workspace(spec)
        try:
            model = ws.model()
            self.background_only = False
        except Exception:  # the measurement's POI is on no sample: background-only
            model = ws.model(poi_name=None)
            self.background_only = True
        data = jnp.asarray(ws.data(model))
        self.build_s = time.perf_counter() - t0
        self.model = model
        self.data = data
        cfg = model.config
        self.parameters = []
        for par in cfg.par_order:
            n = cfg.param_set(par).n_parameters
            sl = cfg.par_slice(par)
            assert sl.stop - sl.start == n
            self.parameters += [par] if cfg.param_set(par).is_scalar else [f"{par}[{i}]" for i in range(n)]
        self.n_bins = int(sum(cfg.channel_nbins.values()))
        self.init = np.asarray(cfg.suggested_init(), dtype=float)
        self.bounds = np.asarray(cfg.suggested_bounds(), dtype=float)
        # the issue's definition: data closed over, parameters the only argument
        self.make_nll = lambda: jax.jit(lambda p: -model.logpdf(p, data)[0])
        self.make_vg = lambda: jax.jit(jax.value_and_grad(lambda p: -model.logpdf(p, data)[0]))

    def args(self, pars: jax.Array) -> tuple[Any, ...]:
        return (pars,)


# --------------------------------------------------------------------------------------------
# one model


def bench_model(
    label: str, spec: dict[str, Any], args: argparse.Namespace, rng: np.random.Generator, with_pyhf: bool = True
) -> dict[str, Any]:
    row: dict[str, Any] = {"model": label}
    gc.collect()
    jax.clear_caches()
    hs = Hs3jaxPeer(spec)
    py = PyhfPeer(spec) if with_pyhf else None
    row["n_params"] = len(hs.parameters)
    row["n_bins"] = hs.n_bins
    row["pyhf_measured"] = py is not None
    row["build_s"] = {"hs3jax": hs.build_s, "pyhf": py.build_s if py else None}

    if py is not None:
        row["background_only"] = py.background_only
        if len(hs.parameters) != len(py.parameters) or hs.n_bins != py.n_bins:
            raise RuntimeError(
                f"models differ: hs3jax {len(hs.parameters)} pars / {hs.n_bins} bins, "
                f"pyhf {len(py.parameters)} pars / {py.n_bins} bins"
            )
        # pyhf vector order -> hs3jax vector order, by name (hs3jax names bins "staterror_X[i]")
        hs_index = {n: i for i, n in enumerate(hs.parameters)}
        missing = [n for n in py.parameters if n not in hs_index]
        if missing:
            raise RuntimeError(f"pyhf parameters unknown to hs3jax: {missing[:5]}")
        perm = np.array([hs_index[n] for n in py.parameters])  # hs_vec[perm] = py_vec
        p_init = py.init
        lo, hi = py.bounds[:, 0], py.bounds[:, 1]
    else:
        row["background_only"] = hs.model.poi is None
        perm = np.arange(len(hs.parameters))
        p_init = np.asarray(hs.model.init, dtype=float)
        lo, hi = np.asarray(hs.model.bounds, dtype=float).T

    def to_hs(py_vec: np.ndarray) -> jax.Array:
        v = np.empty(len(perm))
        v[perm] = py_vec
        return jnp.asarray(v)

    # evaluation points: the initial values, and a random point inside the bounds
    gaussian_np = (lo <= -4.9) & (hi >= 4.9)
    p_rand = np.where(
        gaussian_np,
        p_init + 0.3 * rng.standard_normal(len(p_init)),
        p_init * (1 + 0.03 * rng.standard_normal(len(p_init))),
    )
    p_rand = np.clip(p_rand, lo, hi)

    # compile (nll and value-and-grad), each with fresh caches; the compiled functions are
    # then reused for the steady-state timings
    hs_args = hs.args(to_hs(p_init))
    comp_hs, f_hs = compile_time(hs.make_nll, hs_args)
    comp_hs_vg, g_hs = compile_time(hs.make_vg, hs_args)
    if py is not None:
        py_args = py.args(jnp.asarray(p_init))
        comp_py, f_py = compile_time(py.make_nll, py_args)
        comp_py_vg, g_py = compile_time(py.make_vg, py_args)
    row["compile_s"] = {"hs3jax": comp_hs["compile_s"], "pyhf": comp_py["compile_s"] if py else None}
    row["compile_vg_s"] = {"hs3jax": comp_hs_vg["compile_s"], "pyhf": comp_py_vg["compile_s"] if py else None}
    row["compile_detail"] = {"hs3jax": comp_hs, "pyhf": comp_py if py else None}
    row["compile_vg_detail"] = {"hs3jax": comp_hs_vg, "pyhf": comp_py_vg if py else None}

    # steady state, the two peers interleaved
    fns = {"hs_nll": (f_hs, hs_args)}
    if py is not None:
        fns["py_nll"] = (f_py, py_args)
    t = steady(fns, args.repeats, args.max_time)
    row["nll_s"] = {"hs3jax": t["hs_nll"], "pyhf": t.get("py_nll")}
    fns = {"hs_vg": (g_hs, hs_args)}
    if py is not None:
        fns["py_vg"] = (g_py, py_args)
    t = steady(fns, args.repeats, args.max_time)
    row["vg_s"] = {"hs3jax": t["hs_vg"], "pyhf": t.get("py_vg")}

    # agreement: NLL at both points, gradient at the random point (in pyhf order)
    row["nll_value"] = {}
    if py is None:
        row["nll_value"]["init"] = {"hs3jax": float(f_hs(*hs_args)), "pyhf": None}
        row["nll_rel_diff"] = row["grad_rel_diff"] = row["grad_max_abs_diff"] = None
        return row
    rel = []
    for tag, p in (("init", p_init), ("random", p_rand)):
        a = float(f_hs(*hs.args(to_hs(p))))
        b = float(f_py(*py.args(jnp.asarray(p))))
        row["nll_value"][tag] = {"hs3jax": a, "pyhf": b}
        rel.append(abs(a - b) / max(abs(b), 1e-300))
    row["nll_rel_diff"] = max(rel)
    _, gh = g_hs(*hs.args(to_hs(p_rand)))
    _, gp = g_py(*py.args(jnp.asarray(p_rand)))
    gh = np.asarray(gh)[perm]
    gp = np.asarray(gp)
    row["grad_max_abs_diff"] = float(np.max(np.abs(gh - gp)))
    row["grad_rel_diff"] = float(np.max(np.abs(gh - gp)) / max(np.max(np.abs(gp)), 1e-300))
    return row


# --------------------------------------------------------------------------------------------
# output


def _ratio(d: dict[str, Any]) -> float:
    return d["hs3jax"] / d["pyhf"] if d.get("pyhf") else float("nan")


def _f(v: float | None, fmt: str, scale: float = 1.0) -> str:
    return "-" if v is None or v != v else format(v * scale, fmt)


def table(rows: list[dict[str, Any]], title: str) -> Any:
    heads = [
        ("model", "left"), ("pars", "right"), ("bins", "right"),
        ("build s\nhs3jax", "right"), ("build s\npyhf", "right"),
        ("compile s\nhs3jax", "right"), ("compile s\npyhf-jax", "right"), ("compile\nratio", "right"),
        ("NLL µs\nhs3jax", "right"), ("NLL µs\npyhf-jax", "right"), ("NLL\nratio", "right"),
        ("V+G µs\nhs3jax", "right"), ("V+G µs\npyhf-jax", "right"), ("V+G\nratio", "right"),
        ("rel ΔNLL", "right"),
    ]
    body = []
    for r in rows:
        if "error" in r:
            body.append([r["model"], "", "", *(["-"] * 11), "ERROR: " + r["error"].splitlines()[-1][:60]])
            continue
        body.append([
            r["model"] + (" (b-only)" if r.get("background_only") else ""),
            str(r["n_params"]), str(r["n_bins"]),
            _f(r["build_s"]["hs3jax"], ".2f"), _f(r["build_s"]["pyhf"], ".2f"),
            _f(r["compile_s"]["hs3jax"], ".2f"), _f(r["compile_s"]["pyhf"], ".2f"), _f(_ratio(r["compile_s"]), ".2f"),
            _f(r["nll_s"]["hs3jax"], ".1f", 1e6), _f(r["nll_s"]["pyhf"], ".1f", 1e6), _f(_ratio(r["nll_s"]), ".2f"),
            _f(r["vg_s"]["hs3jax"], ".1f", 1e6), _f(r["vg_s"]["pyhf"], ".1f", 1e6), _f(_ratio(r["vg_s"]), ".2f"),
            _f(r["nll_rel_diff"], ".1e"),
        ])
    try:
        from rich.table import Table

        t = Table(title=title, show_lines=False)
        for h, j in heads:
            t.add_column(h, justify=j, no_wrap=(h == "model"))
        for b in body:
            t.add_row(*b)
        return t
    except ImportError:
        flat = [h.replace("\n", " ") for h, _ in heads]
        widths = [max(len(flat[i]), *(len(b[i]) for b in body)) for i in range(len(flat))]
        lines = [title, "  ".join(h.ljust(w) for h, w in zip(flat, widths, strict=True))]
        lines.append("  ".join("-" * w for w in widths))
        lines += ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(b, widths, strict=True))) for b in body]
        return "\n".join(lines)


def targets(rows: list[dict[str, Any]], args: argparse.Namespace) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    ok = [r for r in rows if "error" not in r]
    by = {r["model"]: r for r in ok}
    c10, c100 = by.get("synthetic-10ch"), by.get("synthetic-100ch")
    if c10 and c100:
        for peer in ("hs3jax", "pyhf"):
            if c100["compile_s"][peer] is None or c10["compile_s"][peer] is None:
                continue
            ratio = c100["compile_s"][peer] / c10["compile_s"][peer]
            out.append({
                "target": f"compile time at 100 channels <= 2x compile at 10 channels ({peer})",
                "value": ratio, "limit": 2.0, "pass": ratio <= 2.0, "binding": peer == "hs3jax",
                "detail": f"{c100['compile_s'][peer]:.2f} s / {c10['compile_s'][peer]:.2f} s = {ratio:.2f}x",
            })
            vg = c100["compile_vg_s"][peer] / c10["compile_vg_s"][peer]
            out.append({
                "target": f"  (same for value-and-grad, {peer}; informational)",
                "value": vg, "limit": 2.0, "pass": vg <= 2.0, "binding": False,
                "detail": f"{c100['compile_vg_s'][peer]:.2f} s / {c10['compile_vg_s'][peer]:.2f} s = {vg:.2f}x",
            })
    else:
        out.append({"target": "compile time at 100 channels <= 2x compile at 10 channels", "value": None,
                    "limit": 2.0, "pass": None, "binding": True, "detail": "not measured (needs synthetic 10 and 100 channels)"})
    limit = 1.0 + args.vg_tolerance
    ok = [r for r in ok if r["pyhf_measured"]]
    for r in ok:
        ratio = _ratio(r["vg_s"])
        out.append({
            "target": f"steady value-and-grad no slower than pyhf-jax: {r['model']}",
            "value": ratio, "limit": limit, "pass": ratio <= limit, "binding": True,
            "detail": f"{r['vg_s']['hs3jax'] * 1e6:.1f} µs vs {r['vg_s']['pyhf'] * 1e6:.1f} µs = {ratio:.2f}x",
        })
    for r in ok:
        out.append({
            "target": f"NLL agrees with pyhf to 1e-8 relative: {r['model']}",
            "value": r["nll_rel_diff"], "limit": 1e-8, "pass": r["nll_rel_diff"] <= 1e-8, "binding": True,
            "detail": f"{r['nll_rel_diff']:.1e} (grad: max |Δ| / max |g| = {r['grad_rel_diff']:.1e})",
        })
    return out


# --------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    size = ap.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="CI size: synthetic 1/10/100 ch (no pyhf at 100), one small ATLAS model, 50 repeats")
    size.add_argument("--full", action="store_true", help="synthetic 1/10/100/300 ch, all ATLAS models, 1000 repeats")
    ap.add_argument("--channels", help="synthetic channel counts, comma separated (default 1,10,100)")
    ap.add_argument("--bins", type=int, default=10, help="bins per synthetic channel (default 10)")
    ap.add_argument("--atlas", help="regex on ATLAS file names to include ('' or 'none': no ATLAS models)")
    ap.add_argument("--models", help="regex on model labels; only matching models are run")
    ap.add_argument("--repeats", type=int, help="warm calls per steady timing (default 200; quick 50; full 1000)")
    ap.add_argument("--max-time", type=float,
                    help="cap in seconds on each steady timing of one function (default 2; quick 0.5; full 10)")
    ap.add_argument("--vg-tolerance", type=float, default=0.0,
                    help="value-and-grad target passes when hs3jax/pyhf <= 1 + this (default 0)")
    ap.add_argument("--pyhf-max-bins", type=int,
                    help="skip pyhf on models with more bins than this (default: never; quick: 500)")
    ap.add_argument("--json", default=str(HERE / "results" / "latest.json"), help="write results here ('' to skip)")
    ap.add_argument("--width", type=int, default=220, help="console width for the table")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--strict", action="store_true", help="exit 1 when a target fails (default: only on errors)")
    args = ap.parse_args(argv)

    if args.repeats is None:
        args.repeats = 50 if args.quick else 1000 if args.full else 200
    if args.pyhf_max_bins is None:
        args.pyhf_max_bins = 500 if args.quick else 0
    if args.max_time is None:
        args.max_time = 0.5 if args.quick else 10.0 if args.full else 2.0
    channels = [int(c) for c in args.channels.split(",")] if args.channels else [1, 10, 100, 300] if args.full else [1, 10, 100]
    atlas_files = sorted(ATLAS_DIR.glob("*.json"))
    if args.atlas is not None:
        atlas_files = [] if args.atlas in ("", "none") else [f for f in atlas_files if re.search(args.atlas, f.stem)]
    elif args.quick:
        atlas_files = [f for f in atlas_files if f.stem in QUICK_ATLAS]

    models: list[tuple[str, Callable[[], dict[str, Any]]]] = []
    for n in channels:
        models.append((f"synthetic-{n}ch", lambda n=n: synthetic.make_workspace(n, args.bins, seed=args.seed)))
    for f in atlas_files:
        models.append((f.stem.removeprefix("ATLAS-"), lambda f=f: json.loads(f.read_text())))
    if args.models:
        models = [m for m in models if re.search(args.models, m[0])]

    try:
        from rich.console import Console

        console = Console(width=args.width, highlight=False, markup=False)
        say = console.print
    except ImportError:
        say = print  # type: ignore[assignment]

    env = {
        "hs3jax": getattr(hs3jax, "__version__", "?"), "jax": jax.__version__, "pyhf": pyhf.__version__,
        "numpy": np.__version__, "python": platform.python_version(), "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(), "cpu_count": os.cpu_count(),
        "jax_devices": [str(d) for d in jax.devices()],
    }
    mode = "quick" if args.quick else "full" if args.full else "default"
    say(f"hs3jax benchmark ({mode}): jax {env['jax']} on {env['jax_devices'][0]}, pyhf {env['pyhf']}, "
        f"{env['cpu_count']} CPUs, {args.repeats} warm calls per steady timing")

    # warm-up: pay one-time import / backend initialisation costs before any timing
    warm = synthetic.make_workspace(1, 3, seed=99)
    Hs3jaxPeer(warm)
    PyhfPeer(warm)

    rng = np.random.default_rng(args.seed)
    rows: list[dict[str, Any]] = []
    t_start = time.perf_counter()
    for label, get in models:
        t0 = time.perf_counter()
        try:
            spec = get()
            n_bins = sum(len(o["data"]) for o in spec["observations"])
            row = bench_model(label, spec, args, rng, with_pyhf=not args.pyhf_max_bins or n_bins <= args.pyhf_max_bins)
        except Exception as exc:  # report and go on
            row = {"model": label, "error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}
        row["wall_s"] = time.perf_counter() - t0
        rows.append(row)
        status = row.get("error") or (
            f"hs3jax/pyhf: compile {_f(row['compile_s']['hs3jax'], '.2f')}/{_f(row['compile_s']['pyhf'], '.2f')} s, "
            f"V+G {_f(row['vg_s']['hs3jax'], '.0f', 1e6)}/{_f(row['vg_s']['pyhf'], '.0f', 1e6)} µs"
        )
        say(f"  {label}: {row['wall_s']:.1f} s ({status})")

    total = time.perf_counter() - t_start
    say("")
    say(table(rows, f"hs3jax vs pyhf-jax ({mode}; ratios are hs3jax / pyhf-jax, < 1 means hs3jax is faster)"))
    say("build: hs3jax.load + ws.model(); pyhf.Workspace + ws.model + ws.data.  compile: first call of a fresh "
        "jax.jit minus a warm call.\nNLL / V+G: median of warm calls (block_until_ready), jax.jit(nll) and "
        "jax.jit(jax.value_and_grad(nll)).  rel ΔNLL: max over pyhf's init and a random point.")
    say("")
    tg = targets(rows, args)
    say("Issue targets:")
    for t in tg:
        mark = "n/a " if t["pass"] is None else ("PASS" if t["pass"] else "FAIL")
        if not t["binding"]:
            mark = mark.lower()
        say(f"  [{mark}] {t['target']}: {t['detail']}")
    say(f"\ntotal {total:.0f} s")

    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({
            "mode": mode, "argv": sys.argv[1:] if argv is None else list(argv), "repeats": args.repeats,
            "environment": env, "total_s": total, "models": rows, "targets": tg,
        }, indent=1) + "\n")
        say(f"results written to {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    failed = any("error" in r for r in rows) or (args.strict and any(t["pass"] is False and t["binding"] for t in tg))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

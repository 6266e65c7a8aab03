"""hs3jax against pyhf (JAX and numpy backends), ROOT 6.40 and pyhs3 0.4.2: one command.

    python benchmarks/run.py            # default: the issue-6 table, <= 35 min on 2 cores
    python benchmarks/run.py --quick    # smoke test: tiny models, every peer once (~3 min)
    python benchmarks/run.py --full     # every peer on every model, larger models, longer

Every (model, peer, task) runs in its own subprocess (``worker.py``), so that first calls are
cold and peak memory (the worker's VmHWM) is per task; each has a timeout and an RSS
limit, and a peer that times out, runs out of memory or fails is recorded as such. Tasks:
``eval`` (build, compile, steady NLL and value-and-grad), ``batch`` (NLL at 1000 points,
``jax.vmap``), ``fit``,
``hypotest`` (q~mu at mu = 1, asymptotic) and ``limit`` (95% CL upper limit, asymptotic).
The table gives each number with its ratio to the best peer; the issue's targets follow with
PASS/FAIL; everything goes to ``benchmarks/results/latest.json``. See benchmarks/README.md and
docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import membw  # noqa: E402
import report  # noqa: E402
from models import Model, atlas_models, prepare, synthetic_model, unbinned_model  # noqa: E402

TASKS = ("eval", "batch", "fit", "hypotest", "limit")
JAX_PEERS = ("hs3jax", "pyhf-jax")
SLOW_PEERS = ("root", "pyhf-numpy", "pyhs3")


@dataclass
class Job:
    model: Model
    peer: str
    task: str
    timeout: float
    skip: str | None = None  # the reason, when the job is planned but not run


# ------------------------------------------------------------------------------------------
# the plan


# one of each pair of similar ATLAS likelihoods is left out of the default mode (--full: all)
ATLAS_DEFAULT_SKIP = {
    "3LeRJR__BkgOnly": "3LeRJR__ERJR_200p0_100p0",
    "SUSY-2018-31__BkgOnlyC": "SUSY-2018-31__BkgOnlyA",
    "SUSY-2019-09__bkg_onshell": "SUSY-2019-09__bkg_offshell",
}


def models_for(mode: str) -> list[Model]:
    syn292 = synthetic_model(15, 8, 5, frozenset({"292"}))
    largest = synthetic_model(20, 50, 15, frozenset({"largest"}))
    if mode == "quick":
        return [synthetic_model(1, 5), unbinned_model(1, 1000)]
    atlas = atlas_models()
    if mode == "default":
        atlas = [m for m in atlas if m.label not in ATLAS_DEFAULT_SKIP]
    out = [syn292, largest, *atlas]
    out += [unbinned_model(1, 1000), unbinned_model(10, 100_000), unbinned_model(30, 1_000_000)]
    if mode == "full":
        out[:0] = [synthetic_model(1, 10), synthetic_model(10, 10), synthetic_model(100, 10)]
        out.append(unbinned_model(3, 10_000))
    return out


def skip_reason(model: Model, peer: str, task: str, mode: str) -> str | None:
    """Why (model, peer, task) is not run in this mode, or None. The default mode leaves out the
    slowest peer x task combinations to stay within its time budget; --full runs them all."""
    if model.kind == "unbinned" and peer in ("pyhf-jax", "pyhf-numpy"):
        return "n/a: pyhf reads only binned HistFactory models"
    if task == "batch" and peer not in JAX_PEERS:
        return "n/a: the 1000-point batch is jax.vmap of the NLL (hs3jax and pyhf-jax)"
    if task == "batch" and model.kind == "unbinned" and "1e6" in model.label:
        return "skipped: 1000 points x 1e6 events is 1e9 density evaluations per call"
    if peer == "pyhs3" and task != "eval":
        return "n/a: pyhs3 0.4.2 has no inference API"
    if mode != "default":
        return None
    small = model.label == "unb-1ch-1e3ev" or "292" in model.tags
    if peer == "pyhs3" and not small:
        return "skipped (default mode): pyhs3 runs on the smallest models and the 292-parameter one; --full for all"
    if peer == "pyhf-numpy" and task in ("hypotest", "limit") and not small:
        return "skipped (default mode): pyhf-numpy hypotest/limit only on the small models; --full for all"
    if (
        peer == "root"
        and task in ("hypotest", "limit")
        and not (small or model.label in ("SUSY-2018-14__Comb_bkgonly", "SUSY-2018-31__BkgOnlyA"))
    ):
        return "skipped (default mode): ROOT hypotest/limit on the small models and two ATLAS models; --full for all"
    if model.label == "unb-30ch-1e6ev" and peer == "root" and task != "eval":
        return "skipped (default mode): ROOT fits of 1e6 events take longer than the budget; --full"
    return None


def priority(job: Job) -> int:
    """Order of the jobs (lower first), so that a time budget cuts the least important ones:
    0: the two models the issue's targets name (292 and >= 1000 parameters), every peer;
    1: the ATLAS models, hs3jax and pyhf-jax; 2: the unbinned models (hs3jax; every peer's
    evaluation and fit) and the ATLAS models' ROOT and pyhf-numpy evaluations; 3: the rest."""
    model, peer, task = job.model, job.peer, job.task
    if model.tags & {"292", "largest"}:
        return 0
    if "atlas" in model.tags and peer in JAX_PEERS:
        return 1
    if model.kind == "unbinned" and (peer == "hs3jax" or task in ("eval", "fit")):
        return 2
    if "atlas" in model.tags and task == "eval":
        return 2
    return 3


def plan(
    models: list[Model], mode: str, peers: list[str], tasks: list[str], timeouts: dict[str, float]
) -> list[Job]:
    """Every (model, peer, task), model by model, the peers' order alternating from one task to
    the next (so that no peer always runs right after another's compilation), then sorted by
    ``priority`` (quick mode: every evaluation first, so that every peer runs once)."""
    jobs: list[Job] = []
    order = [p for p in (*JAX_PEERS, *SLOW_PEERS) if p in peers]
    for model in models:
        for task in tasks:
            for peer in order:
                timeout = timeouts["jax" if peer in JAX_PEERS else "slow"]
                jobs.append(Job(model, peer, task, timeout, skip_reason(model, peer, task, mode)))
            order.reverse()
    if mode == "quick":
        jobs.sort(key=lambda j: TASKS.index(j.task))
    else:
        jobs.sort(key=priority)
    return jobs


# ------------------------------------------------------------------------------------------
# running one job


def _rss_bytes(pid: int) -> int:
    """Resident memory of ``pid`` and its descendants (``/proc``; 0 once it is gone)."""
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        try:
            with open(f"/proc/{p}/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
                        break
            with open(f"/proc/{p}/task/{p}/children") as fh:
                stack += [int(c) for c in fh.read().split()]
        except (OSError, ValueError):
            continue
    return total


def run_job(
    job: Job, files: dict[str, str], opts: dict[str, Any], mem_limit: int, workdir: Path
) -> dict[str, Any]:
    """Run one job in a subprocess with a timeout and an RSS limit; its record."""
    job_file = workdir / "job.json"
    out_file = workdir / "out.json"
    out_file.unlink(missing_ok=True)
    job_file.write_text(
        json.dumps({"peer": job.peer, "task": job.task, "files": files, "opts": opts})
    )
    partial_file = workdir / "partial.json"
    partial_file.unlink(missing_ok=True)
    env = {
        **os.environ,
        "OPENBLAS_NUM_THREADS": "1",
        "PYTHONWARNINGS": "ignore",
        "BENCH_PARTIAL": str(partial_file),
    }
    err_file = workdir / "stderr.txt"
    t0 = time.perf_counter()
    with open(err_file, "wb") as err:  # a file, not a pipe: a chatty peer must not block on it
        proc = subprocess.Popen(
            [sys.executable, str(HERE / "worker.py"), str(job_file), str(out_file)],
            stdout=subprocess.DEVNULL,
            stderr=err,
            env=env,
            start_new_session=True,  # its own process group: a timeout ends it and its children
        )
    killed = ""
    peak_seen = 0
    while True:
        pid, wstatus, _ = os.wait4(proc.pid, os.WNOHANG)
        if pid == proc.pid:
            break
        rss = _rss_bytes(proc.pid)
        peak_seen = max(peak_seen, rss)
        elapsed = time.perf_counter() - t0
        if not killed and rss > mem_limit:
            killed = f"out of memory: RSS {rss / 1e9:.1f} GB > limit {mem_limit / 1e9:.1f} GB after {elapsed:.0f} s"
        elif not killed and elapsed > job.timeout:
            killed = f"timeout: no result after {job.timeout:.0f} s"
        if killed:
            os.killpg(proc.pid, signal.SIGKILL)
        time.sleep(0.1)
    proc.returncode = os.waitstatus_to_exitcode(wstatus)
    stderr_tail = err_file.read_bytes()[-3000:]
    wall = time.perf_counter() - t0
    record: dict[str, Any] = {
        "model": job.model.label,
        "peer": job.peer,
        "task": job.task,
        "wall_s": wall,
    }
    # the worker's own VmHWM when it finished; else (killed) the largest RSS seen while polling.
    # Not ru_maxrss from wait4: after fork + exec it starts from this process's resident size.
    record["peak_rss_bytes"] = peak_seen
    if killed:
        record["status"], _, record["reason"] = killed.partition(": ")
        if partial_file.exists():  # the first call finished, the warm calls did not
            record.update(json.loads(partial_file.read_text()), partial=True)
            record["reason"] += " (first call done; warm calls cut)"
        return record
    if not out_file.exists():
        record["status"] = "error"
        record["error"] = (
            f"worker exited with {proc.returncode} and no result: {stderr_tail.decode(errors='replace')[-800:]}"
        )
        return record
    record.update(json.loads(out_file.read_text()))
    # the job's own peak: not the processes it starts to measure a cached first call, which
    # the polled RSS of the process tree adds to it while they run
    record["peak_rss_bytes"] = record.get("vmhwm_bytes") or peak_seen
    return record


# ------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    size = ap.add_mutually_exclusive_group()
    size.add_argument(
        "--quick", action="store_true", help="smoke test: two tiny models, every peer once (~3 min)"
    )
    size.add_argument(
        "--full",
        action="store_true",
        help="every peer on every model and task, larger models (hours)",
    )
    ap.add_argument("--models", help="regex on model labels: only these")
    ap.add_argument(
        "--peers", default="hs3jax,pyhf-jax,pyhf-numpy,root,pyhs3", help="comma separated"
    )
    ap.add_argument(
        "--tasks", default=",".join(TASKS), help="comma separated, of " + ",".join(TASKS)
    )
    ap.add_argument(
        "--budget",
        type=float,
        help="minutes for all jobs; jobs that do not fit are recorded as skipped (default 33; quick 3; full none)",
    )
    ap.add_argument(
        "--timeout",
        type=float,
        help="seconds per hs3jax / pyhf-jax job (default 150; quick 90; full 1800)",
    )
    ap.add_argument(
        "--slow-timeout",
        type=float,
        help="seconds per ROOT / pyhf-numpy / pyhs3 job (default 90; quick 60; full 1800)",
    )
    ap.add_argument(
        "--mem-limit-gb",
        type=float,
        help="RSS limit per job (default: 20 GB or 60%% of this machine's memory, the smaller)",
    )
    ap.add_argument(
        "--repeats", type=int, help="warm calls per steady timing (default 200; quick 30)"
    )
    ap.add_argument(
        "--max-time",
        type=float,
        help="seconds per steady timing of one function (default 2; quick 0.3)",
    )
    ap.add_argument(
        "--batch-points",
        type=int,
        default=1000,
        help="parameter points of the vmap batch (default 1000)",
    )
    ap.add_argument(
        "--json",
        default=str(HERE / "results" / "latest.json"),
        help="write the results here ('' to skip)",
    )
    ap.add_argument(
        "--cache", default=str(HERE / ".cache"), help="folder for the generated model files"
    )
    ap.add_argument("--width", type=int, default=250, help="console width for the tables")
    args = ap.parse_args(argv)

    mode = "quick" if args.quick else "full" if args.full else "default"
    budget = 60 * (
        args.budget
        if args.budget is not None
        else {"quick": 3.0, "default": 33.0, "full": 1e9}[mode]
    )
    timeouts = {
        "jax": args.timeout or {"quick": 90.0, "default": 150.0, "full": 1800.0}[mode],
        "slow": args.slow_timeout or {"quick": 60.0, "default": 90.0, "full": 1800.0}[mode],
    }
    total_mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    mem_limit = (
        int(args.mem_limit_gb * 1e9) if args.mem_limit_gb else int(min(20e9, 0.6 * total_mem))
    )
    opts = {
        "repeats": args.repeats or (30 if args.quick else 200),
        "max_time": args.max_time or (0.3 if args.quick else 2.0),
        "inference_repeats": 3,
        "inference_max_time": 5.0 if args.quick else 20.0,
    }
    peers = args.peers.split(",")
    tasks = [t for t in TASKS if t in args.tasks.split(",")]
    models = models_for(mode)
    if args.models:
        models = [m for m in models if re.search(args.models, m.label)]

    from rich.console import Console

    console = Console(width=args.width, highlight=False, markup=False)
    say = console.print
    t_start = time.perf_counter()
    bandwidth = membw.copy_bandwidth()
    env = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "load_average_start": os.getloadavg(),
        "memory_bytes": total_mem,
        "copy_bandwidth_bytes_per_s": bandwidth,
        "jax_device": _jax_device(),
        **_versions(),
    }
    say(
        f"hs3jax benchmark ({mode}): {env['cpu_count']} CPUs, load {env['load_average_start'][0]:.1f}, "
        f"copy bandwidth {bandwidth / 1e9:.1f} GB/s, budget {budget / 60:.0f} min, timeouts {timeouts['jax']:.0f}/{timeouts['slow']:.0f} s, "
        f"RSS limit {mem_limit / 1e9:.0f} GB, JAX on {env['jax_device']}"
    )
    say("versions: " + ", ".join(f"{k} {v}" for k, v in env.items() if k.startswith("v_")))

    left_out = (
        {k: f"similar to {v}; run with --full" for k, v in ATLAS_DEFAULT_SKIP.items()}
        if mode == "default"
        else {}
    )
    for label, why in left_out.items():
        say(f"  model {label}: left out in the default mode ({why})")
    cache = Path(args.cache)
    files: dict[str, dict[str, str]] = {}
    for m in models:
        t0 = time.perf_counter()
        files[m.label] = prepare(m, cache)
        say(f"  model {m.label}: {m.description} (files ready in {time.perf_counter() - t0:.1f} s)")

    records: list[dict[str, Any]] = []
    jobs = plan(models, mode, peers, tasks, timeouts)
    with tempfile.TemporaryDirectory() as tmp:
        for job in jobs:
            base = {"model": job.model.label, "peer": job.peer, "task": job.task}
            if job.skip:
                status = "n/a" if job.skip.startswith("n/a") else "skipped"
                reason = job.skip.removeprefix("n/a: ").removeprefix("skipped: ")
                records.append({**base, "status": status, "reason": reason})
                continue
            left = budget - (time.perf_counter() - t_start)
            if left < 20:
                records.append(
                    {
                        **base,
                        "status": "skipped",
                        "reason": f"time budget of {budget / 60:.0f} min used up",
                    }
                )
                continue
            job.timeout = min(job.timeout, left)
            job_opts = {**opts, "batch_points": args.batch_points}
            rec = run_job(job, files[job.model.label], job_opts, mem_limit, Path(tmp))
            records.append(rec)
            say(
                f"  {job.model.label:38s} {job.peer:10s} {job.task:8s} {rec['status']:8s} {rec['wall_s']:6.1f} s  {_brief(rec)}"
            )

    total = time.perf_counter() - t_start
    rows = report.summarise(records, bandwidth)
    tagged = {tag: m.label for m in models for tag in m.tags if tag in ("292", "largest")}
    say("")
    ev = ["build_s", "compile_s", "nll_s", "vg_s", "batch_s", "peak_mem_bytes"]
    if any(r.get("device_peak_bytes") for r in records):
        ev.append("device_mem_bytes")
    inf = [
        "fit_first_s",
        "fit_warm_s",
        "hypotest_first_s",
        "hypotest_warm_s",
        "limit_first_s",
        "limit_warm_s",
        "fit_cached_s",
        "hypotest_cached_s",
        "limit_cached_s",
    ]
    say(
        report.table(
            rows,
            f"Evaluation ({mode}): value (ratio to the best peer on that model)",
            ev,
            floor=True,
        )
    )
    say(
        report.table(
            rows,
            f"Inference ({mode}): first call in a fresh process, and warm (median); value (ratio to the best peer)",
            inf,
        )
    )
    say(
        "cached: hs3jax's first call in a second process with its compilation cache enabled "
        "(hs3jax.enable_compilation_cache / HS3JAX_CACHE_DIR), after a first one of the same model."
    )
    say(
        "NLL / floor: steady NLL time over one pass over the model's arrays (bytes of hs3jax's data and inputs) at the measured copy bandwidth. "
        "n/a: the peer cannot; skipped: left out in this mode (reason in the JSON); timeout / out of memory: killed."
    )
    tg = report.targets(rows, tagged)
    say("\nIssue 6 targets (hs3jax against pyhf-jax):")
    for t in tg:
        mark = "n/a " if t["pass"] is None else ("PASS" if t["pass"] else "FAIL")
        if t.get("informational"):
            mark = mark.lower()
        say(f"  [{mark}] {t['target']}: {t['detail']}")
    say(f"\ntotal {total / 60:.1f} min")

    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            json.dumps(
                {
                    "mode": mode,
                    "argv": sys.argv[1:] if argv is None else argv,
                    "options": opts,
                    "timeouts_s": timeouts,
                    "budget_s": budget,
                    "mem_limit_bytes": mem_limit,
                    "environment": env,
                    "total_s": total,
                    "models": {
                        m.label: {
                            "kind": m.kind,
                            "description": m.description,
                            "tags": sorted(m.tags),
                        }
                        for m in models
                    },
                    "models_left_out": left_out,
                    "summary": rows,
                    "targets": tg,
                    "records": records,
                },
                indent=1,
                default=str,
            )
            + "\n"
        )
        say(f"results written to {path}")
    return 1 if any(r["status"] == "error" and r["peer"] == "hs3jax" for r in records) else 0


def _brief(rec: dict[str, Any]) -> str:
    if rec["status"] != "ok":
        return (rec.get("reason") or rec.get("error") or "")[:150]
    keys = (
        "build_s",
        "compile_s",
        "nll_s",
        "vg_s",
        "batch_s",
        "first_s",
        "warm_s",
        "cls_obs",
        "upper_limit",
        "twice_nll",
    )
    parts = [f"{k}={rec[k]:.4g}" for k in keys if isinstance(rec.get(k), float)]
    return " ".join(parts) + f" peak={rec['peak_rss_bytes'] / 1e6:.0f}MB"


def _jax_device() -> str:
    """The device the JAX peers run on, asked in a child process so that this parent never
    holds accelerator memory."""
    probe = "import jax; d = jax.devices()[0]; print(f'{d.platform}: {d.device_kind}')"
    try:
        out = subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unknown ({type(exc).__name__})"
    return out.stdout.strip() or f"unknown ({out.stderr.strip()[-200:]})"


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in ("hs3jax", "jax", "jaxlib", "pyhf", "pyhs3", "root", "numpy", "scipy"):
        try:
            out[f"v_{pkg}"] = version(pkg)
        except PackageNotFoundError:
            out[f"v_{pkg}"] = "not installed"
    return out


if __name__ == "__main__":
    sys.exit(main())

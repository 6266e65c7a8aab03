"""Tables and issue-6 targets from the benchmark's records.

A record is one (model, peer, task) run: ``status`` (``ok``, ``n/a``, ``skipped``, ``timeout``,
``out of memory``, ``error``), the peer's numbers and ``peak_rss_bytes``. ``summarise`` folds
them into one row per (model, peer); every metric is also given as a ratio to the best peer on
that model (1.0 = the fastest; ``< 1`` never occurs).
"""

from __future__ import annotations

from typing import Any

__all__ = ["METRICS", "summarise", "table", "targets"]

PEERS = ("hs3jax", "pyhf-jax", "pyhf-numpy", "root", "pyhs3")

# metric: (task, key in that task's record, unit scale, format, column heading)
METRICS: dict[str, tuple[str, str, float, str, str]] = {
    "build_s": ("eval", "build_s", 1.0, ".2f", "build\ns"),
    "compile_s": ("eval", "compile_s", 1.0, ".2f", "compile\ns"),
    "nll_s": ("eval", "nll_s", 1e6, ".0f", "NLL\nµs"),
    "vg_s": ("eval", "vg_s", 1e6, ".0f", "V+G\nµs"),
    "batch_s": ("batch", "batch_s", 1e3, ".1f", "batch\n1000 ms"),
    "fit_first_s": ("fit", "first_s", 1.0, ".2f", "fit 1st\ns"),
    "fit_warm_s": ("fit", "warm_s", 1.0, ".2f", "fit warm\ns"),
    "hypotest_first_s": ("hypotest", "first_s", 1.0, ".2f", "hypotest\n1st s"),
    "hypotest_warm_s": ("hypotest", "warm_s", 1.0, ".2f", "hypotest\nwarm s"),
    "limit_first_s": ("limit", "first_s", 1.0, ".2f", "limit\n1st s"),
    "limit_warm_s": ("limit", "warm_s", 1.0, ".2f", "limit\nwarm s"),
    # hs3jax only: the first call in a second process with the compilation cache enabled
    # (hs3jax.enable_compilation_cache), after a first process of the same model structure
    "fit_cached_s": ("fit", "first_cached_s", 1.0, ".2f", "fit 1st\ncached s"),
    "hypotest_cached_s": ("hypotest", "first_cached_s", 1.0, ".2f", "hypotest\n1st cached s"),
    "limit_cached_s": ("limit", "first_cached_s", 1.0, ".2f", "limit\n1st cached s"),
    "peak_mem_bytes": ("*", "peak_rss_bytes", 1e-6, ".0f", "peak\nMB"),
    "device_mem_bytes": ("*", "device_peak_bytes", 1e-6, ".0f", "GPU peak\nMB"),
}


def summarise(
    records: list[dict[str, Any]], bandwidth: float
) -> dict[str, dict[str, dict[str, Any]]]:
    """``{model: {peer: {metric: value, metric_ratio: value / best, "status": {task: ...}}}}``."""
    rows: dict[str, dict[str, dict[str, Any]]] = {}
    for r in records:
        row = rows.setdefault(r["model"], {}).setdefault(r["peer"], {"status": {}})
        row["status"][r["task"]] = (
            r["status"]
            if r["status"] == "ok"
            else f"{r['status']}: {r.get('reason') or r.get('error', '')}"[:300]
        )
        if r.get("peak_rss_bytes"):
            row["peak_mem_bytes"] = max(row.get("peak_mem_bytes", 0), r["peak_rss_bytes"])
        if r.get("device_peak_bytes"):
            row["device_mem_bytes"] = max(row.get("device_mem_bytes", 0), r["device_peak_bytes"])
        if r["status"] == "timeout":
            row.setdefault("timed_out_after_s", {})[r["task"]] = r["wall_s"]
        if r["status"] != "ok" and not r.get("partial"):  # partial: killed after its first call
            continue
        for metric, (task, key, *_rest) in METRICS.items():
            if task == r["task"] and r.get(key) is not None:
                row[metric] = r[key]
        for key in (
            "n_params",
            "nll_init",
            "twice_nll",
            "cls_obs",
            "upper_limit",
            "model_bytes",
        ):
            if r.get(key) is not None:
                row[key] = r[key]
    for peers in rows.values():
        # the model's tensors as hs3jax holds them (templates, data); every peer's NLL reads
        # at least this information, so one pass over it is the floor for all of them
        model_bytes = peers.get("hs3jax", {}).get("model_bytes")
        if model_bytes and bandwidth > 0:
            floor = model_bytes / bandwidth
            for p in peers.values():
                if p.get("nll_s"):
                    p["nll_floor_s"] = floor
                    p["nll_floor_multiple"] = p["nll_s"] / floor
        for metric in METRICS:
            values = [p[metric] for p in peers.values() if p.get(metric)]
            if not values:
                continue
            best = min(values)
            for p in peers.values():
                if p.get(metric):
                    p[f"{metric}_ratio"] = p[metric] / best
    return rows


def _cell(row: dict[str, Any], metric: str) -> str:
    _task, _key, scale, fmt, _head = METRICS[metric]
    v = row.get(metric)
    if v is None:
        task = METRICS[metric][0]
        status = row["status"].get(task, "")
        if task == "*" or not status or status == "ok":
            return "-"
        return status.split(":", 1)[0]  # n/a, skipped, timeout, out of memory, error
    text = format(v * scale, fmt)
    ratio = row.get(f"{metric}_ratio")
    return text if ratio is None else f"{text} ({ratio:.2g}x)"


def table(
    rows: dict[str, dict[str, dict[str, Any]]], title: str, metrics: list[str], floor: bool = False
) -> Any:
    """A rich table: one line per (model, peer), each metric as ``value (ratio to best)``."""
    from rich.table import Table

    t = Table(title=title, show_lines=False, title_justify="left")
    t.add_column("model", no_wrap=True)
    t.add_column("peer", no_wrap=True)
    t.add_column("pars", justify="right")
    for m in metrics:
        t.add_column(METRICS[m][4], justify="right")
    if floor:
        t.add_column("NLL /\nfloor", justify="right")
    for model, peers in rows.items():
        first = True
        for peer in PEERS:
            if peer not in peers:
                continue
            row = peers[peer]
            if all(v.startswith("n/a") for v in row["status"].values()):
                continue  # e.g. pyhf on unbinned models
            multiple = row.get("nll_floor_multiple")
            t.add_row(
                model if first else "",
                peer,
                str(row.get("n_params", "")),
                *(_cell(row, m) for m in metrics),
                *([] if not floor else ["-" if multiple is None else f"{multiple:.0f}"]),
                end_section=False,
            )
            first = False
        t.rows[-1].end_section = True
    return t


def _ratio_target(
    rows: dict[str, dict[str, dict[str, Any]]],
    metric: str,
    limit: float,
    text: str,
    peer_metric: str | None = None,
) -> dict[str, Any]:
    """hs3jax's ``metric`` over pyhf-jax's ``peer_metric`` (default the same) per model."""
    peer_metric = peer_metric or metric
    per_model = {}
    bounds = []  # models where pyhf-jax timed out: the ratio is at most hs3jax / timeout
    for model, peers in rows.items():
        a, b = peers.get("hs3jax", {}).get(metric), peers.get("pyhf-jax", {}).get(peer_metric)
        timed_out = (
            peers.get("pyhf-jax", {}).get("timed_out_after_s", {}).get(METRICS[peer_metric][0])
        )
        if a and b:
            per_model[model] = a / b
        elif a and timed_out and peer_metric.endswith("first_s"):
            per_model[model] = a / timed_out
            bounds.append(model)
    if not per_model:
        return {"target": text, "pass": None, "detail": "not measured", "per_model": {}}
    worst = max(per_model, key=lambda m: per_model[m])
    n_ok = sum(v <= limit for v in per_model.values())
    return {
        "target": text,
        "limit": limit,
        "pass": n_ok == len(per_model),
        "per_model": per_model,
        "upper_bounds": bounds,
        "detail": f"{n_ok}/{len(per_model)} models pass; worst {worst}: {per_model[worst]:.2f}x"
        + (
            f" (pyhf-jax timed out on {', '.join(bounds)}: ratio <= hs3jax / timeout)"
            if bounds
            else ""
        ),
    }


def targets(
    rows: dict[str, dict[str, dict[str, Any]]], tagged: dict[str, str]
) -> list[dict[str, Any]]:
    """Issue 6's targets. ``tagged``: ``{"292": label, "largest": label}`` of the models they name."""
    out: list[dict[str, Any]] = []
    for tag, limit in (("292", 3.0), ("largest", 10.0)):
        label = tagged.get(tag)
        hs = rows.get(label or "", {}).get("hs3jax", {})
        c, cvg = hs.get("compile_s"), rows.get(label or "", {}).get("hs3jax", {}).get("status", {})
        text = f"compile < {limit:g} s on the {'292-parameter' if tag == '292' else '>= 1000-parameter'} model ({label})"
        if c is None:
            out.append(
                {
                    "target": text,
                    "pass": None,
                    "detail": f"not measured ({cvg.get('eval', 'not run')})",
                }
            )
        else:
            out.append(
                {
                    "target": text,
                    "limit": limit,
                    "value": c,
                    "pass": c < limit,
                    "detail": f"NLL {c:.2f} s",
                }
            )
    out.append(_ratio_target(rows, "vg_s", 0.5, "steady value-and-grad <= 0.5x pyhf-jax"))
    out.append(
        _ratio_target(rows, "fit_first_s", 0.3, "fit, first call included, <= 0.3x pyhf-jax")
    )
    out.append(
        _ratio_target(
            rows,
            "hypotest_first_s",
            0.2,
            "hypotest (q~mu, mu=1), first call included, <= 0.2x pyhf-jax",
        )
    )
    out.append(
        _ratio_target(
            rows,
            "limit_first_s",
            0.2,
            "upper limit (95% CL), first call included, <= 0.2x pyhf-jax",
        )
    )
    out.append(_ratio_target(rows, "batch_s", 0.5, "1000-point vmap batch <= 0.5x pyhf-jax"))
    for metric, first, limit, text in (
        ("fit_cached_s", "fit_first_s", 0.3, "fit"),
        ("hypotest_cached_s", "hypotest_first_s", 0.2, "hypotest"),
        ("limit_cached_s", "limit_first_s", 0.2, "upper limit"),
    ):
        t = _ratio_target(
            rows,
            metric,
            limit,
            f"(cache) {text}, first call of a second process with hs3jax's compilation cache, "
            f"<= {limit:g}x pyhf-jax's first call",
            peer_metric=first,
        )
        t["informational"] = True
        out.append(t)
    for metric, text in (
        ("hypotest_warm_s", "hypotest warm"),
        ("limit_warm_s", "upper limit warm"),
        ("fit_warm_s", "fit warm"),
    ):
        t = _ratio_target(rows, metric, 1.0, f"(informational) {text} vs pyhf-jax")
        t["informational"] = True
        out.append(t)
    label = tagged.get("largest")
    mem = rows.get(label or "", {}).get("hs3jax", {}).get("peak_mem_bytes")
    text = f"peak memory < 2 GB on the largest model ({label})"
    if mem is None:
        out.append({"target": text, "pass": None, "detail": "not measured"})
    else:
        out.append(
            {
                "target": text,
                "limit": 2e9,
                "value": mem,
                "pass": mem < 2e9,
                "detail": f"{mem / 1e9:.2f} GB (max over hs3jax's tasks)",
            }
        )
    return out

"""pyhf JSON (workspace schema 1.0.0) -> HS3 document data.

The result is an ordinary HS3 document (so it goes through the one parsing and compiling path):

* one ``histfactory_dist`` per channel, one ``binned`` dataset per observation and one
  likelihood pairing them;
* one analysis per measurement, with a ``<measurement>_parameters`` domain (bounds), a
  ``<measurement>_global_observables`` domain and a ``<measurement>_init`` parameter point
  (inits and ``fixed`` parameters as ``const``);
* shapesys uncertainties converted to relative ``vals`` (as ROOT reads them), staterror
  uncertainties moved to the samples' ``data.errors`` (as ROOT writes them), ``lumi`` written as
  a normfactor with a ``gaussian_dist`` constraint on the global observable ``nominalLumi``
  (as ROOT writes it);
* parameter names as pyhf names them (``name[i]`` for per-bin parameters), interpolation codes
  as pyhf's defaults (normsys code4 = ROOT 5, histosys code4p = ROOT 4);
* ``misc.hs3jax.conventions = "pyhf"``, so the few points where pyhf 0.7.6 and ROOT differ
  (docs/conventions.md) follow pyhf.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hs3jax.errors import DocumentError, UnknownTypeError, format_json_path

__all__ = ["PYHF_PARAMETER_ORDER", "is_pyhf", "pyhf_to_hs3"]

#: pyhf orders parameter sets by modifier type in this order (pyhf.modifiers.histfactory_set)
PYHF_PARAMETER_ORDER = (
    "histosys",
    "lumi",
    "normfactor",
    "normsys",
    "shapefactor",
    "shapesys",
    "staterror",
)
_KNOWN = frozenset(PYHF_PARAMETER_ORDER)
_SCALAR = frozenset({"histosys", "lumi", "normfactor", "normsys"})
_DEFAULTS: dict[str, tuple[float, tuple[float, float]]] = {
    "histosys": (0.0, (-5.0, 5.0)),
    "normsys": (0.0, (-5.0, 5.0)),
    "normfactor": (1.0, (0.0, 10.0)),
    "shapefactor": (1.0, (0.0, 10.0)),
    "shapesys": (1.0, (1e-10, 10.0)),
    "staterror": (1.0, (1e-10, 10.0)),
}


def is_pyhf(raw: Any) -> bool:
    """Whether JSON data looks like a pyhf workspace (channels + observations)."""
    return isinstance(raw, Mapping) and "channels" in raw and "distributions" not in raw


class _Err:
    def __init__(self, file: str | None) -> None:
        self.file = file

    def __call__(
        self, message: str, path: tuple[str | int, ...], expected: str, found: Any
    ) -> DocumentError:
        return DocumentError(message, file=self.file, path=path, expected=expected, found=found)


def _list(raw: Mapping[str, Any], key: str, path: tuple[str | int, ...], err: _Err) -> list[Any]:
    value = raw.get(key)
    if not isinstance(value, list):
        raise err(f"pyhf workspace needs a list {key!r}", (*path, key), "a list", value)
    return value


def _floats(
    value: Any, path: tuple[str | int, ...], err: _Err, n: int | None = None
) -> list[float]:
    if not isinstance(value, list) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in value
    ):
        raise err("not a list of numbers", path, "a list of numbers", value)
    if n is not None and len(value) != n:
        raise err(f"{len(value)} values where {n} are needed", path, f"{n} numbers", value)
    return [float(v) for v in value]


def pyhf_to_hs3(raw: Mapping[str, Any], file: str | None = None) -> dict[str, Any]:
    """Convert a pyhf workspace (JSON data) into HS3 document data with identical likelihood."""
    err = _Err(file)
    channels = _list(raw, "channels", (), err)
    observations = {
        o.get("name"): (i, o) for i, o in enumerate(_list(raw, "observations", (), err))
    }
    measurements = _list(raw, "measurements", (), err)

    distributions: list[dict[str, Any]] = []
    data: list[dict[str, Any]] = []
    # parameter set name -> (modifier type, n_parameters, per-bin fixed flags, first path)
    paramsets: dict[str, tuple[str, int, list[bool], tuple[str | int, ...]]] = {}
    lumi_names: set[str] = set()
    appearances: list[tuple[str, str, str, str]] = []

    for c_index, channel in enumerate(channels):
        cpath: tuple[str | int, ...] = ("channels", c_index)
        if not isinstance(channel, Mapping) or not isinstance(channel.get("name"), str):
            raise err("a channel needs a 'name'", cpath, "an object with 'name'", channel)
        cname = channel["name"]
        samples = _list(channel, "samples", cpath, err)
        if not samples:
            raise err(f"channel {cname!r} has no samples", (*cpath, "samples"), "samples", samples)
        nbins = len(samples[0].get("data", []) if isinstance(samples[0], Mapping) else [])
        hs3_samples = []
        for s_index, sample in enumerate(samples):
            spath = (*cpath, "samples", s_index)
            if not isinstance(sample, Mapping) or not isinstance(sample.get("name"), str):
                raise err("a sample needs a 'name'", spath, "an object with 'name'", sample)
            contents = _floats(sample.get("data"), (*spath, "data"), err, nbins)
            modifiers = []
            errors: list[float] | None = None
            for m_index, mod in enumerate(_list(sample, "modifiers", spath, err)):
                mpath = (*spath, "modifiers", m_index)
                hs3_mod, errs, fixed = _modifier(mod, contents, nbins, mpath, err)
                modifiers.append(hs3_mod)
                if errs is not None:
                    errors = errs
                mtype = mod["type"]
                name = mod["name"]
                n = 1 if mtype in _SCALAR else nbins
                _register_paramset(paramsets, name, mtype, n, fixed, mpath, err)
                appearances.append((cname, sample["name"], name, mtype))
                if mtype == "lumi":
                    lumi_names.add(name)
            sample_data: dict[str, Any] = {"contents": contents}
            if errors is not None:
                sample_data["errors"] = errors
            hs3_samples.append(
                {"name": sample["name"], "data": sample_data, "modifiers": modifiers}
            )
        axis = {"name": f"obs_x_{cname}", "min": 0.0, "max": float(nbins), "nbins": nbins}
        distributions.append(
            {"name": cname, "type": "histfactory_dist", "axes": [axis], "samples": hs3_samples}
        )
        if cname not in observations:
            raise err(
                f"no observation for channel {cname!r}",
                ("observations",),
                f"an entry named {cname!r}",
                sorted(str(k) for k in observations),
            )
        o_index, obs = observations[cname]
        counts = _floats(obs.get("data"), ("observations", o_index, "data"), err, nbins)
        data.append(
            {"name": f"obsData_{cname}", "type": "binned", "axes": [axis], "contents": counts}
        )

    likelihood = {
        "name": "main",
        "distributions": [d["name"] for d in distributions],
        "data": [d["name"] for d in data],
    }
    analyses, domains, points, lumi_constraints = _measurements(
        measurements, paramsets, lumi_names, err
    )
    distributions.extend(lumi_constraints)
    if lumi_constraints:
        likelihood["aux_distributions"] = [c["name"] for c in lumi_constraints]
    order = _parameter_order(paramsets, appearances)
    misc = {"hs3jax": {"conventions": "pyhf", "parameter_order": order}}
    return {
        "metadata": {
            "hs3_version": "0.2",
            "packages": [{"name": "pyhf", "version": str(raw.get("version", "1.0.0"))}],
        },
        "distributions": distributions,
        "data": data,
        "likelihoods": [likelihood],
        "analyses": analyses,
        "domains": domains,
        "parameter_points": points,
        "misc": misc,
    }


def _expand(name: str, mtype: str, n: int) -> list[str]:
    return [name] if mtype in _SCALAR else [f"{name}[{i}]" for i in range(n)]


_NORMAL_SCALAR = frozenset({"normsys", "histosys"})


def _register_paramset(
    paramsets: dict[str, tuple[str, int, list[bool], tuple[str | int, ...]]],
    name: str,
    mtype: str,
    n: int,
    fixed: list[bool],
    path: tuple[str | int, ...],
    err: _Err,
) -> None:
    """Record a parameter set; pyhf shares one set between normsys and histosys of one name."""
    if name not in paramsets:
        paramsets[name] = (mtype, n, fixed, path)
        return
    mtype0, n0, fixed0, path0 = paramsets[name]
    if mtype0 != mtype and not {mtype0, mtype} <= _NORMAL_SCALAR:
        raise err(
            f"parameter {name!r} is used by modifiers of types {mtype0!r} and {mtype!r}",
            (*path, "type"),
            f"{mtype0!r} as at {format_json_path(path0)}, or another parameter name",
            mtype,
        )
    if n0 != n:
        raise err(
            f"per-bin parameter {name!r} is shared by channels of different numbers of bins",
            path,
            f"{n0} bins",
            n,
        )
    merged = [a or b for a, b in zip(fixed0, fixed, strict=True)]
    # the set belongs to the type pyhf builds first (histfactory_set order)
    first = min(mtype0, mtype, key=PYHF_PARAMETER_ORDER.index)
    paramsets[name] = (first, n, merged, path0)


def _parameter_order(
    paramsets: Mapping[str, tuple[str, int, list[bool], tuple[str | int, ...]]],
    appearances: list[tuple[str, str, str, str]],
) -> list[str]:
    """pyhf 0.7.6's vector order.

    Parameter sets are grouped by modifier type in ``histfactory_set`` order; within a type, in
    the order pyhf's builders first meet them walking sorted channels, sorted sample names and
    sorted (modifier name, type) pairs; staterror sets are sorted by name (pyhf registers them
    when it finalises its builder, keyed in that order).
    """
    present = {(c, s, m, t) for c, s, m, t in appearances}
    channels = sorted({c for c, *_ in appearances})
    samples = sorted({s for _, s, *_ in appearances})
    modifiers = sorted({(m, t) for *_, m, t in appearances})
    seen: dict[str, list[str]] = {t: [] for t in PYHF_PARAMETER_ORDER}
    for t in ("staterror",):
        seen[t] = sorted({m for m, tt in modifiers if tt == t})
    for c in channels:
        for s in samples:
            for m, t in modifiers:
                if t == "staterror" or (c, s, m, t) not in present:
                    continue
                if m not in seen[t]:
                    seen[t].append(m)
    order: list[str] = []
    placed: set[str] = set()
    for mtype in PYHF_PARAMETER_ORDER:
        for name in seen[mtype]:
            if name not in placed:
                placed.add(name)
                order.extend(_expand(name, paramsets[name][0], paramsets[name][1]))
    return order


def _modifier(
    mod: Any, contents: list[float], nbins: int, path: tuple[str | int, ...], err: _Err
) -> tuple[dict[str, Any], list[float] | None, list[bool]]:
    """One pyhf modifier -> (HS3 modifier, staterror errors or None, per-bin fixed flags)."""
    if not isinstance(mod, Mapping):
        raise err("a modifier must be an object", path, "an object with name, type, data", mod)
    mtype = mod.get("type")
    name = mod.get("name")
    if mtype not in _KNOWN:
        raise UnknownTypeError(
            f"unknown pyhf modifier type {mtype!r}",
            file=err.file,
            path=(*path, "type"),
            expected="a pyhf modifier type",
            found=mtype,
            known=_KNOWN,
        )
    if not isinstance(name, str):
        raise err("a modifier needs a 'name'", (*path, "name"), "a string", name)
    data = mod.get("data")
    dpath = (*path, "data")
    if mtype in ("normfactor", "lumi"):
        out: dict[str, Any] = {"name": name, "type": "normfactor", "parameter": name}
        if mtype == "lumi":
            out["constraint_name"] = f"{name}Constraint"
        return out, None, [False]
    if mtype == "normsys":
        if not isinstance(data, Mapping):
            raise err("normsys data must be {'hi': x, 'lo': y}", dpath, "an object", data)
        for key in ("hi", "lo"):
            if key not in data:
                raise err(
                    f"normsys {name!r} has no {key!r}", dpath, "keys 'hi' and 'lo'", dict(data)
                )
        hi_lo = {k: _number(data[k], (*dpath, k), err) for k in ("hi", "lo")}
        return (
            {"name": name, "type": "normsys", "parameter": name, "interpolation": 5, "data": hi_lo},
            None,
            [False],
        )
    if mtype == "histosys":
        if not isinstance(data, Mapping):
            raise err(
                "histosys data must be {'hi_data': [...], 'lo_data': [...]}",
                dpath,
                "an object",
                data,
            )
        hi = _floats(data.get("hi_data"), (*dpath, "hi_data"), err, nbins)
        lo = _floats(data.get("lo_data"), (*dpath, "lo_data"), err, nbins)
        return (
            {
                "name": name,
                "type": "histosys",
                "parameter": name,
                "interpolation": 4,
                "data": {"hi": {"contents": hi}, "lo": {"contents": lo}},
            },
            None,
            [False],
        )
    params = [f"{name}[{i}]" for i in range(nbins)]
    if mtype == "shapefactor":
        return {"name": name, "type": "shapefactor", "parameters": params}, None, [False] * nbins
    sigmas = _floats(data, dpath, err, nbins)
    if mtype == "shapesys":
        # pyhf: bins with a non-positive yield or uncertainty get tau = 1 and a fixed gamma
        valid = [c > 0 and s > 0 for c, s in zip(contents, sigmas, strict=True)]
        vals = [s / c if ok else 1.0 for c, s, ok in zip(contents, sigmas, valid, strict=True)]
        return (
            {
                "name": name,
                "type": "shapesys",
                "parameters": params,
                "constraint_type": "Poisson",
                "data": {"vals": vals},
            },
            None,
            [not ok for ok in valid],
        )
    # staterror: absolute uncertainties become the sample's data.errors
    return (
        {"name": name, "type": "staterror", "parameters": params, "constraint_type": "Gauss"},
        sigmas,
        [False] * nbins,
    )


def _number(value: Any, path: tuple[str | int, ...], err: _Err) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise err("not a number", path, "a number", value)
    return float(value)


def _measurements(
    measurements: list[Any],
    paramsets: Mapping[str, tuple[str, int, list[bool], tuple[str | int, ...]]],
    lumi_names: set[str],
    err: _Err,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    analyses: list[dict[str, Any]] = []
    domains: list[dict[str, Any]] = []
    points: list[dict[str, Any]] = []
    lumi_constraints: dict[str, dict[str, Any]] = {}
    if not measurements:
        raise err(
            "pyhf workspace needs at least one measurement", ("measurements",), "a measurement", []
        )
    for m_index, meas in enumerate(measurements):
        mpath: tuple[str | int, ...] = ("measurements", m_index)
        if not isinstance(meas, Mapping) or not isinstance(meas.get("name"), str):
            raise err("a measurement needs a 'name'", mpath, "an object with 'name'", meas)
        config = meas.get("config")
        if not isinstance(config, Mapping) or not isinstance(config.get("poi"), str):
            raise err(
                "a measurement needs 'config.poi'",
                (*mpath, "config", "poi"),
                "a parameter name",
                config,
            )
        user = {}
        for p_index, p in enumerate(config.get("parameters", [])):
            if not isinstance(p, Mapping) or not isinstance(p.get("name"), str):
                raise err(
                    "a parameter config needs a 'name'",
                    (*mpath, "config", "parameters", p_index),
                    "an object with 'name'",
                    p,
                )
            user[p["name"]] = (p, (*mpath, "config", "parameters", p_index))
        axes: list[dict[str, Any]] = []
        values: list[dict[str, Any]] = []
        globs: list[dict[str, Any]] = []
        for name, (mtype, n, fixed_bins, _) in paramsets.items():
            conf, cpath = user.get(name, ({}, mpath))
            names = _expand(name, mtype, n)
            if mtype == "lumi":
                aux = _vector(conf, "auxdata", cpath, err, 1)
                sigmas = _vector(conf, "sigmas", cpath, err, 1)
                if aux is None or sigmas is None:
                    raise err(
                        f"lumi parameter {name!r} needs 'auxdata' and 'sigmas' in the measurement config",
                        cpath,
                        "auxdata and sigmas",
                        dict(conf),
                    )
                inits = _vector(conf, "inits", cpath, err, 1) or aux
                bounds = _bounds(conf, cpath, err, 1) or [(0.0, 10.0 * aux[0])]
                lumi_constraints.setdefault(
                    name,
                    {
                        "name": f"{name}Constraint",
                        "type": "gaussian_dist",
                        "x": f"nominal_{name}",
                        "mean": name,
                        "sigma": sigmas[0],
                    },
                )
                globs.append({"name": f"nominal_{name}", "value": aux[0], "const": True})
            else:
                for key in ("auxdata", "sigmas", "factors"):
                    if key in conf:
                        raise err(
                            f"'{key}' overrides for {mtype} parameter {name!r} are not supported",
                            (*cpath, key),
                            "no override (pyhf's defaults)",
                            conf[key],
                        )
                default_init, default_bounds = _DEFAULTS[mtype]
                inits = _vector(conf, "inits", cpath, err, len(names)) or [default_init] * len(
                    names
                )
                bounds = _bounds(conf, cpath, err, len(names)) or [default_bounds] * len(names)
            fixed = bool(conf.get("fixed", False))
            for i, pname in enumerate(names):
                axes.append({"name": pname, "min": bounds[i][0], "max": bounds[i][1]})
                value: dict[str, Any] = {"name": pname, "value": inits[i]}
                if fixed or (i < len(fixed_bins) and fixed_bins[i] and mtype != "lumi"):
                    value["const"] = True
                values.append(value)
        for name in user:
            if name not in paramsets:
                # pyhf ignores configs of parameters the model does not have; so do we, loudly
                continue
        meas_name = meas["name"]
        domains.append({"name": f"{meas_name}_parameters", "type": "product_domain", "axes": axes})
        domain_names = [f"{meas_name}_parameters"]
        if globs:
            domains.append(
                {
                    "name": f"{meas_name}_global_observables",
                    "type": "product_domain",
                    "axes": [{"name": g["name"]} for g in globs],
                }
            )
            domain_names.append(f"{meas_name}_global_observables")
        points.append({"name": f"{meas_name}_init", "parameters": values + globs})
        analyses.append(
            {
                "name": meas_name,
                "likelihood": "main",
                "parameters_of_interest": [config["poi"]],
                "domains": domain_names,
                "init": f"{meas_name}_init",
            }
        )
    return analyses, domains, points, list(lumi_constraints.values())


def _vector(
    conf: Mapping[str, Any], key: str, path: tuple[str | int, ...], err: _Err, n: int
) -> list[float] | None:
    if key not in conf:
        return None
    return _floats(conf[key], (*path, key), err, n)


def _bounds(
    conf: Mapping[str, Any], path: tuple[str | int, ...], err: _Err, n: int
) -> list[tuple[float, float]] | None:
    if "bounds" not in conf:
        return None
    value = conf["bounds"]
    if not isinstance(value, list) or len(value) != n:
        raise err(f"'bounds' needs {n} [lo, hi] pairs", (*path, "bounds"), f"{n} pairs", value)
    out = []
    for i, pair in enumerate(value):
        lo, hi = _floats(pair, (*path, "bounds", i), err, 2)
        if hi < lo:
            raise err("bounds [lo, hi] with hi < lo", (*path, "bounds", i), "lo <= hi", pair)
        out.append((lo, hi))
    return out

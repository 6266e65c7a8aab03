"""HS3 document data -> pyhf JSON (workspace schema 1.0.0) with the same likelihood.

For HistFactory-only likelihoods: every distribution of the likelihood a ``histfactory_dist``,
other constraints only the Gaussians ROOT writes for lumi and normsys / histosys. The inverse of
:mod:`hs3jax.formats.pyhf`:

* relative shapesys ``vals`` -> absolute uncertainties (``vals * nominal``); a constant γ of a
  pyhf-origin document (pyhf's invalid bins) -> uncertainty 0, which pyhf fixes again;
* staterror: the samples' ``data.errors`` -> the modifier's data;
* a normfactor with a Gaussian ``constraint_name`` -> ``lumi`` with ``auxdata`` / ``sigmas``;
* bounds, inits and constant parameters of each analysis -> its measurement's parameter configs;
* analyses sharing the likelihood -> measurements; ``name[i]`` per-bin parameters -> the
  modifier ``name`` (ROOT's ``gamma_stat_<ch>_bin_<i>`` -> ``staterror_<ch>``).

What pyhf cannot express raises :class:`~hs3jax.errors.ModelError` naming the modifier: Poisson
staterror (ROOT's default), Gaussian shapesys, staterror with a ``relThreshold`` that makes bins
constant, interpolation codes other than normsys code4 (ROOT 5) / histosys code4p (ROOT 4),
constraints that are not the standard Gaussians, distributions other than ``histfactory_dist``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from hs3jax.errors import ModelError
from hs3jax.nodes.histfactory.dist import interpolation_code

__all__ = ["hs3_to_pyhf", "hs3_to_pyhf_with_names"]

_PER_BIN = re.compile(r"^(.*)\[(\d+)\]$")
_PYHF_DEFAULT_BOUNDS = {
    "normfactor": (0.0, 10.0),
    "shapefactor": (0.0, 10.0),
    "normsys": (-5.0, 5.0),
    "histosys": (-5.0, 5.0),
    "shapesys": (1e-10, 10.0),
    "staterror": (1e-10, 10.0),
}


def hs3_to_pyhf(data: Mapping[str, Any], analysis: str | None = None) -> dict[str, Any]:
    """pyhf workspace JSON of the likelihood of ``analysis`` (default: the first analysis)."""
    return hs3_to_pyhf_with_names(data, analysis)[0]


def hs3_to_pyhf_with_names(
    data: Mapping[str, Any], analysis: str | None = None
) -> tuple[dict[str, Any], dict[str, str]]:
    """pyhf workspace JSON and the map hs3 parameter name -> pyhf parameter name."""
    return _Converter(data, analysis).run()


def _fail(message: str) -> ModelError:
    return ModelError(f"cannot write this workspace as pyhf JSON: {message}")


class _Converter:
    def __init__(self, data: Mapping[str, Any], analysis: str | None) -> None:
        self.data = data
        own = (data.get("misc") or {}).get("hs3jax") or {}
        self.pyhf_origin = isinstance(own, Mapping) and own.get("conventions") == "pyhf"
        analyses = list(data.get("analyses") or [])
        likelihoods = {lik["name"]: lik for lik in data.get("likelihoods") or []}
        if analyses:
            first = analyses[0] if analysis is None else _named(analyses, analysis, "analysis")
            self.analyses = (
                [first]
                if analysis is not None
                else [a for a in analyses if a["likelihood"] == first["likelihood"]]
            )
            self.likelihood = likelihoods[first["likelihood"]]
        elif likelihoods:
            self.analyses = []
            self.likelihood = next(iter(likelihoods.values()))
        else:
            raise _fail("the document has no likelihood")
        self.dists = {d["name"]: d for d in data.get("distributions") or []}
        self.names: dict[str, str] = {}  # hs3 parameter -> pyhf name
        self.kinds: dict[str, tuple[str, int]] = {}  # pyhf parameter set -> (type, n)
        self.lumi: dict[str, dict[str, Any]] = {}  # pyhf lumi name -> constraint
        self.const_bins: dict[str, list[bool]] = {}

    # -- channels ------------------------------------------------------------------------------

    def run(self) -> tuple[dict[str, Any], dict[str, str]]:
        lik = self.likelihood
        data_by_name = {d["name"]: d for d in self.data.get("data") or []}
        _values, const, _ranges = self._parameter_table(self.analyses[0] if self.analyses else None)
        self.const = const
        channels, observations = [], []
        for dist_name, datum in zip(lik["distributions"], lik["data"], strict=True):
            dist = self.dists.get(dist_name)
            if dist is None or dist.get("type") != "histfactory_dist":
                kind = None if dist is None else dist.get("type")
                raise _fail(f"distribution {dist_name!r} is a {kind!r}, not a histfactory_dist")
            channel = self._channel(dist)
            channels.append(channel)
            d = data_by_name.get(datum) if isinstance(datum, str) else None
            if d is None or d.get("type") != "binned":
                raise _fail(f"channel {dist_name!r} needs binned data, found {datum!r}")
            observations.append({"name": channel["name"], "data": list(d["contents"])})
        for aux in lik.get("aux_distributions") or []:
            if aux not in {c["name"] for c in self.lumi.values()}:
                raise _fail(f"auxiliary distribution {aux!r} is not a lumi constraint")
        measurements = [self._measurement(a) for a in self.analyses] or [self._measurement(None)]
        spec = {
            "channels": channels,
            "observations": observations,
            "measurements": measurements,
            "version": "1.0.0",
        }
        return spec, dict(self.names)

    def _channel(self, dist: Mapping[str, Any]) -> dict[str, Any]:
        name = dist["name"] if self.pyhf_origin else str(dist["name"]).removeprefix("model_")
        block = dist.get("staterror") or {}
        samples = [self._sample(s, name, block) for s in dist["samples"]]
        return {"name": name, "samples": samples}

    def _sample(
        self, sample: Mapping[str, Any], channel: str, block: Mapping[str, Any]
    ) -> dict[str, Any]:
        contents = [float(x) for x in sample["data"]["contents"]]
        errors = sample["data"].get("errors")
        mods = [self._modifier(m, contents, errors, channel, block) for m in sample["modifiers"]]
        return {"name": sample["name"], "data": contents, "modifiers": mods}

    def _modifier(
        self,
        mod: Mapping[str, Any],
        contents: list[float],
        errors: list[float] | None,
        channel: str,
        block: Mapping[str, Any],
    ) -> dict[str, Any]:
        mtype = mod["type"]
        where = f"{mtype} {mod['name']!r} in channel {channel!r}"
        if mtype in ("normfactor", "lumi"):
            param = mod.get("parameter") or mod["name"]
            cname = mod.get("constraint_name")
            if cname is None and mtype == "normfactor":
                return self._scalar(param, "normfactor", {"type": "normfactor", "data": None})
            self._lumi(param, cname, where)
            # pyhf's schema names the lumi modifier "lumi"
            self.names[param] = "lumi"
            self.kinds["lumi"] = ("lumi", 1)
            return {"name": "lumi", "type": "lumi", "data": None}
        if mtype in ("normsys", "histosys"):
            param = mod.get("parameter") or f"alpha_{mod['name']}"
            setting = mod.get("interpolation", (mod.get("data") or {}).get("interpolation"))
            code = (
                interpolation_code(setting)
                if setting is not None
                else ("5" if mtype == "normsys" else "4")
            )
            if code != ("5" if mtype == "normsys" else "4"):
                raise _fail(
                    f"{where} uses interpolation {setting!r}; pyhf JSON has normsys code4 "
                    "(ROOT 5) and histosys code4p (ROOT 4) only"
                )
            self._check_alpha_constraint(mod.get("constraint_name"), param, where)
            d = mod["data"]
            body: dict[str, Any] = (
                {"hi": float(d["hi"]), "lo": float(d["lo"])}
                if mtype == "normsys"
                else {"hi_data": list(d["hi"]["contents"]), "lo_data": list(d["lo"]["contents"])}
            )
            # pyhf shares one parameter between a normsys and a histosys of one name
            kind = self.kinds.get(self.names.get(param, param), ("", 0))[0]
            ptype = "histosys" if "histosys" in (kind, mtype) else "normsys"
            return self._scalar(param, ptype, {"type": mtype, "data": body})
        if mtype == "shapefactor":
            params = list(mod["parameters"])
            name = self._per_bin(params, mod["name"], "shapefactor")
            return {"name": name, "type": "shapefactor", "data": None}
        if mtype == "shapesys":
            kind = str(mod.get("constraint_type") or mod.get("constraint") or "Poisson").lower()
            if kind != "poisson":
                raise _fail(f"{where} has a {kind} constraint; pyhf's shapesys is Poisson")
            params = list(
                mod.get("parameters")
                or [f"gamma_{mod['name']}_bin_{i}" for i in range(len(contents))]
            )
            name = self._per_bin(params, mod["name"], "shapesys")
            sigmas = []
            for p, rel, nom in zip(params, mod["data"]["vals"], contents, strict=True):
                if float(rel) <= 0:
                    raise _fail(f"{where}: vals 0 (an unconstrained gamma) has no pyhf form")
                fixed = self.pyhf_origin and self.const.get(p, False)
                sigmas.append(0.0 if fixed else float(rel) * nom)
            return {"name": name, "type": "shapesys", "data": sigmas}
        if mtype == "staterror":
            ctype = mod.get("constraint_type") or mod.get("constraint")
            if ctype is None:
                ctype = block.get("constraint_type")
            if not self.pyhf_origin and str(ctype or "Poisson").lower() not in (
                "gauss",
                "gaussian",
            ):
                raise _fail(
                    f"{where} has a {ctype or 'Poisson (ROOT default)'} constraint; pyhf's "
                    "staterror is Gaussian"
                )
            params = list(mod["parameters"])
            name = self._per_bin(params, f"staterror_{channel}", "staterror")
            errs = mod.get("data") if isinstance(mod.get("data"), list) else errors
            if errs is None:
                raise _fail(f"{where}: the sample has no data.errors")
            threshold = float(block.get("relThreshold") or 0.0)
            if threshold > 0 and not self.pyhf_origin:
                self._check_threshold(mod, threshold, where)
            return {"name": name, "type": "staterror", "data": [float(e) for e in errs]}
        raise _fail(f"unknown modifier type {mtype!r}")

    def _scalar(self, param: str, ptype: str, body: dict[str, Any]) -> dict[str, Any]:
        self.names[param] = param
        self.kinds[param] = (ptype, 1)
        return {"name": param, **body}

    def _per_bin(self, params: list[str], fallback: str, ptype: str) -> str:
        """pyhf name of a per-bin parameter set: ``base`` of ``base[i]`` names, else fallback."""
        matches = [_PER_BIN.match(p) for p in params]
        bases = {m.group(1) for m in matches if m}
        indices = [int(m.group(2)) for m in matches if m]
        name = bases.pop() if len(bases) == 1 and indices == list(range(len(params))) else fallback
        for i, p in enumerate(params):
            self.names[p] = f"{name}[{i}]"
        self.kinds[name] = (ptype, len(params))
        return name

    def _constraint(self, cname: str | None, where: str) -> Mapping[str, Any] | None:
        if cname is None:
            return None
        c: Mapping[str, Any] | None = self.dists.get(cname)
        if c is None:
            raise _fail(f"{where} names constraint {cname!r}, which is not in the document")
        if c.get("type") != "gaussian_dist":
            raise _fail(f"{where}: constraint {cname!r} is a {c.get('type')!r}, not Gaussian")
        return c

    def _lumi(self, param: str, cname: str | None, where: str) -> None:
        c = self._constraint(cname, where)
        if c is None:
            raise _fail(f"{where}: a lumi modifier needs a constraint")
        other = c["mean"] if c["x"] == param else c["x"]
        if param not in (c["x"], c["mean"]) or isinstance(c["sigma"], str):
            raise _fail(f"{where}: constraint {cname!r} is not Gauss(aux | {param}, sigma)")
        if self.lumi and param not in self.lumi:
            raise _fail(f"{where}: pyhf has one lumi parameter, this workspace has several")
        self.lumi[param] = {"name": cname, "aux": other, "sigma": float(c["sigma"])}

    def _check_alpha_constraint(self, cname: str | None, param: str, where: str) -> None:
        c = self._constraint(cname, where)
        if c is None:
            return
        if param not in (c["x"], c["mean"]) or float(c["sigma"]) != 1.0:
            raise _fail(f"{where}: constraint {cname!r} is not Gauss(0 | {param}, 1)")

    def _check_threshold(self, mod: Mapping[str, Any], threshold: float, where: str) -> None:
        # a bin below ROOT's relThreshold is constant in ROOT; pyhf has no such rule
        dist = next(
            d
            for d in self.dists.values()
            if d.get("type") == "histfactory_dist"
            and any(m is mod for s in d["samples"] for m in s["modifiers"])
        )
        nbins = len(mod["parameters"])
        num, den = [0.0] * nbins, [0.0] * nbins
        for s in dist["samples"]:
            if any(m["type"] == "staterror" and m["name"] == mod["name"] for m in s["modifiers"]):
                for i in range(nbins):
                    num[i] += float((s["data"].get("errors") or [0.0] * nbins)[i]) ** 2
                    den[i] += float(s["data"]["contents"][i])
        for i in range(nbins):
            if den[i] > 0 and math.sqrt(num[i]) / den[i] < threshold:
                raise _fail(
                    f"{where}: bin {i} is below relThreshold {threshold} (constant in ROOT)"
                )

    # -- measurements --------------------------------------------------------------------------

    def _parameter_table(
        self, analysis: Mapping[str, Any] | None
    ) -> tuple[dict[str, float], dict[str, bool], dict[str, tuple[float, float]]]:
        """Values, constness and bounds as hs3jax's compiler takes them from the document."""
        domains = {d["name"]: d for d in self.data.get("domains") or []}
        ranges: dict[str, tuple[float, float]] = {}
        chosen = [domains[n] for n in (analysis or {}).get("domains") or [] if n in domains]
        for dom in [*domains.values(), *chosen]:
            for axis in dom.get("axes", []):
                ranges[axis["name"]] = (
                    float(axis.get("min", -math.inf)),
                    float(axis.get("max", math.inf)),
                )
        points = {p["name"]: p for p in self.data.get("parameter_points") or []}
        order = []
        if analysis is not None and analysis.get("init") in points:
            order.append(points[analysis["init"]])
        if "default_values" in points:
            order.append(points["default_values"])
        order.extend(points.values())
        values: dict[str, float] = {}
        const: dict[str, bool] = {}
        for rank, point in enumerate(order):
            for p in point.get("parameters", []):
                values.setdefault(p["name"], float(p["value"]))
                if rank == 0 and p.get("const") is not None:
                    const.setdefault(p["name"], bool(p["const"]))
        attributes = ((self.data.get("misc") or {}).get("ROOT_internal") or {}).get(
            "attributes"
        ) or {}
        for name, attr in attributes.items():
            if "Constant" in (attr or {}).get("tags", []):
                const.setdefault(name, True)
        return values, const, ranges

    def _measurement(self, analysis: Mapping[str, Any] | None) -> dict[str, Any]:
        values, const, ranges = self._parameter_table(analysis)
        by_set: dict[str, list[str]] = {}
        for hs3_name, pyhf_name in self.names.items():
            match = _PER_BIN.match(pyhf_name)
            by_set.setdefault(match.group(1) if match else pyhf_name, []).append(hs3_name)
        configs = []
        for set_name, members in by_set.items():
            ptype, n = self.kinds[set_name]
            if n > 1 or _PER_BIN.match(self.names[members[0]]):
                members = sorted(members, key=lambda m: int(_PER_BIN.match(self.names[m]).group(2)))  # type: ignore[union-attr]
            conf: dict[str, Any] = {"name": set_name}
            bounds = [
                list(ranges.get(m, _PYHF_DEFAULT_BOUNDS.get(ptype, (-math.inf, math.inf))))
                for m in members
            ]
            conf["bounds"] = [[b[0], b[1]] for b in bounds]
            default_init = 0.0 if ptype in ("normsys", "histosys") else 1.0
            conf["inits"] = [values.get(m, default_init) for m in members]
            flags = [const.get(m, False) for m in members]
            if ptype == "shapesys" and self.pyhf_origin:
                flags = [False]  # pyhf fixes its invalid bins itself (uncertainty 0 above)
            if all(flags):
                conf["fixed"] = True
            elif any(flags) and ptype != "shapesys":
                fixed = [m for m, f in zip(members, flags, strict=True) if f]
                raise _fail(f"only some parameters of {set_name!r} are constant: {fixed}")
            if ptype == "lumi":
                lumi = self.lumi[members[0]]
                if const.get(lumi["aux"]) is False:
                    raise _fail(f"lumi global observable {lumi['aux']!r} is not constant")
                if lumi["aux"] not in values:
                    raise _fail(f"lumi global observable {lumi['aux']!r} has no value")
                conf["auxdata"] = [values[lumi["aux"]]]
                conf["sigmas"] = [lumi["sigma"]]
            if any(not math.isfinite(x) for b in conf["bounds"] for x in b):
                del conf["bounds"]
            configs.append(conf)
        pois = list((analysis or {}).get("parameters_of_interest") or [])
        normfactors = [s for s, (t, _) in self.kinds.items() if t == "normfactor"]
        poi = pois[0] if pois else (normfactors[0] if normfactors else "")
        name = (analysis or {}).get("name") or "measurement"
        return {"name": name, "config": {"poi": poi, "parameters": configs}}


def _named(items: list[dict[str, Any]], name: str, what: str) -> dict[str, Any]:
    for item in items:
        if item.get("name") == name:
            return item
    raise ModelError(f"no {what} named {name!r}; known: {[i.get('name') for i in items]}")

"""Writing HS3 JSON: lossless, and in the flavour ROOT 6.40 imports.

Two outputs:

* :func:`hs3_data` — the document as read, nothing lost (unknown keys, ``misc`` including
  ``misc.ROOT_internal``, metadata, the order of samples and modifiers), top-level sections in
  the HS3 order. ``load(dump(ws))`` gives the same document.
* :func:`root_data` — for documents read from pyhf JSON (``misc.hs3jax.conventions = "pyhf"``),
  HS3 that ROOT 6.40's ``RooJSONFactoryWSTool::importJSON`` builds into the same likelihood:

  - names ROOT accepts (``[A-Za-z_][A-Za-z0-9_]*``; ROOT refuses e.g. ``staterror_SR[0]``):
    ``name[i]`` becomes ``name_bin_i``, other invalid characters become ``_``; the map back is
    kept in ``misc.hs3jax.root_names`` and :func:`restore_names` (run by ``hs3jax.load``) undoes
    it, so hs3jax reading the file back sees pyhf's names;
  - staterror as Gaussian through the channel-level block ``"staterror": {"constraint_type":
    "Gauss", "relThreshold": 0}`` (ROOT ignores the modifier-level ``constraint_type``);
  - normsys / histosys with explicit ``gaussian_dist`` constraints named by ``constraint_name``
    on global observables ``nom_<parameter>``, lumi as a normfactor with ``constraint_name``
    (as ROOT writes them);
  - one analysis (ROOT holds one set of bounds per parameter): its bounds, inits and fixed
    parameters in the ``default_values`` parameter point and the ``default_domain`` /
    ``<analysis>_{nuisance_parameters,global_observables,parameters_of_interest}`` domains;
  - ``misc.ROOT_internal`` with the ``combined_distributions`` / ``combined_datasets`` /
    ``ModelConfigs`` entries ROOT's importer uses to build the ``RooSimultaneous``, the combined
    dataset and the ``ModelConfig``.

  Documents that already follow ROOT (read from HS3) are written as they are, with a
  ``default_domain`` added when missing (ROOT's importer requires one).
"""

from __future__ import annotations

import copy
import json
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from hs3jax.errors import ModelError

__all__ = [
    "HS3_ORDER",
    "hs3_data",
    "is_root_name",
    "restore_names",
    "root_data",
    "root_name",
    "write_json",
]

#: the order of the top-level sections written (unknown keys follow, in their own order)
HS3_ORDER = (
    "metadata",
    "distributions",
    "functions",
    "data",
    "likelihoods",
    "domains",
    "parameter_points",
    "analyses",
    "misc",
)
_VALID = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PER_BIN = re.compile(r"^(.*)\[(\d+)\]$")
_NOM_ALPHA_RANGE = (-10.0, 10.0)  # ROOT HistFactory's range of nom_alpha_* global observables


def hs3_data(data: Mapping[str, Any]) -> dict[str, Any]:
    """Document data with the top-level sections in the HS3 order (content unchanged)."""
    out = {key: data[key] for key in HS3_ORDER if key in data}
    out.update({key: value for key, value in data.items() if key not in out})
    return out


def write_json(data: Mapping[str, Any], path: str | os.PathLike[str], indent: int | None) -> None:
    """Write JSON data to ``path`` (UTF-8, trailing newline)."""
    Path(path).write_text(json.dumps(data, indent=indent) + "\n", encoding="utf-8")


# ----------------------------------------------------------------------------------------------
# names
# ----------------------------------------------------------------------------------------------


def is_root_name(name: str) -> bool:
    """Whether ROOT 6.40's JSON importer accepts ``name`` (it refuses ``a[0]``, ``a-b``, ``1a``)."""
    return bool(_VALID.match(name))


def root_name(name: str) -> str:
    """A name ROOT accepts: ``a[3]`` -> ``a_bin_3``, other invalid characters -> ``_``."""
    match = _PER_BIN.match(name)
    base, suffix = (match.group(1), f"_bin_{match.group(2)}") if match else (name, "")
    clean = re.sub(r"[^A-Za-z0-9_]", "_", base) + suffix
    return clean if clean and not clean[0].isdigit() else f"n_{clean}"


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def _rename(value: Any, names: Mapping[str, str]) -> Any:
    """Replace every string value equal to a key of ``names`` (keys of objects untouched)."""
    if isinstance(value, str):
        return names.get(value, value)
    if isinstance(value, Mapping):
        return {k: _rename(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_rename(v, names) for v in value]
    return value


def _name_map(names: list[str], taken: set[str]) -> dict[str, str]:
    """original -> ROOT name for the names ROOT refuses; new names collide with nothing."""
    out: dict[str, str] = {}
    used = set(taken)
    for name in names:
        if is_root_name(name) or name in out:
            continue
        candidate = root_name(name)
        stem, k = candidate, 1
        while candidate in used:
            candidate = f"{stem}_{k}"
            k += 1
        used.add(candidate)
        out[name] = candidate
    return out


def restore_names(data: Mapping[str, Any]) -> dict[str, Any]:
    """Undo :func:`root_data`'s renaming (``misc.hs3jax.root_names``: ROOT name -> original)."""
    misc = data.get("misc")
    own = misc.get("hs3jax") if isinstance(misc, Mapping) else None
    back = own.get("root_names") if isinstance(own, Mapping) else None
    if not isinstance(back, Mapping) or not back:
        return dict(data)
    out: dict[str, Any] = _rename(data, {str(k): str(v) for k, v in back.items()})
    del out["misc"]["hs3jax"]["root_names"]
    return out


# ----------------------------------------------------------------------------------------------
# ROOT flavour
# ----------------------------------------------------------------------------------------------


def _conventions(data: Mapping[str, Any]) -> str:
    own = (data.get("misc") or {}).get("hs3jax") or {}
    return str(own.get("conventions", "root")) if isinstance(own, Mapping) else "root"


def _pick(items: list[dict[str, Any]], name: str | None, what: str) -> dict[str, Any]:
    if not items:
        raise ModelError(f"the document has no {what}")
    if name is None:
        return items[0]
    for item in items:
        if item.get("name") == name:
            return item
    raise ModelError(f"no {what} named {name!r}; known: {[i.get('name') for i in items]}")


def root_data(data: Mapping[str, Any], analysis: str | None = None) -> dict[str, Any]:
    """HS3 data that ROOT 6.40 imports into the likelihood hs3jax computes from ``data``.

    ``analysis``: for a pyhf-origin document, the analysis (pyhf measurement) to write; default
    the first. Other documents are returned unchanged apart from a ``default_domain``.
    """
    doc = copy.deepcopy(dict(data))
    if _conventions(doc) != "pyhf":
        return hs3_data(_with_default_domain(doc))
    return hs3_data(_pyhf_for_root(doc, analysis))


def _with_default_domain(doc: dict[str, Any]) -> dict[str, Any]:
    domains = doc.get("domains") or []
    if not domains or any(d.get("name") == "default_domain" for d in domains):
        return doc
    axes: dict[str, dict[str, Any]] = {}
    for dom in domains:
        for axis in dom.get("axes", []):
            axes.setdefault(axis["name"], dict(axis))
    doc["domains"] = [
        *domains,
        {"name": "default_domain", "type": "product_domain", "axes": list(axes.values())},
    ]
    return doc


def _pyhf_for_root(doc: dict[str, Any], analysis_name: str | None) -> dict[str, Any]:
    analysis = _pick(doc.get("analyses") or [], analysis_name, "analysis")
    likelihood = _pick(doc.get("likelihoods") or [], analysis["likelihood"], "likelihood")
    dists = {d["name"]: d for d in doc.get("distributions", [])}
    channels = [dists[n] for n in likelihood["distributions"]]
    domains = {d["name"]: d for d in doc.get("domains", [])}
    points = {p["name"]: p for p in doc.get("parameter_points", [])}
    own = dict(doc["misc"]["hs3jax"])

    # parameters of the analysis: bounds, values, const; global observables
    axes: dict[str, dict[str, Any]] = {}
    globs: dict[str, dict[str, Any]] = {}
    for dom_name in analysis.get("domains") or []:
        for axis in domains[dom_name].get("axes", []):
            target = globs if "global_observables" in dom_name else axes
            target[axis["name"]] = dict(axis)
    values = {
        p["name"]: dict(p) for p in points.get(analysis.get("init") or "", {}).get("parameters", [])
    }
    used = _modifier_parameters(channels)
    pois = [p for p in analysis.get("parameters_of_interest") or [] if p in used]

    constraints: list[dict[str, Any]] = []
    for channel in channels:
        constraints.extend(_root_channel(channel, globs, values))
    lumi = [dists[n] for n in likelihood.get("aux_distributions") or [] if n in dists]

    parameters = [n for n in axes if n in used] + [n for n in used if n not in axes]
    point: list[dict[str, Any]] = []
    for name in parameters:
        entry: dict[str, Any] = {"name": name, "value": values.get(name, {}).get("value", 1.0)}
        if name in axes:
            entry.update({k: axes[name][k] for k in ("min", "max") if k in axes[name]})
        if values.get(name, {}).get("const"):
            entry["const"] = True
        point.append(entry)
    for name, axis in globs.items():
        if name in values:  # nom_gamma values are left to ROOT's importer (1 or tau)
            value = values[name]["value"]
            point.append({"name": name, "value": value, "const": True})
            axis.setdefault("min", min(value, 0.0))

    aname, lname = analysis["name"], likelihood["name"]
    nuisance = [
        {k: v for k, v in e.items() if k in ("name", "min", "max")}
        for e in point
        if e["name"] not in pois and e["name"] not in globs
    ]
    poi_axes = [
        {k: v for k, v in e.items() if k in ("name", "min", "max")}
        for e in point
        if e["name"] in pois
    ]
    glob_axes = list(globs.values())
    new_domains = [
        {"name": f"{aname}_nuisance_parameters", "type": "product_domain", "axes": nuisance},
        {"name": f"{aname}_global_observables", "type": "product_domain", "axes": glob_axes},
        {"name": f"{aname}_parameters_of_interest", "type": "product_domain", "axes": poi_axes},
        {
            "name": "default_domain",
            "type": "product_domain",
            "axes": [*poi_axes, *nuisance, *glob_axes],
        },
    ]
    labels = [c["name"] for c in channels]
    data_names = list(likelihood["data"])
    root_internal = {
        "ModelConfigs": {aname: {"mcName": "ModelConfig", "pdfName": "simPdf"}},
        "combined_distributions": {
            "simPdf": {
                "distributions": labels,
                "index_cat": "channelCat",
                "indices": list(range(len(labels))),
                "labels": labels,
            }
        },
        "combined_datasets": {
            "obsData": {
                "index_cat": "channelCat",
                "indices": list(range(len(labels))),
                "labels": labels,
            }
        },
    }
    new_likelihood = {"name": lname, "distributions": labels, "data": data_names}
    new_analysis = {
        "name": aname,
        "likelihood": lname,
        "parameters_of_interest": pois,
        "domains": [d["name"] for d in new_domains[:3]],
        "init": "default_values",
    }
    out: dict[str, Any] = {
        "metadata": doc.get("metadata", {"hs3_version": "0.2"}),
        "distributions": [*channels, *lumi, *constraints],
        "data": [d for d in doc.get("data", []) if d["name"] in data_names],
        "likelihoods": [new_likelihood],
        "domains": new_domains,
        "parameter_points": [{"name": "default_values", "parameters": point}],
        "analyses": [new_analysis],
    }
    own["global_observables"] = list(globs)
    misc = {k: v for k, v in doc["misc"].items() if k not in ("hs3jax", "ROOT_internal")}
    out["misc"] = {**misc, "ROOT_internal": root_internal, "hs3jax": own}

    # rename what ROOT refuses; the map back goes into misc.hs3jax.root_names
    names = [*labels, *data_names, aname, lname, *parameters, *globs]
    names += [s["name"] for c in channels for s in c["samples"]]
    names += [m["name"] for c in channels for s in c["samples"] for m in s["modifiers"]]
    names += [c["name"] for c in constraints + lumi]
    forward = _name_map(names, set(_strings(out)))
    renamed: dict[str, Any] = _rename(out, forward)
    # ROOT evaluates a channel as binned only with the BinnedLikelihood tag on its RooRealSumPdf
    # (named <channel>_model, a "model_" prefix dropped), and takes global observables from the
    # Constant tags
    attributes: dict[str, Any] = {
        f"{label.removeprefix('model_')}_model": {"tags": ["BinnedLikelihood", "GenerateBinned"]}
        for label in renamed["likelihoods"][0]["distributions"]
    }
    attributes.update(
        {name: {"tags": ["Constant"]} for name in renamed["misc"]["hs3jax"]["global_observables"]}
    )
    renamed["misc"]["ROOT_internal"]["attributes"] = attributes
    if forward:
        renamed["misc"]["hs3jax"]["root_names"] = {v: k for k, v in forward.items()}
    return renamed


def _modifier_parameters(channels: list[dict[str, Any]]) -> list[str]:
    """Every parameter the channels' modifiers use, in order of appearance."""
    seen: dict[str, None] = {}
    for channel in channels:
        for sample in channel["samples"]:
            for mod in sample["modifiers"]:
                if "parameters" in mod:
                    seen.update(dict.fromkeys(mod["parameters"]))
                else:
                    seen[mod.get("parameter", mod["name"])] = None
    return list(seen)


def _root_channel(
    channel: dict[str, Any],
    globs: dict[str, dict[str, Any]],
    values: dict[str, dict[str, Any]],
) -> list[dict[str, Any]]:
    """Add ROOT's spellings to one channel in place; return the constraints it needs."""
    constraints: list[dict[str, Any]] = []
    has_staterror = False
    for sample in channel["samples"]:
        for mod in sample["modifiers"]:
            if mod["type"] in ("normsys", "histosys"):
                param = mod.get("parameter", mod["name"])
                cname = f"{param}Constraint"
                mod["constraint_name"] = cname
                nom = f"nom_{param}"
                if nom not in globs:
                    _global(globs, values, nom, 0.0, _NOM_ALPHA_RANGE)
                    constraints.append(
                        {
                            "name": cname,
                            "type": "gaussian_dist",
                            "x": param,
                            "mean": nom,
                            "sigma": 1.0,
                        }
                    )
            elif mod["type"] == "staterror":
                has_staterror = True
                mod["constraint_type"] = "Gauss"
                for gamma in mod["parameters"]:
                    # ROOT: Gauss(nom | gamma, sigma), nom = 1 in [0, 10]
                    _global(globs, values, f"nom_{gamma}", 1.0, (0.0, 10.0))
            elif mod["type"] == "shapesys":
                mod.setdefault("constraint_type", "Poisson")
                for gamma, rel in zip(mod["parameters"], mod["data"]["vals"], strict=True):
                    # ROOT: Poisson(nom | gamma tau), nom = tau = 1 / rel^2 (ROOT's importer
                    # leaves an existing global observable's value alone)
                    tau = 1.0 / (rel * rel) if rel > 0 else 1.0
                    _global(globs, values, f"nom_{gamma}", tau, (0.0, None))
    if has_staterror:
        # ROOT 6.40 takes the staterror constraint type from this block only
        channel["staterror"] = {"constraint_type": "Gauss", "relThreshold": 0.0}
    return constraints


def _global(
    globs: dict[str, dict[str, Any]],
    values: dict[str, dict[str, Any]],
    name: str,
    value: float,
    bounds: tuple[float, float | None],
) -> None:
    """Declare a constant global observable (domain axis and value), once."""
    if name in globs:
        return
    axis: dict[str, Any] = {"name": name, "min": bounds[0]}
    if bounds[1] is not None:
        axis["max"] = bounds[1]
    globs[name] = axis
    values[name] = {"name": name, "value": value, "const": True}

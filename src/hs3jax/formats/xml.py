"""HistFactory XML + ROOT histogram files -> pyhf JSON data -> the HS3 document.

Reads what ``hist2workspace`` reads (the top-level ``Combination`` file naming a ``Measurement``
and one channel file per ``Input``) with :mod:`xml.etree` and the histograms with ``uproot``
(an optional dependency: ``pip install uproot``), with the meaning ``pyhf xml2json`` gives it:

* ``NormalizeByTheory="True"`` adds a ``lumi`` modifier, constrained by the measurement's
  ``Lumi`` / ``LumiRelErr`` (bounds ±5σ);
* ``OverallSys`` -> normsys, ``HistoSys`` -> histosys, ``NormFactor`` -> normfactor (its
  ``Val``/``Low``/``High``/``Const`` -> init, bounds, fixed), ``ShapeFactor`` -> shapefactor;
* ``ShapeSys`` histograms hold relative uncertainties (multiplied by the nominal yields);
* ``StatError Activate="True"``: the sample histogram's bin errors, or a relative-error
  histogram; one ``staterror_<channel>`` per channel;
* ``ParamSetting Const="True"`` / ``Val`` -> fixed / init (``alpha_X`` names parameter ``X``).

pyhf's semantics also decide the two points pyhf reads differently from ROOT: ``StatErrorConfig``
and a ``ShapeSys`` ``ConstraintType`` other than Poisson are not read (pyhf: Gaussian staterror,
Poisson shapesys). The result goes through :func:`hs3jax.formats.pyhf.pyhf_to_hs3`, so all three
input formats meet in one document.
"""

from __future__ import annotations

import math
import os
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hs3jax.errors import FormatError

__all__ = ["is_xml", "read_xml"]

Histogram = tuple[list[float], list[float]]


def is_xml(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` names an XML file (by suffix)."""
    return str(path).lower().endswith(".xml")


def read_xml(
    path: str | os.PathLike[str], rootdir: str | os.PathLike[str] | None = None
) -> dict[str, Any]:
    """pyhf JSON data of a HistFactory XML configuration.

    ``rootdir``: the directory file names in the XML are relative to (default: the current
    directory if the files are found there, else the parent of the top-level file's directory,
    as ``hist2workspace`` and pyhf's writer lay them out).
    """
    top_path = Path(path)
    try:
        top = ET.parse(top_path).getroot()
    except (OSError, ET.ParseError) as exc:
        raise FormatError(
            f"cannot read HistFactory XML: {exc}", file=str(top_path), show_found=False
        ) from None
    inputs = [x.text.strip() for x in top.findall("Input") if x.text and x.text.strip()]
    base = _base_dir(top_path, inputs, rootdir)
    histograms = _HistogramReader(base)
    channels, observations, configs = [], [], []
    for inp in inputs:
        cfile = base / inp
        channel = ET.parse(cfile).getroot()
        name, counts, samples, params = _channel(channel, histograms, str(cfile))
        channels.append({"name": name, "samples": samples})
        observations.append({"name": name, "data": counts})
        configs.extend(params)
    measurements = [_measurement(m, configs, str(top_path)) for m in top.findall("Measurement")]
    if not measurements:
        raise FormatError(
            "no <Measurement> in the top-level XML",
            file=str(top_path),
            expected="a <Measurement Name=... Lumi=... LumiRelErr=...> with a <POI>",
            show_found=False,
        )
    return {
        "channels": channels,
        "observations": observations,
        "measurements": measurements,
        "version": "1.0.0",
    }


def _base_dir(top: Path, inputs: list[str], rootdir: str | os.PathLike[str] | None) -> Path:
    if rootdir is not None:
        return Path(rootdir)
    for candidate in (Path.cwd(), top.parent.parent, top.parent):
        if inputs and all((candidate / i).exists() for i in inputs):
            return candidate
    return top.parent.parent


class _HistogramReader:
    """Bin contents and errors of ROOT histograms, through uproot (files opened once)."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.files: dict[Path, Any] = {}

    def __call__(self, file: str, path: str, name: str) -> Histogram:
        try:
            import uproot
        except ImportError:  # pragma: no cover - depends on the environment
            raise FormatError(
                "reading HistFactory XML needs uproot (pip install uproot)", show_found=False
            ) from None
        full = self.base / file
        if full not in self.files:
            try:
                self.files[full] = uproot.open(full)
            except OSError as exc:
                raise FormatError(
                    f"cannot open ROOT file: {exc}", file=str(full), show_found=False
                ) from None
        f = self.files[full]
        keys = set(f.keys(cycle=False))
        for key in (name, "/".join([path.strip("/"), name]).strip("/")):
            if key in keys:
                hist = f[key]
                contents = [float(x) for x in hist.values(flow=False)]
                variances = hist.variances(flow=False) if hist.weighted else hist.values()
                return contents, [math.sqrt(float(v)) for v in variances]
        raise FormatError(
            f"histogram {name!r} (path {path!r}) not found",
            file=str(full),
            expected="a histogram in the file",
            known=sorted(keys)[:20],
            show_found=False,
        )


def _channel(
    el: ET.Element, hist: Callable[[str, str, str], Histogram], file: str
) -> tuple[str, list[float], list[dict[str, Any]], list[dict[str, Any]]]:
    name = el.attrib["Name"]
    inputfile = el.attrib.get("InputFile", "")
    histopath = el.attrib.get("HistoPath", "")
    data = el.find("Data")
    if data is None:
        raise FormatError(
            f"channel {name!r} has no <Data>",
            file=file,
            expected="<Data HistoName=...>",
            show_found=False,
        )
    counts, _ = hist(
        data.attrib.get("InputFile", inputfile),
        data.attrib.get("HistoPath", histopath),
        data.attrib["HistoName"],
    )
    samples, configs = [], []
    for s in el.findall("Sample"):
        sample, params = _sample(s, hist, inputfile, histopath, name)
        samples.append(sample)
        configs.extend(params)
    return name, counts, samples, configs


def _sample(
    el: ET.Element,
    hist: Callable[[str, str, str], Histogram],
    inputfile: str,
    histopath: str,
    channel: str,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    inputfile = el.attrib.get("InputFile", inputfile)
    histopath = el.attrib.get("HistoPath", histopath)
    nominal, errors = hist(inputfile, histopath, el.attrib["HistoName"])
    mods: list[dict[str, Any]] = []
    configs: list[dict[str, Any]] = []
    if el.attrib.get("NormalizeByTheory", "False") == "True":
        mods.append({"name": "lumi", "type": "lumi", "data": None})
    for m in el:
        a = m.attrib
        if m.tag == "OverallSys":
            mods.append(
                {
                    "name": a["Name"],
                    "type": "normsys",
                    "data": {"hi": float(a["High"]), "lo": float(a["Low"])},
                }
            )
        elif m.tag == "NormFactor":
            mods.append({"name": a["Name"], "type": "normfactor", "data": None})
            conf: dict[str, Any] = {
                "name": a["Name"],
                "bounds": [[float(a["Low"]), float(a["High"])]],
                "inits": [float(a["Val"])],
            }
            if a.get("Const"):
                conf["fixed"] = a["Const"] == "True"
            configs.append(conf)
        elif m.tag == "HistoSys":
            lo, _ = hist(
                a.get("HistoFileLow", inputfile), a.get("HistoPathLow", ""), a["HistoNameLow"]
            )
            hi, _ = hist(
                a.get("HistoFileHigh", inputfile), a.get("HistoPathHigh", ""), a["HistoNameHigh"]
            )
            mods.append(
                {"name": a["Name"], "type": "histosys", "data": {"hi_data": hi, "lo_data": lo}}
            )
        elif m.tag == "StatError" and a.get("Activate") == "True":
            if a.get("HistoName", ""):
                rel, _ = hist(a.get("HistoFile", inputfile), a.get("HistoPath", ""), a["HistoName"])
                stat = [r * n for r, n in zip(rel, nominal, strict=True)]
            else:
                stat = errors
            mods.append({"name": f"staterror_{channel}", "type": "staterror", "data": stat})
        elif m.tag == "ShapeSys":
            rel, _ = hist(a.get("InputFile", inputfile), a.get("HistoPath", ""), a["HistoName"])
            mods.append(
                {
                    "name": a["Name"],
                    "type": "shapesys",
                    "data": [r * n for r, n in zip(rel, nominal, strict=True)],
                }
            )
        elif m.tag == "ShapeFactor":
            mods.append({"name": a["Name"], "type": "shapefactor", "data": None})
    return {"name": el.attrib["Name"], "data": nominal, "modifiers": mods}, configs


def _parameter_name(root_name: str, file: str) -> str:
    """pyhf's name for a ROOT parameter name in a ParamSetting (``alpha_X`` -> ``X``)."""
    if root_name == "Lumi":
        return "lumi"
    if root_name.startswith("gamma_"):
        raise FormatError(
            f"ParamSetting of per-bin parameter {root_name!r}: pyhf JSON cannot fix single gammas",
            file=file,
            show_found=False,
        )
    return root_name.removeprefix("alpha_")


def _measurement(el: ET.Element, configs: list[dict[str, Any]], file: str) -> dict[str, Any]:
    lumi = float(el.attrib.get("Lumi", "1"))
    sigma = lumi * float(el.attrib.get("LumiRelErr", "0"))
    poi = el.find("POI")
    if poi is None or not (poi.text or "").strip():
        raise FormatError(
            f"measurement {el.attrib.get('Name')!r} has no <POI>", file=file, show_found=False
        )
    params: dict[str, dict[str, Any]] = {
        "lumi": {
            "name": "lumi",
            "auxdata": [lumi],
            "bounds": [[lumi - 5.0 * sigma, lumi + 5.0 * sigma]],
            "inits": [lumi],
            "sigmas": [sigma],
        }
    }
    for conf in configs:
        if conf["name"] in params and params[conf["name"]] != conf:
            raise FormatError(
                f"incompatible NormFactor settings for {conf['name']!r} in different samples",
                file=file,
                expected=str(params[conf["name"]]),
                found=conf,
            )
        params[conf["name"]] = dict(conf)
    for setting in el.findall("ParamSetting"):
        update: dict[str, Any] = {}
        if setting.attrib.get("Const"):
            update["fixed"] = setting.attrib["Const"] == "True"
        if setting.attrib.get("Val"):
            update["inits"] = [float(setting.attrib["Val"])]
        for root_name in (setting.text or "").split():
            name = _parameter_name(root_name, file)
            params.setdefault(name, {"name": name}).update(update)
    return {
        "name": el.attrib["Name"],
        "config": {"poi": (poi.text or "").strip(), "parameters": list(params.values())},
    }

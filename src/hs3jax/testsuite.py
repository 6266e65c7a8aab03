"""hs3jax as a backend of the HS3TestSuite (hep-statistics-serialization-standard/HS3TestSuiteCode).

The suite loads a backend class by name (``--backend hs3jax.testsuite`` or
``hs3jax.testsuite:HS3TestSuiteBackend``) and calls the methods of its backend contract
(``docs/reference-backend-contract.md`` and ``README.md`` there): ``name``,
``load_workspace``, ``structure``, ``run_structure_check``, ``run_twice_delta_nll_scan``,
``run_pdf_scan``, ``run_function_scan`` and the optional ``upconvert``. Everything here uses
hs3jax's public API (:func:`hs3jax.load`, :meth:`~hs3jax.Workspace.model`,
:meth:`~hs3jax.Model.nll`, :meth:`~hs3jax.Model.pdf`); the suite itself is never imported.

Check semantics, as the suite defines them:

- ``twice_delta_nll_scan``: apply ``reference_point``, then at each scan point overwrite the
  ``scan_parameters`` and return 2·(NLL(point) − NLL(reference)). The target is a
  ``likelihood`` of the file, or a ``pdf`` and ``data`` pair (built as a one-term likelihood).
- ``pdf_scan``: the density of ``target.pdf`` normalised over ``target.observables`` (over their
  ranges: data axes, else domains), at ``reference_point`` overwritten by each scan point;
  scanned names that are observables give the evaluation point.
- ``function_scan``: the plain value of ``target.function``.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

import hs3jax
import hs3jax.nodes.hs3_functions
import hs3jax.nodes.hs3_text
from hs3jax.model import Model
from hs3jax.workspace import Workspace

__all__ = ["HS3JaxBackend", "HS3TestSuiteBackend"]

_PROBE = "hs3suite_probe"


class HS3JaxBackend:
    """The HS3TestSuite backend contract implemented with hs3jax."""

    name = "hs3jax"

    # -- loading and structure ------------------------------------------------------------
    def load_workspace(self, path: str | Path) -> Workspace:
        """Read the HS3 file at ``path``."""
        return hs3jax.load(Path(path))

    def structure(self, workspace: Workspace) -> dict[str, list[str]]:
        """Sorted names of the distributions (``pdfs``), functions and datasets."""
        return {
            "pdfs": sorted(d.name for d in workspace.distributions),
            "functions": sorted(f.name for f in workspace.functions),
            "data": sorted(d.name for d in workspace.data),
        }

    def run_structure_check(self, workspace: Workspace, check: Mapping[str, Any]) -> None:
        """Raise AssertionError if a name the check requires is missing."""
        actual = self.structure(workspace)
        target = check.get("target", {})
        for key in ("pdfs", "functions", "data"):
            missing = set(target.get(key, [])) - set(actual[key])
            if missing:
                raise AssertionError(f"missing {key}: {sorted(missing)}")

    # -- numeric checks -------------------------------------------------------------------
    def run_twice_delta_nll_scan(
        self, workspace: Workspace, check: Mapping[str, Any], hs3_path: str | Path | None = None
    ) -> list[float]:
        """2·ΔNLL at each scan point relative to the reference point."""
        model = self._likelihood_model(workspace, check["target"])
        reference = dict(check.get("reference_point", {}))
        base = float(model.nll(_known(model, reference)))
        out = []
        for values in _points(check):
            out.append(2.0 * (float(model.nll(_known(model, values))) - base))
        return out

    def run_pdf_scan(
        self, workspace: Workspace, check: Mapping[str, Any], hs3_path: str | Path | None = None
    ) -> list[float]:
        """Normalised density of ``target.pdf`` over ``target.observables`` at each point."""
        target = check["target"]
        pdf = str(target["pdf"])
        observables = [str(o) for o in target["observables"]]
        model = self._probe_model(workspace, observables)
        out = []
        for values in _points(check):
            missing = [o for o in observables if o not in values]
            if missing:
                raise AssertionError(f"no value for observables {missing} at a pdf_scan point")
            point = {o: np.asarray([float(values[o])]) for o in observables}
            pars = _known(model, {k: v for k, v in values.items() if k not in observables})
            out.append(float(np.asarray(model.pdf(pdf, point, pars))[0]))
        return out

    def run_function_scan(
        self, workspace: Workspace, check: Mapping[str, Any], hs3_path: str | Path | None = None
    ) -> list[float]:
        """The value of ``target.function`` at each point."""
        function = str(check["target"]["function"])
        model = self._probe_model(workspace, [], function=function)
        out = []
        for values in _points(check):
            # a log_density_function_dist with no bound observable is its function, unchanged
            value = model.log_density(_PROBE, {}, _known(model, values))
            out.append(float(np.asarray(value)))
        return out

    # -- upconversion ---------------------------------------------------------------------
    def upconvert(
        self, input_path: str | Path, output_path: str | Path, verbose: bool = False
    ) -> None:
        """Read an HS3 (or pyhf) file and write it back as HS3 (hs3jax's lossless writer)."""
        ws = hs3jax.load(Path(input_path))
        hs3jax.dump(ws, Path(output_path))
        if verbose:
            print(f"hs3jax: {input_path} -> {output_path}")

    # -- helpers --------------------------------------------------------------------------
    def _likelihood_model(self, workspace: Workspace, target: Mapping[str, Any]) -> Model:
        if "likelihood" in target:
            return workspace.model(str(target["likelihood"]))
        raw = workspace.to_dict()
        name = f"hs3suite_{target['pdf']}_{target['data']}"
        raw["likelihoods"] = [
            *raw.get("likelihoods", []),
            {"name": name, "distributions": [target["pdf"]], "data": [target["data"]]},
        ]
        raw.pop("analyses", None)
        return hs3jax.load(raw).model(name)

    def _probe_model(
        self, workspace: Workspace, observables: Sequence[str], function: str | None = None
    ) -> Model:
        """A model of the whole document whose parameters include every name it refers to.

        ``model.pdf`` evaluates any distribution of the document; the probe likelihood (unit
        Gaussian terms on every referenced name that is not an observable of the scan) makes
        each of them a model parameter. For a function scan a ``log_density_function_dist`` of
        the function is added: with no observable bound its log-density is the function value.
        """
        raw = copy.deepcopy(workspace.to_dict())
        names = _referenced(raw)
        params = sorted(n for n in names if n not in set(observables))
        dists = list(raw.get("distributions", []))
        if function is not None:
            dists.append(
                {"name": _PROBE, "type": "log_density_function_dist", "function": function}
            )
        aux = []
        for i, p in enumerate(params):
            aux_name = f"{_PROBE}_aux_{i}"
            dists.append(
                {"name": aux_name, "type": "gaussian_dist", "x": p, "mean": 0.0, "sigma": 1.0}
            )
            aux.append(aux_name)
        raw["distributions"] = dists
        raw["likelihoods"] = [
            {"name": _PROBE, "distributions": [], "data": [], "aux_distributions": aux}
        ]
        raw.pop("analyses", None)
        domains = raw.get("domains", [])
        raw["domains"] = [d for d in domains if "global_observables" not in d.get("name", "")]
        return hs3jax.load(raw).model(_PROBE)


def _referenced(raw: Mapping[str, Any]) -> set[str]:
    """Every name the nodes of a document refer to that is not itself a node."""
    ws = hs3jax.load(dict(raw))
    nodes = {n.name for n in (*ws.distributions, *ws.functions)}
    out: set[str] = set()
    for node in (*ws.distributions, *ws.functions):
        out.update(ref.name for ref in node.references() if ref.name not in nodes)
    return out


def _points(check: Mapping[str, Any]) -> list[dict[str, float]]:
    reference = {k: float(v) for k, v in check.get("reference_point", {}).items()}
    names = list(check["scan_parameters"])
    out = []
    for point in check["scan_points"]:
        values = dict(reference)
        values.update({n: float(v) for n, v in zip(names, point, strict=True)})
        out.append(values)
    return out


def _known(model: Model, values: Mapping[str, float]) -> dict[str, float]:
    """The entries of ``values`` that are parameters of ``model`` (others: observables, etc.)."""
    return {k: float(v) for k, v in values.items() if k in model.parameters and math.isfinite(v)}


#: the name the suite looks for by default (``hs3suite_backend:HS3TestSuiteBackend``)
HS3TestSuiteBackend = HS3JaxBackend


def main(argv: Sequence[str] | None = None) -> int:  # pragma: no cover - convenience CLI
    """``python -m hs3jax.testsuite expected.json hs3.json``: run one fixture's checks."""
    import sys

    args = list(sys.argv[1:] if argv is None else argv)
    expected = json.loads(Path(args[0]).read_text())
    backend = HS3JaxBackend()
    ws = backend.load_workspace(args[1])
    for check in expected["checks"]:
        kind = check["kind"]
        if kind in ("twice_delta_nll_scan", "pdf_scan", "function_scan"):
            got = getattr(backend, f"run_{kind}")(ws, check, args[1])
            print(check["id"], got)
    return 0

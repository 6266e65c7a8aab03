"""Lowering: a likelihood of a document becomes one pure JAX function.

The graph is walked in topological order. Every value the program needs lives in one flat
*value vector*: the parameters, the global observables, literal constants, then the outputs of
the function nodes, level by level. Nodes of one type on one level are evaluated together with
one gather and one vectorised call; all HistFactory channels are lowered together
(:mod:`hs3jax.nodes.histfactory.lower`); constraint terms of one type are one vector op. The
XLA program therefore grows with the number of node *types*, not nodes.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import networkx as nx
import numpy as np
from jax.scipy.special import logsumexp, xlogy

from hs3jax.cache import source_digest
from hs3jax.density import Scope, bin_quadrature, depends_on, evaluate_function
from hs3jax.errors import DocumentError, MissingReferenceError, ModelError
from hs3jax.graph import ModelGraph, build_graph
from hs3jax.model import EventTerms, ExpectedAux, Model, device_array, unknown_name
from hs3jax.nodes.basic import GaussianDist, PoissonDist, poisson_logpmf
from hs3jax.nodes.composite import ProductDist
from hs3jax.nodes.histfactory.dist import HistFactoryDist, Lumi, NormFactor
from hs3jax.nodes.histfactory.lower import HistFactoryProgram, lower_histfactory
from hs3jax.schema.base import Distribution, Function, Node
from hs3jax.schema.document import (
    Analysis,
    BinnedData,
    Document,
    Likelihood,
    PointData,
    UnbinnedData,
)
from hs3jax.term_groups import RangeReads, TermGroup, group_terms

__all__ = ["compile_model"]

# placeholder indices of function outputs in the value vector, resolved once all constants are
# known (constants use -1, -2, ...)
_FN_BASE = -(10**9)


@dataclass(frozen=True)
class _Gather:
    """How to build the inputs of one node type from the value vector."""

    fields: tuple[str, ...]
    index: tuple[np.ndarray, ...]  # (n,) or (n, k) int arrays into the value vector

    def inputs(self, values: jax.Array) -> dict[str, jax.Array]:
        return {f: values[i] for f, i in zip(self.fields, self.index, strict=True)}


@dataclass(frozen=True)
class _FunctionGroup:
    cls: type[Function]
    gather: _Gather | None  # None: evaluated node by node (nodes with their own evaluate())
    start: int  # index of the first output in the value vector
    nodes: tuple[Function, ...] = ()


@dataclass(frozen=True)
class _ConstraintGroup:
    cls: type[Distribution]
    gather: _Gather
    lo: np.ndarray
    hi: np.ndarray
    normalise: bool


@dataclass(frozen=True)
class _DensityTerm:
    """A non-HistFactory density paired with points: events (unbinned), bin centres (binned,
    ROOT's convention) or a single value (point data, inline numbers)."""

    name: str
    observables: dict[str, np.ndarray]
    weights: np.ndarray
    ranges: dict[str, tuple[float, float]]
    # binned data in "integrated" mode: the first axis's GL nodes per bin, (bins, points)
    # (the shape of the per-bin log-densities), and the log-weights of the tensor-product rule
    bin_nodes: np.ndarray | None = None
    bin_log_weights: np.ndarray | None = None
    # where the Asimov data set puts this term's expected events (ROOT's AsymptoticCalculator:
    # the bin centres of the observables' binnings) and the ln volume of each bin; None for
    # point data and unbounded observables, which have no Asimov counterpart
    asimov_points: dict[str, np.ndarray] | None = None
    asimov_log_volume: np.ndarray | None = None


class _Values:
    """Allocation of names and constants in the value vector."""

    def __init__(self, parameters: Sequence[str], globs: Sequence[str]) -> None:
        self.index: dict[str, int] = {}
        for name in (*parameters, *globs):
            self.index[name] = len(self.index)
        self.n_inputs = len(self.index)
        self.constants: list[float] = []
        self._const_index: dict[float, int] = {}
        self.n_functions = 0
        self.one = self.constant(1.0)
        self.zero = self.constant(0.0)

    def constant(self, value: float) -> int:
        key = float(value)
        if key not in self._const_index:
            self._const_index[key] = len(self.constants)
            self.constants.append(key)
        return -1 - self._const_index[key]  # resolved once the constants are all known

    def resolve(self, idx: int) -> int:
        return self.n_inputs + (-1 - idx) if idx < 0 else idx

    def of(self, ref: str | float) -> int:
        if isinstance(ref, str):
            return self.index[ref]
        return self.constant(ref)


def _choose(
    doc: Document, name: str | None, file: str | None = None
) -> tuple[str, Likelihood, Analysis | None]:
    if name is None:
        if doc.analyses:
            analysis = doc.analyses[0]
            return analysis.name, _likelihood(doc, analysis.likelihood, analysis, file), analysis
        if doc.likelihoods:
            return doc.likelihoods[0].name, doc.likelihoods[0], None
        raise ModelError("the document has no analyses and no likelihoods to build a model from")
    for analysis in doc.analyses:
        if analysis.name == name:
            return name, _likelihood(doc, analysis.likelihood, analysis, file), analysis
    for lik in doc.likelihoods:
        if lik.name == name:
            return name, lik, None
    known = [a.name for a in doc.analyses] + [lik.name for lik in doc.likelihoods]
    raise ModelError(unknown_name(name, known, "analysis or likelihood"))


def _likelihood(
    doc: Document, name: str, analysis: Analysis, file: str | None = None
) -> Likelihood:
    for lik in doc.likelihoods:
        if lik.name == name:
            return lik
    raise MissingReferenceError(
        f"analysis {analysis.name!r} refers to likelihood {name!r}, which does not exist",
        file=file,
        path=("analyses", doc.analyses.index(analysis), "likelihood"),
        expected="the name of a likelihood",
        found=name,
        known=[lik.name for lik in doc.likelihoods],
    )


def _conventions(doc: Document) -> dict[str, Any]:
    misc = doc.misc or {}
    own = misc.get("hs3jax", {}) if isinstance(misc, dict) else {}
    return own if isinstance(own, dict) else {}


BINNED_MODES = ("bin_centres", "integrated")


class _Programs(NamedTuple):
    """The pure functions of one model structure (see :class:`hs3jax.model.Model`)."""

    nll_fn: Callable[..., jax.Array]
    expected_fn: Callable[..., jax.Array]
    density_fn: Callable[..., jax.Array]
    asimov_events_fn: Callable[..., list[dict[str, Any]]]
    constraint_nll_fn: Callable[..., jax.Array]
    event_terms: EventTerms | None
    prepare_fn: Callable[[Any], Any]
    prepared_nll_fn: Callable[..., jax.Array]


# structure fingerprint -> its functions; a bounded memo, like a compile cache
_PROGRAMS: dict[str, _Programs] = {}
_PROGRAMS_MAX = 64


def _fingerprint(*parts: Any) -> str:
    """A hash of the static structure of a lowered program (arrays by value)."""
    digest = hashlib.sha256()

    def feed(obj: Any) -> None:
        if isinstance(obj, np.ndarray):
            digest.update(f"nd{obj.dtype}{obj.shape}".encode())
            digest.update(np.ascontiguousarray(obj).tobytes())
        elif isinstance(obj, Node):
            digest.update(json.dumps(obj.to_dict(), sort_keys=True).encode())
        elif isinstance(obj, type):
            digest.update(f"cls:{obj.__module__}.{obj.__qualname__}".encode())
        elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            digest.update(type(obj).__qualname__.encode())
            for f in dataclasses.fields(obj):
                if f.name != "inputs":
                    feed(getattr(obj, f.name))
        elif isinstance(obj, dict):
            for k in sorted(obj, key=repr):
                feed(k)
                feed(obj[k])
        elif isinstance(obj, list | tuple | frozenset | set):
            items = sorted(obj, key=repr) if isinstance(obj, frozenset | set) else obj
            digest.update(f"seq{len(items)}".encode())
            for item in items:
                feed(item)
        else:
            digest.update(repr(obj).encode())

    for part in parts:
        feed(part)
    return digest.hexdigest()


def _stored_key(key: str, nodes: Iterable[Node]) -> str | None:
    """The key of a model's programs on disk: the structure fingerprint and the source of
    every user-registered node class it uses (None where one cannot be read)."""
    code = source_digest(type(node) for node in nodes)
    return None if code is None else _fingerprint(key, code)


def _hf_structure(program: HistFactoryProgram) -> tuple[Any, ...]:
    """The parts of a HistFactory program its functions close over (not its templates)."""
    return (
        program.nbins,
        program.conventions,
        program._entry_bin,
        program._entry_row,
        program._row_factor_idx,
        program._normsys,
        program._histosys,
        program._bin_factor_idx,
        program._clip_mask,
        program._n_rows,
        program._gauss,
        program._poisson,
    )


def compile_model(
    doc: Document,
    name: str | None = None,
    *,
    file: str | None = None,
    binned_density: str = "bin_centres",
    vectorise_terms: bool = True,
) -> Model:
    """Build the :class:`Model` of an analysis or likelihood of ``doc``.

    ``vectorise_terms``: evaluate density terms of one structure (e.g. many unbinned channels
    of the same shape) as one function vmapped over them (:mod:`hs3jax.term_groups`), so the
    program does not grow with their number; False evaluates every term on its own.

    ``binned_density``: how binned data paired with an ordinary (non-HistFactory) density enter.
    "bin_centres" (ROOT 6.40): Σ_b n_b ln p(x_b) at the bin centres, no bin-width factor.
    "integrated": the exact binned likelihood, Σ_b n_b ln P_b with P_b = ∫_bin p (multinomial),
    or Σ_b ln Pois(n_b | ν P_b) when the density is extended.
    """
    if binned_density not in BINNED_MODES:
        raise ModelError(f"binned_density must be one of {BINNED_MODES}, not {binned_density!r}")
    model_name, likelihood, analysis = _choose(doc, name, file)
    settings = _conventions(doc)
    conventions = str(settings.get("conventions", "root"))

    # constraints named by HistFactory modifiers join the likelihood's roots
    dist_by_name = {d.name: d for d in doc.distributions}
    named_constraints: list[str] = []
    for dist_name in likelihood.distributions:
        for hf in _histfactory_in(dist_by_name.get(dist_name), dist_by_name):
            for sample in hf.samples:
                for mod in sample.modifiers:
                    cname = getattr(mod, "constraint_name", None)
                    if (
                        isinstance(mod, NormFactor | Lumi)
                        and cname is not None
                        and cname not in named_constraints
                    ):
                        named_constraints.append(cname)
    graph = build_graph(doc, likelihood, file=file, extra_roots=named_constraints)

    domains = {d.name: d for d in doc.domains}
    analysis_domains = (
        [domains[n] for n in (analysis.domains or []) if n in domains]
        if analysis is not None
        # without an analysis, ROOT's "default_domain" holds the ranges; its other domains are
        # named ranges (of an integral), not normalisation ranges
        else [domains["default_domain"]]
        if "default_domain" in domains
        else list(doc.domains)
    )
    ranges: dict[str, tuple[float, float]] = {}
    for dom in [*doc.domains, *analysis_domains]:  # analysis domains take precedence
        for axis in dom.axes:
            lo = -math.inf if axis.min is None else float(axis.min)
            hi = math.inf if axis.max is None else float(axis.max)
            ranges[axis.name] = (lo, hi)
    glob_names = {
        axis.name
        for dom in analysis_domains
        if "global_observables" in dom.name
        for axis in dom.axes
    }
    glob_names.update(settings.get("global_observables", []))

    referenced = [n for n in graph.parameters]
    explicit_globals = tuple(n for n in referenced if n in glob_names)
    free = [n for n in referenced if n not in glob_names]
    parameters = _order_parameters(free, analysis, settings)

    values = _Values(parameters, explicit_globals)
    pairs = list(zip(likelihood.distributions, likelihood.data, strict=True))
    data_by_name = {d.name: d for d in doc.data}

    hf_channels: list[tuple[HistFactoryDist, Sequence[float] | None, tuple[str | int, ...]]] = []
    constraint_names: list[str] = list(likelihood.aux_distributions or [])
    for cname in named_constraints:
        if cname not in constraint_names:
            constraint_names.append(cname)
    event_terms: list[tuple[Distribution, Any, tuple[str | int, ...]]] = []
    lik_index = doc.likelihoods.index(likelihood)
    for i, (dist_name, datum_name) in enumerate(pairs):
        path: tuple[str | int, ...] = ("likelihoods", lik_index, "data", i)
        datum = data_by_name.get(datum_name) if isinstance(datum_name, str) else datum_name
        _split_term(
            graph.node(dist_name),
            datum,
            path,
            graph,
            hf_channels,
            constraint_names,
            event_terms,
            file,
            integrated=binned_density == "integrated",
        )

    data_observables = {a.name for d in doc.data for a in getattr(d, "axes", [])}
    data_observables |= set(graph.nodes_of_kind("observable"))  # integrated-out variables too
    function_groups = _lower_functions(graph, values, data_observables)
    hf_program: HistFactoryProgram | None = None
    if hf_channels:
        hf_program = lower_histfactory(
            hf_channels,
            index_of=lambda n: values.index[n],
            one_index=values.one,
            conventions=conventions,
            nom_ranges=ranges,
            file=file,
        )
    constraint_groups = _lower_constraints(
        [graph.node(n) for n in constraint_names], values, ranges, set(explicit_globals)
    )
    scope_constraints = [n for n in constraint_names if not _vectorisable(type(graph.node(n)))]
    density_terms = [
        _density_term(d, datum, p, graph, ranges, file, binned_density)
        for d, datum, p in event_terms
    ]

    # resolve constant placeholders now that all constants are known
    n_inputs = values.n_inputs
    n_const = len(values.constants)

    def fix(idx: np.ndarray) -> np.ndarray:
        idx = np.asarray(idx, dtype=np.int64)
        is_fn = idx <= _FN_BASE
        is_const = (idx < 0) & ~is_fn
        out = np.where(is_const, n_inputs + (-1 - idx), idx)
        return np.where(is_fn, n_inputs + n_const + (_FN_BASE - idx), out)

    function_groups = [
        _FunctionGroup(
            g.cls,
            None
            if g.gather is None
            else _Gather(g.gather.fields, tuple(fix(i) for i in g.gather.index)),
            n_inputs + n_const + g.start,
            g.nodes,
        )
        for g in function_groups
    ]
    constraint_groups = [
        _ConstraintGroup(
            g.cls,
            _Gather(g.gather.fields, tuple(fix(i) for i in g.gather.index)),
            g.lo,
            g.hi,
            g.normalise,
        )
        for g in constraint_groups
    ]
    resolved = {name: int(fix(np.asarray([i]))[0]) for name, i in values.index.items()}
    named_domains = {
        d.name: {
            a.name: (
                -math.inf if a.min is None else float(a.min),
                math.inf if a.max is None else float(a.max),
            )
            for a in d.axes
        }
        for d in doc.domains
    }
    binnings: dict[str, np.ndarray] = {}
    for datum in doc.data:
        for axis in getattr(datum, "axes", []):
            if axis.edges is not None or axis.nbins is not None:
                binnings.setdefault(axis.name, axis.bin_edges())
    all_nodes: dict[str, Node] = {n.name: n for n in (*doc.distributions, *doc.functions)}
    if hf_program is not None:
        hf_program = _fix_hf(hf_program, fix)
    constants = np.asarray(values.constants, dtype=np.float64)

    hf_aux = hf_program.aux_values if hf_program is not None else np.zeros(0)
    n_explicit = len(explicit_globals)

    def is_value(name: str, node: Node | None, observables: Sequence[str]) -> bool:
        # what Scope.value reads from the value vector rather than evaluates
        if name not in resolved:
            return False
        return node is None or (
            isinstance(node, Function) and not depends_on(node, set(observables), all_nodes)
        )

    def value_vector(pars: jax.Array, aux: jax.Array) -> jax.Array:
        # without explicit global observables no function can depend on ``aux``; leaving it
        # out keeps derivatives in the global observables off the rest of the graph
        head = [pars, aux[:n_explicit]] if n_explicit else [pars]
        vec = jnp.concatenate([*head, jnp.asarray(constants)])
        for group in function_groups:
            if group.gather is None:
                scope = Scope(vec, resolved, all_nodes, {}, ranges, binnings, named_domains)
                out = jnp.stack([jnp.reshape(evaluate_function(n, scope), ()) for n in group.nodes])
            else:
                stacked = group.cls.value(**group.gather.inputs(vec))
                out = jnp.broadcast_to(stacked, group.gather.index[0].shape[:1])
            vec = jnp.concatenate([vec, out])
        return vec

    def prepare_fn(inputs: Any) -> Any:
        # the functions of the templates alone, computed once per template set
        if hf_program is None:
            return {}
        return {"histfactory": hf_program.prepare(inputs["histfactory"])}

    def log_constraints(vec: jax.Array, aux: jax.Array, prepared: Any) -> jax.Array:
        # every term that holds a global observable (the auxiliary measurements)
        total = jnp.zeros((), dtype=jnp.float64)
        if hf_program is not None:
            total = total + hf_program.log_constraints(
                vec, aux[n_explicit:], prepared["histfactory"]
            )
        if scope_constraints:
            scope = Scope(vec, resolved, all_nodes, {}, ranges, binnings, named_domains)
            for cname in scope_constraints:
                total = total + jnp.sum(scope.log_prob(cname))
        for group in constraint_groups:
            args = group.gather.inputs(vec)
            logp = group.cls.log_density(**args)
            if group.normalise:
                params = {k: v for k, v in args.items() if k != "x"}
                logp = logp - group.cls.log_integral(group.lo, group.hi, **params)  # type: ignore[operator]
            total = total + jnp.sum(logp)
        return total

    def constraint_nll_fn(pars: jax.Array, aux: jax.Array, inputs: Any) -> jax.Array:
        return -log_constraints(value_vector(pars, aux), aux, prepare_fn(inputs))

    @functools.cache
    def value_vector_shape() -> Any:
        # shapes only: eval_shape traces without computing
        return jax.eval_shape(
            value_vector, np.zeros(len(parameters)), np.zeros(n_explicit + len(hf_aux))
        )

    def range_reads(k: int) -> set[str] | None:
        # the variables whose ranges density term k reads when evaluated (None: every one, a
        # named domain, or an evaluation that fails here and is left to report itself later)
        term = density_terms[k]
        term_ranges = RangeReads({**ranges, **term.ranges})
        term_domains = RangeReads(named_domains)

        def evaluate(vec: jax.Array, points: dict[str, jax.Array]) -> Any:
            scope = Scope(vec, resolved, all_nodes, points, term_ranges, binnings, term_domains)
            return scope.log_prob(term.name), scope.with_observables({}).expected_events(term.name)

        try:
            points = {o: np.zeros(2) for o in term.observables}
            jax.eval_shape(evaluate, value_vector_shape(), points)
        except Exception:
            return None
        if term_ranges.everything or term_domains.everything or term_domains.keys_read:
            return None
        return term_ranges.keys_read

    term_groups, single_terms = group_terms(
        [
            (t.name, list(t.observables), vectorise_terms and t.bin_nodes is None)
            for t in density_terms
        ],
        all_nodes,
        resolved,
        is_value,
        [{**ranges, **t.ranges} for t in density_terms],
        binnings,
        named_domains,
        range_reads,
    )

    # the values the grouped event terms read, and the groups reading them from that sub-vector
    event_values = np.unique(
        np.concatenate([np.zeros(0, dtype=np.int64), *(g.gather.ravel() for g in term_groups)])
    )
    local_groups = [
        dataclasses.replace(g, gather=np.searchsorted(event_values, g.gather)) for g in term_groups
    ]

    def events_of(data: Any) -> Any:
        events = data.get("events", ())
        if len(events) != len(density_terms):
            raise ModelError(
                f"data['events'] has {len(events)} entries, the model has {len(density_terms)} "
                "density terms"
            )
        return events

    def log_rest(vec: jax.Array, aux: jax.Array, data: Any, prepared: Any) -> jax.Array:
        # every term but the grouped event terms
        total = log_constraints(vec, aux, prepared)
        if hf_program is not None:
            expected_main = hf_program.expected(vec, prepared["histfactory"])
            total = total + hf_program.log_poisson(expected_main, data["main"])
        events = events_of(data)
        for term, points in ((density_terms[k], events[k]) for k in single_terms):
            scope = Scope(
                vec,
                resolved,
                all_nodes,
                {k: points[k] for k in term.observables},
                {**ranges, **term.ranges},
                binnings,
                named_domains,
            )
            weights = points["weights"]
            expected: jax.Array | None = scope.with_observables({}).expected_events(term.name)
            if term.bin_nodes is not None and term.bin_log_weights is not None:
                log_p = scope.log_prob(term.name).reshape(term.bin_nodes.shape)
                log_bin = logsumexp(log_p + jnp.asarray(term.bin_log_weights), axis=1)
                if expected is None:
                    total = total + jnp.sum(xlogy(weights, jnp.exp(log_bin)))
                else:
                    total = total + jnp.sum(poisson_logpmf(weights, expected * jnp.exp(log_bin)))
                continue
            total = total + jnp.sum(weights * scope.log_prob(term.name))
            if expected is not None:
                # extended likelihood: Poisson term of the total, ROOT's nu - W ln nu
                total = total - (expected - jnp.sum(weights) * jnp.log(expected))
        return total

    def events_nll_fn(values: jax.Array, events: Any) -> jax.Array:
        total = jnp.zeros((), dtype=jnp.float64)
        for group in local_groups:
            total = total + group.log_likelihood(values, events, Scope)
        return -total

    def events_hessian_fn(values: jax.Array, events: Any) -> jax.Array:
        hessian = jnp.zeros((len(event_values), len(event_values)), dtype=jnp.float64)
        for group in local_groups:
            blocks = group.member_hessians(values, events, Scope)
            at = group.gather
            # repeated values in a member add up, as the chain rule wants
            hessian = hessian.at[at[:, :, None], at[:, None, :]].add(-blocks)
        return hessian

    def rest_fn(pars: jax.Array, data: Any, prepared: Any) -> jax.Array:
        aux = data["aux"]
        return -log_rest(value_vector(pars, aux), aux, data, prepared)

    def event_values_fn(pars: jax.Array, aux: jax.Array) -> jax.Array:
        return value_vector(pars, aux)[event_values]

    def prepared_nll_fn(pars: jax.Array, data: Any, prepared: Any) -> jax.Array:
        aux = data["aux"]
        vec = value_vector(pars, aux)
        rest = -log_rest(vec, aux, data, prepared)
        if not local_groups:
            return rest
        return rest + events_nll_fn(vec[event_values], events_of(data))

    def nll_fn(pars: jax.Array, data: Any, inputs: Any) -> jax.Array:
        return prepared_nll_fn(pars, data, prepare_fn(inputs))

    observable_ranges = dict(ranges)
    for datum in doc.data:
        for axis in getattr(datum, "axes", []):
            observable_ranges[axis.name] = (axis.lo, axis.hi)

    def density_fn(pars: jax.Array, aux: jax.Array, name: str, points: dict[str, Any]) -> jax.Array:
        vec = value_vector(pars, aux)
        scope = Scope(
            vec,
            resolved,
            all_nodes,
            {k: jnp.asarray(v, dtype=jnp.float64) for k, v in points.items()},
            observable_ranges,
            binnings,
            named_domains,
        )
        return scope.log_prob(name)

    def asimov_events_fn(pars: jax.Array, aux: jax.Array, events: Any) -> list[dict[str, Any]]:
        """The expected events of every density term at ``pars`` (Asimov data, arXiv:1007.1727
        §3.2), as ROOT's AsymptoticCalculator builds them: at each bin centre c of the
        observables' binning (the data's own bins for binned data, 100 bins per observable
        for unbinned data) the weight N p(c) ΔV, or N ∫_bin p in the "integrated" mode; N is the
        expected number of events of an extended density, else the observed total weight.

        Where the observed data hold at most :data:`ASIMOV_PAD_MAX` events in all, the grid of
        each unbinned term with fewer points than observed events is padded to their number
        with zero-weight copies of its heaviest point (:func:`_pad_events`), so that fits of
        the Asimov data run the programs already compiled for the observed data instead of
        compiling them again for the grid's shape (1 channel, 1,000 events, 7 parameters: 1.6 s
        of a 4.4 s first hypotest). Larger data sets keep the short grid: their Asimov fits
        would otherwise evaluate every observed event."""
        vec = value_vector(pars, aux)
        n_observed = sum(int(np.shape(observed["weights"])[0]) for observed in events)
        grouped = _grouped_asimov(vec[event_values], events)
        out = []
        for k, (term, observed) in enumerate(zip(density_terms, events, strict=True)):
            if k in grouped:
                asimov = grouped[k]
            elif term.asimov_points is None:
                raise ModelError(
                    f"no Asimov data for {term.name!r}: it is paired with point data or an "
                    "unbounded observable (Asimov data need a bounded binning)"
                )
            else:
                grid = {o: jnp.asarray(v) for o, v in term.asimov_points.items()}
                scope = Scope(
                    vec,
                    resolved,
                    all_nodes,
                    grid,
                    {**ranges, **term.ranges},
                    binnings,
                    named_domains,
                )
                expected = scope.with_observables({}).expected_events(term.name)
                total = jnp.sum(observed["weights"]) if expected is None else expected
                log_p = scope.log_prob(term.name)
                if term.bin_nodes is not None and term.bin_log_weights is not None:
                    log_mass = logsumexp(
                        log_p.reshape(term.bin_nodes.shape) + jnp.asarray(term.bin_log_weights),
                        axis=1,
                    )
                else:
                    log_mass = log_p + jnp.asarray(term.asimov_log_volume)
                asimov = {**grid, "weights": total * jnp.exp(log_mass)}
            if term.bin_nodes is None and n_observed <= ASIMOV_PAD_MAX:
                asimov = _pad_events(asimov, int(np.shape(observed["weights"])[0]))
            out.append(asimov)
        return out

    def _grouped_asimov(values: jax.Array, events: Any) -> dict[int, dict[str, jax.Array]]:
        """The Asimov events of the terms in groups (:mod:`hs3jax.term_groups`) whose members
        share one grid, one vmapped function per group: the program does not grow with the
        number of channels (10 unbinned channels: 1.5 s to compile one per channel)."""
        out: dict[int, dict[str, jax.Array]] = {}
        for group in local_groups:
            grid = _shared_grid(group, [density_terms[k] for k in group.members])
            if grid is None:
                continue
            first = density_terms[group.members[0]]
            totals = jnp.stack([jnp.sum(events[k]["weights"]) for k in group.members])
            weights = group.asimov_weights(
                values, grid, jnp.asarray(first.asimov_log_volume), totals, Scope
            )
            for m, k in enumerate(group.members):
                columns = dict(zip(group.observables[m], grid.values(), strict=True))
                out[k] = {**columns, "weights": weights[m]}
        return out

    def expected_fn(pars: jax.Array, inputs: Any) -> jax.Array:
        if hf_program is None:
            return jnp.zeros(0, dtype=jnp.float64)
        aux = jnp.asarray(np.concatenate([_glob_values(doc, explicit_globals), hf_aux]))
        prepared = hf_program.prepare(inputs["histfactory"])
        return hf_program.expected(value_vector(pars, aux), prepared)

    # models of one structure (a new signal patch changes templates, not structure) share one
    # set of functions, so JAX's compilation cache serves them all
    density_static = [
        (
            t.name,
            sorted(t.observables),
            t.ranges,
            t.bin_nodes,
            t.bin_log_weights,
            None if t.asimov_points is None else sorted(t.asimov_points.items()),
            t.asimov_log_volume,
        )
        for t in density_terms
    ]
    key = _fingerprint(
        conventions,
        binned_density,
        vectorise_terms,
        constants,
        sorted(resolved.items()),
        n_explicit,
        hf_aux,
        _glob_values(doc, explicit_globals),
        None if hf_program is None else _hf_structure(hf_program),
        function_groups,
        constraint_groups,
        density_static,
        sorted((n, v) for n, v in all_nodes.items() if not isinstance(v, HistFactoryDist)),
        sorted(ranges.items()),
        sorted(binnings.items()),
        sorted((k, sorted(v.items())) for k, v in named_domains.items()),
        scope_constraints,
    )
    split = (
        EventTerms(rest_fn, event_values_fn, events_nll_fn, events_hessian_fn)
        if local_groups
        else None
    )
    programs = _PROGRAMS.setdefault(
        key,
        _Programs(
            nll_fn,
            expected_fn,
            density_fn,
            asimov_events_fn,
            constraint_nll_fn,
            split,
            prepare_fn,
            prepared_nll_fn,
        ),
    )
    while len(_PROGRAMS) > _PROGRAMS_MAX:
        _PROGRAMS.pop(next(iter(_PROGRAMS)))

    init, bounds, fixed = _parameter_table(doc, analysis, parameters, ranges, hf_program)
    pois = tuple(p for p in (analysis.parameters_of_interest or [] if analysis is not None else []))
    present_pois = tuple(p for p in pois if p in parameters)
    if pois and not present_pois:
        warnings.warn(
            f"parameter of interest {pois[0]!r} of {model_name!r} does not appear in the model "
            "(a background-only workspace?); model.poi is None",
            stacklevel=3,
        )
    with jax.enable_x64(True):
        observed = (
            device_array(hf_program.observed)
            if hf_program is not None and hf_program.observed is not None
            else device_array([], np.float64)
        )
        events = [
            {
                **{k: device_array(v) for k, v in term.observables.items()},
                "weights": device_array(term.weights),
            }
            for term in density_terms
        ]
        data_tree: dict[str, Any] = {
            "main": observed,
            "aux": device_array(
                np.concatenate([_glob_values(doc, explicit_globals), hf_aux]).astype(np.float64)
            ),
        }
        if events:
            # unbinned events (and bin centres with their counts) are data, not constants:
            # a new dataset or a toy reuses the compiled program
            data_tree["events"] = events
        inputs_tree: dict[str, Any] = {}
        if hf_program is not None:
            inputs_tree["histfactory"] = jax.tree_util.tree_map(device_array, hf_program.inputs)
        return Model(
            name=model_name,
            parameters=tuple(parameters),
            poi=present_pois[0] if present_pois else None,
            pois=present_pois,
            init=device_array(init),
            bounds=device_array(bounds),
            fixed=device_array(fixed),
            data=data_tree,
            inputs=inputs_tree,
            channels=hf_program.channels if hf_program is not None else (),
            channel_slices=dict(zip(hf_program.channels, hf_program.bin_slices, strict=True))
            if hf_program is not None
            else {},
            sample_slices=hf_program.sample_slices if hf_program is not None else {},
            global_observables=(
                *explicit_globals,
                *(hf_program.aux_names if hf_program is not None else ()),
            ),
            nll_fn=programs.nll_fn,
            expected_fn=programs.expected_fn,
            density_fn=programs.density_fn,
            asimov_events_fn=programs.asimov_events_fn if density_terms else None,
            constraint_nll_fn=programs.constraint_nll_fn,
            event_terms=programs.event_terms,
            expected_aux=_expected_aux(
                hf_program,
                len(parameters),
                n_explicit,
                constraint_groups,
                bool(scope_constraints),
                function_groups,
            ),
            prepare_fn=programs.prepare_fn,
            prepared_nll_fn=programs.prepared_nll_fn,
            structure=_stored_key(key, all_nodes.values()),
        )


def _expected_aux(
    program: HistFactoryProgram | None,
    n_parameters: int,
    n_explicit: int,
    constraint_groups: Sequence[_ConstraintGroup],
    node_constraints: bool,
    function_groups: Sequence[_FunctionGroup],
) -> ExpectedAux | None:
    """The closed-form Asimov global observables (:class:`ExpectedAux`), or None where the
    derivatives of the constraint terms must give them (:mod:`hs3jax.infer.asimov`).

    Every global observable must be the ``x`` of exactly one vectorised Gaussian or Poisson
    constraint whose ``mean`` is a parameter and whose other fields read no global observable
    (``n_explicit`` explicit ones, after the parameters in the value vector), or one of
    HistFactory's implied constraints on a parameter; no function and no constraint evaluated
    node by node (``node_constraints``) may read one.
    """
    explicit = (n_parameters, n_parameters + n_explicit)

    def reads_globals(index: np.ndarray) -> bool:
        return bool(np.any((index >= explicit[0]) & (index < explicit[1])))

    if n_explicit and (
        node_constraints
        or any(
            g.gather is None or any(reads_globals(i) for i in g.gather.index)
            for g in function_groups
        )
    ):
        return None
    kinds: list[int] = []
    direct_aux: list[np.ndarray] = []
    direct_par: list[np.ndarray] = []
    for group in constraint_groups:
        kind = 0 if group.cls is GaussianDist else 1 if group.cls is PoissonDist else None
        fields = dict(zip(group.gather.fields, group.gather.index, strict=True))
        if kind is None or "x" not in fields or "mean" not in fields:
            return None
        x, mean = np.ravel(fields["x"]), np.ravel(fields["mean"])
        if any(reads_globals(i) for f, i in fields.items() if f != "x"):
            return None
        if not reads_globals(x) or np.any((x < explicit[0]) | (x >= explicit[1])):
            return None
        if np.any(mean >= n_parameters) or np.any(mean < 0):
            return None
        direct_aux.append(x - n_parameters)
        direct_par.append(mean)
        kinds.extend([kind] * len(x))
    explicit_aux = np.concatenate([np.zeros(0, np.int64), *direct_aux])
    if not np.array_equal(np.sort(explicit_aux), np.arange(n_explicit)):
        return None
    all_kinds = np.zeros(n_explicit, dtype=np.int64)
    all_kinds[explicit_aux] = kinds
    empty = np.zeros(0, dtype=np.int64)
    scaled_aux, scaled_par = empty, empty
    if program is not None and program.constraints:
        gauss, poisson = program._gauss, program._poisson
        n_hf = len(program.constraints)
        gauss_aux, poisson_aux = gauss.get("aux", empty), poisson.get("aux", empty)
        covered = np.sort(np.concatenate([gauss_aux, poisson_aux]))
        gauss_par, scaled_par = gauss.get("param", empty), poisson.get("param", empty)
        if not np.array_equal(covered, np.arange(n_hf)):
            return None
        if np.any(np.concatenate([gauss_par, scaled_par]) >= n_parameters):
            return None
        direct_aux.append(n_explicit + gauss_aux)
        direct_par.append(gauss_par)
        scaled_aux = n_explicit + poisson_aux
        hf_kinds = np.zeros(n_hf, dtype=np.int64)
        hf_kinds[poisson_aux] = 1
        all_kinds = np.concatenate([all_kinds, hf_kinds])
    if all_kinds.size == 0:
        return None
    return ExpectedAux(
        all_kinds,
        np.concatenate([empty, *direct_aux]).astype(np.int64),
        np.concatenate([empty, *direct_par]).astype(np.int64),
        np.asarray(scaled_aux, dtype=np.int64),
        np.asarray(scaled_par, dtype=np.int64),
        _poisson_tau,
    )


def _poisson_tau(inputs: Any) -> Any:
    """τ of the HistFactory Poisson constraints, from the model inputs."""
    return inputs["histfactory"]["poisson_tau"]


def _histfactory_in(node: Node | None, table: dict[str, Distribution]) -> list[HistFactoryDist]:
    if isinstance(node, HistFactoryDist):
        return [node]
    if isinstance(node, ProductDist):
        out: list[HistFactoryDist] = []
        for factor in node.factors:
            out.extend(_histfactory_in(table.get(factor), table))
        return out
    return []


def _split_term(
    node: Node,
    datum: Any,
    path: tuple[str | int, ...],
    graph: ModelGraph,
    hf_channels: list[Any],
    constraints: list[str],
    events: list[Any],
    file: str | None,
    integrated: bool = False,
) -> None:
    """Sort one (distribution, data) pair into HistFactory channels, constraints and events.

    ``integrated``: binned data enter bin-integrated, where ln ∫_b Π p_i ≠ Σ ln ∫_b p_i, so a
    product's factors in the data's observables stay together as one term.
    """
    observables = {a.name for a in getattr(datum, "axes", [])}
    if isinstance(node, ProductDist):
        dependent = [
            f
            for f in node.factors
            if isinstance(graph.node(f), HistFactoryDist)
            or set(_observables_of(graph.node(f), graph)) & observables
        ]
        for factor in node.factors:
            if factor not in dependent and factor not in constraints:
                constraints.append(factor)
        if (
            integrated
            and isinstance(datum, BinnedData)
            and len(dependent) > 1
            and not any(isinstance(graph.node(f), HistFactoryDist) for f in dependent)
        ):
            events.append((node, datum, path))  # its log_prob skips the constraint factors
            return
        for factor in dependent:
            _split_term(
                graph.node(factor), datum, path, graph, hf_channels, constraints, events, file
            )
        return
    if isinstance(node, HistFactoryDist):
        if not isinstance(datum, BinnedData):
            raise DocumentError(
                f"histfactory_dist {node.name!r} needs binned data",
                file=file,
                path=path,
                expected="the name of a binned dataset",
                found=getattr(datum, "type", datum),
            )
        hf_channels.append((node, datum.contents, path))
        return
    if isinstance(node, Distribution) and isinstance(
        datum, UnbinnedData | BinnedData | PointData | int | float
    ):
        events.append((node, datum, path))
        return
    raise DocumentError(
        f"cannot pair {node.type} {node.name!r} with this dataset",
        file=file,
        path=path,
        expected="binned or unbinned data with the distribution's observables",
        found=getattr(datum, "type", datum),
    )


def _observables_of(node: Node, graph: ModelGraph) -> list[str]:
    """The random variables of a distribution, through composite children."""
    if not isinstance(node, Distribution):
        return []
    obs = list(node.observables())
    if not obs:
        # a density whose variable is reached through a function (density_function_dist,
        # weighted_sum_dist of histograms): the observables among its references' inputs
        obs = [
            n
            for n in nx.ancestors(graph.graph, node.name)
            if graph.graph.nodes[n]["kind"] == "observable"
        ]
    for fname, spec in type(node).ref_fields().items():
        if not spec.distribution:
            continue
        refs = getattr(node, fname)
        for child in refs if spec.many else [refs]:
            obs.extend(o for o in _observables_of(graph.node(child), graph) if o not in obs)
    return obs


def _order_parameters(
    names: Sequence[str], analysis: Analysis | None, settings: dict[str, Any]
) -> list[str]:
    present = set(names)
    preferred = [n for n in settings.get("parameter_order", []) if n in present]
    if not preferred:
        pois = (
            [p for p in (analysis.parameters_of_interest or []) if p in present] if analysis else []
        )
        preferred = pois
    rest = sorted(present - set(preferred))
    return [*preferred, *rest]


def _gather_for(
    cls: type[Node], nodes: Sequence[Node], values: _Values, skip: Sequence[str] = ()
) -> _Gather:
    fields: list[str] = []
    index: list[np.ndarray] = []
    for field_name, spec in cls.ref_fields().items():
        if field_name in skip:
            continue
        refs = [getattr(n, field_name) for n in nodes]
        if spec.many:
            width = max((len(r) for r in refs), default=0)
            pad = values.constant(spec.pad)
            rows = [[values.of(x) for x in r] + [pad] * (width - len(r)) for r in refs]
            index.append(np.asarray(rows, dtype=np.int64).reshape(len(nodes), width))
        else:
            index.append(np.asarray([values.of(r) for r in refs], dtype=np.int64))
        fields.append(field_name)
    return _Gather(tuple(fields), tuple(index))


def _lower_functions(
    graph: ModelGraph, values: _Values, observables: set[str]
) -> list[_FunctionGroup]:
    """Function nodes that depend only on parameters, grouped by (level, type).

    Functions of observables are left to the density evaluation (:mod:`hs3jax.density`).
    Types with their own ``evaluate`` (expressions) are evaluated node by node.
    """
    nodes = {n: graph.node(n) for n in graph.order}
    level: dict[str, int] = {}
    for name in graph.order:
        node = nodes[name]
        if not isinstance(node, Function) or depends_on(node, observables, nodes):
            continue
        inputs = [p for p in graph.graph.predecessors(name) if p in level]
        level[name] = 1 + max((level[p] for p in inputs), default=0)
    by_group: dict[tuple[int, str, str], list[Function]] = defaultdict(list)
    for name, lvl in level.items():
        node = nodes[name]
        assert isinstance(node, Function)
        own = callable(getattr(node, "evaluate", None))
        by_group[(lvl, type(node).__qualname__, name if own else "")].append(node)
    groups: list[_FunctionGroup] = []
    offset = 0
    for key in sorted(by_group):
        members = by_group[key]
        cls = type(members[0])
        own = bool(key[2])
        gather = None if own else _gather_for(cls, members, values)
        for k, node in enumerate(members):
            # placeholder: function outputs follow inputs and constants (fixed up later)
            values.index[node.name] = _FN_BASE - (offset + k)
        groups.append(_FunctionGroup(cls, gather, offset, tuple(members)))
        offset += len(members)
    values.n_functions = offset
    return groups


def _lower_constraints(
    nodes: Sequence[Node],
    values: _Values,
    ranges: dict[str, tuple[float, float]],
    globs: set[str],
) -> list[_ConstraintGroup]:
    by_cls: dict[type[Node], list[Node]] = defaultdict(list)
    for node in nodes:
        if isinstance(node, HistFactoryDist | ProductDist) or not isinstance(node, Distribution):
            raise ModelError(f"{node.type} {node.name!r} cannot be used as a constraint term")
        if not _vectorisable(type(node)):
            continue  # evaluated node by node in the density scope (see compile_model)
        by_cls[type(node)].append(node)
    groups = []
    for cls, members in by_cls.items():
        oriented = [_orient(n, globs) for n in members]
        gather = _gather_for(cls, oriented, values)
        los, his = [], []
        for node in oriented:
            x = getattr(node, "x", None)
            lo, hi = (
                ranges.get(x, (-math.inf, math.inf))
                if isinstance(x, str)
                else (-math.inf, math.inf)
            )
            los.append(lo)
            his.append(hi)
        lo_arr = np.asarray(los, dtype=np.float64)
        hi_arr = np.asarray(his, dtype=np.float64)
        normalise = bool(np.isfinite(lo_arr).any() or np.isfinite(hi_arr).any())
        if normalise:
            # whether the family has a closed-form integral: traced abstractly, since running
            # it on probe arrays would compile each of its operations
            one = np.ones(1)
            probe = {f: one for f in gather.fields if f != "x"}
            log_integral = cls.log_integral  # type: ignore[attr-defined]
            integral = jax.eval_shape(log_integral, one, one, **probe)
            normalise = integral is not None
        groups.append(_ConstraintGroup(cls, gather, lo_arr, hi_arr, normalise))  # type: ignore[arg-type]
    return groups


def _vectorisable(cls: type[Node]) -> bool:
    """Whether constraint nodes of ``cls`` can be stacked: a static ``log_density`` of
    reference fields (composite or matrix-valued nodes evaluate through ``log_prob``)."""
    return (
        issubclass(cls, Distribution)
        and cls.log_density is not Distribution.log_density
        and all(not spec.distribution for spec in cls.ref_fields().values())
    )


def _orient(node: Node, globs: set[str]) -> Node:
    """Make the global observable the random variable of a Gaussian constraint.

    ROOT writes HistFactory's luminosity constraint as Gauss(x = Lumi | mean = nominalLumi) and
    normalises it over the global observable (the mean); the density is symmetric in x and mean,
    so swapping them gives ROOT's value and its normalisation range.
    """
    if isinstance(node, GaussianDist) and node.x not in globs and node.mean in globs:
        return node.model_copy(update={"x": node.mean, "mean": node.x})
    return node


def _density_term(
    node: Distribution,
    datum: Any,
    path: tuple[str | int, ...],
    graph: ModelGraph,
    ranges: dict[str, tuple[float, float]],
    file: str | None,
    binned_density: str = "bin_centres",
) -> _DensityTerm:
    """The points, weights and normalisation ranges of one (distribution, data) pair."""
    if isinstance(datum, int | float | PointData):
        # one value: an inline number in the likelihood or point data
        observables = list(_observables_of(node, graph))
        what = f"point data {datum.name!r}" if isinstance(datum, PointData) else "an inline number"
        if len(observables) != 1:
            raise DocumentError(
                f"{what} can only be paired with a density in one observable; "
                f"{node.type} {node.name!r} has {observables}",
                file=file,
                path=path,
                expected="a density in one observable",
                found=observables,
            )
        obs = observables[0]
        value = datum.value if isinstance(datum, PointData) else float(datum)
        return _DensityTerm(
            node.name,
            {obs: np.asarray([value])},
            np.ones(1),
            {obs: ranges.get(obs, (-math.inf, math.inf))},
        )
    axes = list(datum.axes)
    needed = set(_observables_of(node, graph))
    names = [a.name for a in axes]
    term_ranges = {a.name: (a.lo, a.hi) for a in axes}
    if not needed & set(names):
        raise DocumentError(
            f"{node.type} {node.name!r} is a density in {sorted(needed)}, but the paired dataset "
            f"{datum.name!r} has axes {names}",
            file=file,
            path=path,
            expected=f"data over {sorted(needed)}",
            found=names,
        )
    if isinstance(datum, UnbinnedData):
        table = np.asarray(datum.entries, dtype=np.float64).reshape(len(datum.entries), len(axes))
        points = {name: table[:, i] for i, name in enumerate(names)}
        weights = np.asarray(
            datum.weights if datum.weights is not None else np.ones(len(table)), dtype=np.float64
        )
        bounded = all(math.isfinite(a.lo) and math.isfinite(a.hi) for a in axes)
        grid = (
            _bin_centres([np.linspace(a.lo, a.hi, ASIMOV_BINS + 1) for a in axes], names)
            if bounded
            else (None, None)
        )
        return _DensityTerm(node.name, points, weights, term_ranges, None, None, *grid)
    if binned_density == "integrated":
        # tensor-product Gauss–Legendre inside every bin, any number of axes
        per_axis, log_w = bin_quadrature([a.bin_edges() for a in axes])
        nodes = {name: n.ravel() for name, n in zip(names, per_axis, strict=True)}
        return _DensityTerm(
            node.name,
            nodes,
            np.asarray(datum.contents, dtype=np.float64),
            term_ranges,
            per_axis[0],
            log_w,
            nodes,
        )
    # ROOT 6.40: a binned dataset with an ordinary density is evaluated at the bin centres,
    # weighted by the bin contents, with no bin-width factor
    points, log_volume = _bin_centres([a.bin_edges() for a in axes], names)
    weights = np.asarray(datum.contents, dtype=np.float64)
    return _DensityTerm(node.name, points, weights, term_ranges, None, None, points, log_volume)


# ROOT's default binning of a RooRealVar, which its Asimov data sets use for unbinned data
ASIMOV_BINS = 100
#: observed events (all channels) up to which Asimov grids are padded to the observed lengths
#: (Asimov fits then evaluate that many points instead of the grids': 16,384 points cost a
#: fraction of a millisecond per call, compiling a second set of fit programs about a second)
ASIMOV_PAD_MAX = 1 << 14


def _shared_grid(group: TermGroup, terms: Sequence[_DensityTerm]) -> dict[str, jax.Array] | None:
    """The Asimov grid of the members ``terms`` of ``group`` by canonical observable name, where
    they share one (equal ranges give equal grids; binned data may still differ in their bins);
    else None."""
    reference = terms[0].asimov_points
    if reference is None:
        return None
    grid = dict(zip(group.canonical_observables, group.observables[0], strict=True))
    for observables, term in zip(group.observables, terms, strict=True):
        points = term.asimov_points
        if points is None or term.bin_nodes is not None:
            return None
        for x, name in zip(group.canonical_observables, observables, strict=True):
            if not np.array_equal(points[name], reference[grid[x]]):
                return None
    return {x: jnp.asarray(reference[name]) for x, name in grid.items()}


def _pad_events(events: dict[str, jax.Array], length: int) -> dict[str, jax.Array]:
    """``events`` (equal-length point columns and ``"weights"``) padded to ``length`` points
    with zero-weight copies of the point of largest weight (unchanged where they hold that many
    already). Zero weights add exactly nothing to Σ w ln p or its derivatives, and the
    heaviest point has p > 0 (where all weights are zero, the first point)."""
    size = int(np.shape(events["weights"])[0])
    if size >= length:
        return events
    heaviest = jnp.argmax(events["weights"])
    extra = length - size
    return {
        key: jnp.concatenate(
            [column, jnp.zeros(extra, column.dtype)]
            if key == "weights"
            else [column, jnp.broadcast_to(column[heaviest], (extra,))]
        )
        for key, column in events.items()
    }


def _bin_centres(
    edges: Sequence[np.ndarray], names: Sequence[str]
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Centres of the bins of a grid (first axis slowest, as binned contents are laid out) and
    the ln volume of each bin."""
    centres = [0.5 * (e[1:] + e[:-1]) for e in edges]
    mesh = np.meshgrid(*centres, indexing="ij")
    widths = np.meshgrid(*[np.diff(e) for e in edges], indexing="ij")
    log_volume = np.sum([np.log(w.ravel()) for w in widths], axis=0)
    return {name: m.ravel() for name, m in zip(names, mesh, strict=True)}, log_volume


def _fix_hf(
    program: HistFactoryProgram, fix: Callable[[np.ndarray], np.ndarray]
) -> HistFactoryProgram:
    from dataclasses import replace

    from hs3jax.nodes.histfactory.lower import _InterpGroup

    def fix_groups(groups: tuple[_InterpGroup, ...]) -> tuple[_InterpGroup, ...]:
        return tuple(replace(g, param=fix(g.param)) for g in groups)

    gauss = dict(program._gauss)
    if gauss:
        gauss["param"] = fix(gauss["param"])
    poisson = dict(program._poisson)
    if poisson:
        poisson["param"] = fix(poisson["param"])
    return replace(
        program,
        _row_factor_idx=fix(program._row_factor_idx),
        _bin_factor_idx=fix(program._bin_factor_idx),
        _normsys=fix_groups(program._normsys),
        _histosys=fix_groups(program._histosys),
        _gauss=gauss,
        _poisson=poisson,
    )


def _glob_values(doc: Document, names: Sequence[str]) -> np.ndarray:
    table: dict[str, float] = {}
    for point in doc.parameter_points:
        for p in point.parameters:
            table.setdefault(p.name, p.value)
    missing = [n for n in names if n not in table]
    if missing:
        raise ModelError(f"global observables without a value in any parameter point: {missing}")
    return np.asarray([table[n] for n in names], dtype=np.float64)


def _parameter_table(
    doc: Document,
    analysis: Analysis | None,
    parameters: Sequence[str],
    ranges: dict[str, tuple[float, float]],
    hf: HistFactoryProgram | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    points = {p.name: p for p in doc.parameter_points}
    chosen = []
    if analysis is not None and analysis.init in points:
        chosen.append(points[analysis.init])
    if "default_values" in points:
        chosen.append(points["default_values"])
    chosen.extend(doc.parameter_points)
    value: dict[str, float] = {}
    const: dict[str, bool] = {}
    for rank, point in enumerate(chosen):
        for p in point.parameters:
            value.setdefault(p.name, p.value)
            # constness belongs to the chosen point; other points only fill missing values
            if p.const is not None and rank == 0:
                const.setdefault(p.name, p.const)
    defaults: dict[str, float] = {}
    if hf is not None:
        for c in hf.constraints:
            defaults[c.parameter] = (
                0.0 if c.global_observable.startswith("nom_alpha") or c.aux == 0.0 else 1.0
            )
    attributes = ((doc.misc or {}).get("ROOT_internal", {}) or {}).get("attributes", {})
    init = np.zeros(len(parameters))
    bounds = np.zeros((len(parameters), 2))
    fixed = np.zeros(len(parameters), dtype=bool)
    for i, name in enumerate(parameters):
        lo, hi = ranges.get(name, (-math.inf, math.inf))
        bounds[i] = (lo, hi)
        if name in value:
            init[i] = value[name]
        elif name in defaults:
            init[i] = defaults[name]
        elif math.isfinite(lo) and math.isfinite(hi):
            init[i] = 0.5 * (lo + hi) if not lo <= 1.0 <= hi else 1.0
        fixed[i] = const.get(name, False) or (
            "Constant" in (attributes.get(name, {}) or {}).get("tags", [])
        )
        if hf is not None and name in hf.fixed_parameters:
            fixed[i] = True
    return init, bounds, fixed

"""Density terms of one structure evaluated together: one traced function, ``vmap``-ed over
channels.

A likelihood with many unbinned channels of the same shape (say 30 Gaussian peaks, each with
its own observable, mean and width) would otherwise trace and compile one copy of the density
per channel, so the program and its compile time grow with the number of channels. Here the
distribution tree of each term is rewritten with *canonical names* (``d0, d1, ...`` for nodes,
``x0, ...`` for observables, ``p0, ...`` for parameters and precomputed functions); terms whose
canonical trees, normalisation ranges and binnings agree form one :class:`TermGroup`. The group
is evaluated once, vectorised over its members:

    Σ_k [Σ_i w_ki ln p(x_ki | θ_k) − (ν_k − W_k ln ν_k)]   (second part: extended terms only)

with θ_k gathered from the value vector by one ``(members, parameters)`` index table, and the
events of the members concatenated and laid out as a ``(members, max events)`` table padded
with zero-weight copies of each member's first event (finite density, no contribution).

A term is only grouped when renaming is provably harmless: every node of its tree gives a
renamed copy (:meth:`hs3jax.schema.base.Node.renamed`: reference fields by default, the parsed
expression of ``generic_dist``/``generic_function``; classes that read names elsewhere decline)
and no renamed name appears anywhere else in a node (for example as a histogram axis name).

For the fits' Hessian, :meth:`TermGroup.member_hessians` gives each member's Hessian in its own
values (see :class:`hs3jax.model.EventTerms`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from hs3jax.schema.base import Node

__all__ = ["RangeReads", "TermGroup", "group_terms"]

#: float64 elements (events × member values) of the members whose Hessians are taken together:
#: 512 kB per intermediate array, which stays in cache. 10 channels x 1e4 events, 7 values each:
#: 70 -> 30 ms per Hessian against all members at once; 30 x 3.3e4: 0.92 -> 0.68 s.
_HESSIAN_ELEMENTS = 1 << 16


@dataclass(frozen=True)
class TermGroup:
    """Density terms of one structure (see module doc).

    Attributes:
        members: positions of the member terms in the term list (and in ``data["events"]``).
        root: canonical name of the distribution.
        nodes: canonical nodes, by canonical name.
        index: canonical parameter name -> column of :attr:`gather`.
        gather: ``(members, parameters)`` indices into the value vector.
        observables: per member, its observable names in canonical order (``x0, x1, ...``).
        ranges: canonical observable and parameter name -> normalisation range.
        binnings: canonical observable name -> bin edges.
        domains: named domains with canonical variable names.
    """

    members: tuple[int, ...]
    root: str
    nodes: dict[str, Node]
    index: dict[str, int]
    gather: np.ndarray
    observables: tuple[tuple[str, ...], ...]
    ranges: dict[str, tuple[float, float]]
    binnings: dict[str, np.ndarray]
    domains: dict[str, dict[str, tuple[float, float]]]

    @property
    def canonical_observables(self) -> tuple[str, ...]:
        return tuple(f"x{j}" for j in range(len(self.observables[0])))

    def events_table(self, events: Sequence[Mapping[str, jax.Array]]) -> tuple[jax.Array, ...]:
        """``(members, max events)`` tables of each canonical observable and of the weights,
        from the members' entries of ``data["events"]`` (one concatenation and one static
        gather per array, whatever the number of members)."""
        sizes = [int(np.shape(events[k]["weights"])[0]) for k in self.members]
        width = max(sizes)
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        table = np.empty((len(sizes), width), dtype=np.int64)
        for row, (start, size) in enumerate(zip(starts, sizes, strict=True)):
            table[row, :size] = start + np.arange(size)
            table[row, size:] = start  # padding: the member's first event ...
        pad = np.arange(width)[None, :] >= np.asarray(sizes)[:, None]
        out = []
        for j in range(len(self.observables[0])):
            flat = jnp.concatenate(
                [jnp.asarray(events[k][self.observables[m][j]]) for m, k in enumerate(self.members)]
            )
            out.append(flat[table])
        weights = jnp.concatenate([jnp.asarray(events[k]["weights"]) for k in self.members])
        # ... with weight zero
        out.append(jnp.where(pad, 0.0, weights[table]))
        return tuple(out)

    def _member_inputs(
        self, values: jax.Array, events: Sequence[Mapping[str, jax.Array]]
    ) -> tuple[jax.Array, tuple[jax.Array, ...], jax.Array]:
        """The arguments of :meth:`_member` stacked over the members: their values, their
        observables' event columns and their weights."""
        *columns, weights = self.events_table(events)
        return values[self.gather], tuple(columns), weights

    def _member(self, make_scope: Callable[..., Any]) -> Callable[..., jax.Array]:
        """``(θ_k, points_k, w_k) -> ln L_k``: one member's Σ_i w_i ln p(x_i | θ_k) (minus
        ν − W ln ν, ROOT's extended term, for extended densities)."""
        names = self.canonical_observables

        def member(theta: jax.Array, points: tuple[jax.Array, ...], w: jax.Array) -> jax.Array:
            scope = make_scope(
                theta,
                self.index,
                self.nodes,
                dict(zip(names, points, strict=True)),
                self.ranges,
                self.binnings,
                self.domains,
            )
            total = jnp.sum(w * scope.log_prob(self.root))
            expected = scope.with_observables({}).expected_events(self.root)
            if expected is not None:
                total = total - (expected - jnp.sum(w) * jnp.log(expected))
            return total

        return member

    def log_likelihood(
        self,
        values: jax.Array,
        events: Sequence[Mapping[str, jax.Array]],
        make_scope: Callable[..., Any],
    ) -> jax.Array:
        """Σ over members of Σ_i w_i ln p(x_i) (minus ν − W ln ν for extended densities).

        ``make_scope(values, index, nodes, observables, ranges, binnings, domains)`` builds the
        evaluation scope (:class:`hs3jax.density.Scope`).
        """
        per_member = jax.vmap(self._member(make_scope))(*self._member_inputs(values, events))
        return jnp.sum(per_member)

    def asimov_weights(
        self,
        values: jax.Array,
        grid: Mapping[str, jax.Array],
        log_volume: jax.Array,
        observed_totals: jax.Array,
        make_scope: Callable[..., Any],
    ) -> jax.Array:
        """``(members, points)``: each member's Asimov weights N_k p(c | θ_k) ΔV at the points
        c of ``grid`` (canonical observable -> coordinates, one grid for all members: their
        observables' ranges agree), with ln ΔV per point ``log_volume``; N_k is the member's
        expected number of events where its density is extended, else ``observed_totals[k]``
        (its observed total weight). One traced function for all members, as
        :meth:`log_likelihood`."""

        def member(theta: jax.Array, observed_total: jax.Array) -> jax.Array:
            scope = make_scope(
                theta, self.index, self.nodes, dict(grid), self.ranges, self.binnings, self.domains
            )
            expected = scope.with_observables({}).expected_events(self.root)
            total = observed_total if expected is None else expected
            weights: jax.Array = total * jnp.exp(scope.log_prob(self.root) + log_volume)
            return weights

        out: jax.Array = jax.vmap(member)(values[self.gather], observed_totals)
        return out

    def member_hessians(
        self,
        values: jax.Array,
        events: Sequence[Mapping[str, jax.Array]],
        make_scope: Callable[..., Any],
    ) -> jax.Array:
        """``(members, K, K)``: each member's Hessian of ln L_k in its own K values
        ``values[gather[k]]``; K directions through the events instead of one per parameter.
        Members are taken a few at a time, so that K tangents of their events stay near
        :data:`_HESSIAN_ELEMENTS` floats."""
        inputs = self._member_inputs(values, events)
        hessian = jax.hessian(self._member(make_scope))
        width = max(1, int(inputs[2].shape[1]) * max(1, self.gather.shape[1]))
        batch = _divisor_batch(len(self.members), _HESSIAN_ELEMENTS // width)
        blocks: jax.Array = jax.lax.map(lambda args: hessian(*args), inputs, batch_size=batch)
        return blocks


def _divisor_batch(n: int, target: int) -> int:
    """Members per ``lax.map`` step: the largest divisor of ``n`` up to ``target`` (a remainder
    would be compiled as a second copy of the program), or ``target`` itself where every such
    divisor is under a quarter of it."""
    target = max(1, min(n, target))
    best = max(d for d in range(1, target + 1) if n % d == 0)
    return best if 4 * best >= target else target


@dataclass(frozen=True)
class _Canonical:
    signature: str
    core: str  # the signature without the parameters' ranges and the named domains
    root: str
    nodes: dict[str, Node]
    parameters: tuple[str, ...]  # actual names, in canonical order p0, p1, ...
    observables: tuple[str, ...]  # actual names, in canonical order x0, x1, ...
    ranges: dict[str, tuple[float, float]]
    binnings: dict[str, np.ndarray]
    domains: dict[str, dict[str, tuple[float, float]]]


def _strings(obj: Any) -> set[str]:
    """Every string value in a JSON-like tree (keys are field names, not references)."""
    if isinstance(obj, str):
        return {obj}
    values = obj.values() if isinstance(obj, dict) else obj if isinstance(obj, list | tuple) else ()
    out: set[str] = set()
    for v in values:
        out |= _strings(v)
    return out


def _canonical(
    root: str,
    observables: Sequence[str],
    nodes: Mapping[str, Node],
    is_value: Callable[[str, Node | None, Sequence[str]], bool],
    ranges: Mapping[str, tuple[float, float]],
    binnings: Mapping[str, np.ndarray],
    domains: Mapping[str, Mapping[str, tuple[float, float]]],
) -> _Canonical | None:
    """The term's tree with canonical names, or None when it cannot be renamed safely.

    ``is_value(name, node, observables)``: the name is read from the value vector (a parameter,
    global observable or precomputed function) rather than evaluated in the scope.
    """
    rename: dict[str, str] = {obs: f"x{j}" for j, obs in enumerate(observables)}
    parameters: list[str] = []
    order: list[str] = []
    queue = [root]
    rename[root] = "d0"
    while queue:
        name = queue.pop(0)
        node = nodes[name]
        order.append(name)
        for ref in node.references():
            target = ref.name
            if target in rename:
                continue
            child = nodes.get(target)
            if is_value(target, child, observables):
                rename[target] = f"p{len(parameters)}"
                parameters.append(target)
            elif child is not None:
                rename[target] = f"d{len(rename) - len(observables) - len(parameters)}"
                queue.append(target)
            else:
                return None  # an observable of another term, or unknown
    renamed: dict[str, Node] = {}
    described: list[Any] = []
    for name in order:
        copy = nodes[name].renamed(rename)
        if copy is None:
            return None  # the class cannot promise a faithful renamed copy
        text = copy.to_dict()
        if _strings(text) & (set(rename) - set(rename.values())):
            return None  # a renamed name is used outside the reference fields
        renamed[rename[name]] = copy
        described.append(text)
    canon_ranges = {rename[n]: ranges[n] for n in (*observables, *parameters) if n in ranges}
    canon_binnings = {rename[n]: binnings[n] for n in observables if n in binnings}
    # named domains restricted to this term's variables (the others cannot be reached from it)
    canon_domains = {
        d: {rename[v]: b for v, b in bounds.items() if v in rename} for d, bounds in domains.items()
    }
    core_parts = [
        described,
        sorted((k, v) for k, v in canon_ranges.items() if k.startswith("x")),
        sorted((k, v.tolist()) for k, v in canon_binnings.items()),
    ]
    extra_parts = [
        sorted((k, v) for k, v in canon_ranges.items() if not k.startswith("x")),
        sorted((d, sorted(b.items())) for d, b in canon_domains.items()),
    ]
    core = json.dumps(core_parts, sort_keys=True, default=repr)
    signature = json.dumps([*core_parts, *extra_parts], sort_keys=True, default=repr)
    return _Canonical(
        signature,
        core,
        "d0",
        renamed,
        tuple(parameters),
        tuple(observables),
        canon_ranges,
        canon_binnings,
        canon_domains,
    )


def group_terms(
    terms: Sequence[tuple[str, Sequence[str], bool]],
    nodes: Mapping[str, Node],
    value_index: Mapping[str, int],
    is_value: Callable[[str, Node | None, Sequence[str]], bool],
    ranges: Sequence[Mapping[str, tuple[float, float]]],
    binnings: Mapping[str, np.ndarray],
    domains: Mapping[str, Mapping[str, tuple[float, float]]],
    range_reads: Callable[[int], AbstractSet[str] | None] | None = None,
) -> tuple[list[TermGroup], list[int]]:
    """Group density terms ``(distribution, observables, groupable)`` of one structure.

    ``ranges[k]``: the normalisation ranges of term k. Returns the groups (two or more members
    each) and the positions of the terms left to be evaluated one by one.

    Terms that differ only in the ranges of their parameters or in named domains (the yields
    of channels with different numbers of events, bounded at a multiple of them) form one
    group where ``range_reads(k)``, the variables whose ranges term k reads when evaluated
    (None: unknown, or a named domain read), names none of its parameters: 30 unbinned
    channels each compiled apart took 29 s to compile their value and gradient, 2.4 s grouped.
    """
    by_core: dict[str, list[tuple[int, _Canonical]]] = {}
    single: list[int] = []
    for k, (name, observables, groupable) in enumerate(terms):
        canon = (
            _canonical(name, observables, nodes, is_value, ranges[k], binnings, domains)
            if groupable
            else None
        )
        if canon is None:
            single.append(k)
        else:
            by_core.setdefault(canon.core, []).append((k, canon))
    buckets: list[list[tuple[int, _Canonical]]] = []
    for members in by_core.values():
        if len({c.signature for _, c in members}) > 1 and not _ranges_unread(
            members[0], range_reads
        ):
            by_signature: dict[str, list[tuple[int, _Canonical]]] = {}
            for k, c in members:
                by_signature.setdefault(c.signature, []).append((k, c))
            buckets.extend(by_signature.values())
        else:
            buckets.append(members)
    groups: list[TermGroup] = []
    for members in buckets:
        if len(members) < 2:
            single.extend(k for k, _ in members)
            continue
        first = members[0][1]
        groups.append(
            TermGroup(
                members=tuple(k for k, _ in members),
                root=first.root,
                nodes=first.nodes,
                index={f"p{j}": j for j in range(len(first.parameters))},
                gather=np.asarray(
                    [[value_index[p] for p in c.parameters] for _, c in members], dtype=np.int64
                ).reshape(len(members), len(first.parameters)),
                observables=tuple(c.observables for _, c in members),
                ranges=first.ranges,
                binnings=first.binnings,
                domains=first.domains,
            )
        )
    groups.sort(key=lambda g: g.members[0])
    return groups, sorted(single)


def _ranges_unread(
    member: tuple[int, _Canonical], range_reads: Callable[[int], AbstractSet[str] | None] | None
) -> bool:
    """Whether evaluating the term reads no range of its parameters and no named domain."""
    if range_reads is None:
        return False
    reads = range_reads(member[0])
    return reads is not None and not (reads & set(member[1].parameters))


class RangeReads(Mapping[str, Any]):
    """A read-only view of a mapping that records the keys looked up in it; iterating over it
    (reading every key) sets :attr:`everything`."""

    def __init__(self, inner: Mapping[str, Any]) -> None:
        self._inner = inner
        self.keys_read: set[str] = set()
        self.everything = False

    def __getitem__(self, key: str) -> Any:
        self.keys_read.add(key)
        return self._inner[key]

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str):
            self.keys_read.add(key)
        return key in self._inner

    def __iter__(self) -> Iterator[str]:
        self.everything = True
        return iter(self._inner)

    def __len__(self) -> int:
        return len(self._inner)

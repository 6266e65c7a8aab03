"""The dependency graph of a likelihood: references resolved into a ``networkx.DiGraph``.

Nodes are distributions, functions, parameters and observables, keyed by name, with an edge
from each input to the node that uses it. Building the graph checks the document's structure:
duplicate names, references to distributions that do not exist, and cycles are reported with
names and JSON paths. The graph is pruned to what one likelihood needs and sorted
topologically for lowering.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import networkx as nx

from hs3jax.errors import CycleError, DocumentError, DuplicateNameError, MissingReferenceError
from hs3jax.schema.base import Distribution, Function, Node
from hs3jax.schema.document import Document, Likelihood

__all__ = ["ModelGraph", "build_graph"]


@dataclass(frozen=True)
class ModelGraph:
    """The pruned dependency graph of one likelihood.

    ``graph``: DiGraph whose nodes carry ``kind`` ("distribution", "function", "parameter",
    "observable") and, for document nodes, ``node`` (the pydantic object) and ``path``.
    ``order``: the document nodes in topological order (inputs before users).
    """

    graph: nx.DiGraph
    order: tuple[str, ...]
    likelihood: Likelihood

    def node(self, name: str) -> Node:
        node: Node = self.graph.nodes[name]["node"]
        return node

    def nodes_of_kind(self, kind: str) -> list[str]:
        return [n for n, d in self.graph.nodes(data=True) if d["kind"] == kind]

    @property
    def parameters(self) -> tuple[str, ...]:
        """Names referenced by the likelihood that are neither nodes nor observables, sorted."""
        return tuple(sorted(self.nodes_of_kind("parameter")))


def _index(doc: Document, file: str | None) -> dict[str, tuple[Node, tuple[str | int, ...]]]:
    table: dict[str, tuple[Node, tuple[str | int, ...]]] = {}
    sections: Iterable[tuple[str, list[Distribution] | list[Function]]] = (
        ("distributions", doc.distributions),
        ("functions", doc.functions),
    )
    for section, nodes in sections:
        for i, node in enumerate(nodes):
            if node.name in table:
                _, first = table[node.name]
                raise DuplicateNameError(
                    f"name {node.name!r} is used twice (first at {first[0]}[{first[1]}])",
                    file=file,
                    path=(section, i, "name"),
                    expected="a unique name",
                    found=node.name,
                )
            table[node.name] = (node, (section, i))
    return table


def build_graph(
    doc: Document,
    likelihood: Likelihood,
    *,
    file: str | None = None,
    extra_roots: Iterable[str] = (),
) -> ModelGraph:
    """Resolve the references of ``likelihood`` into a checked, pruned DiGraph."""
    table = _index(doc, file)
    data_names = {d.name for d in doc.data}
    observables = {axis.name for d in doc.data for axis in getattr(d, "axes", [])}
    try:
        lik_index = doc.likelihoods.index(likelihood)
    except ValueError:
        lik_index = 0
    lik_path: tuple[str | int, ...] = ("likelihoods", lik_index)

    roots: list[tuple[str, tuple[str | int, ...]]] = []
    for i, name in enumerate(likelihood.distributions):
        roots.append((name, (*lik_path, "distributions", i)))
    for i, name in enumerate(likelihood.aux_distributions or []):
        roots.append((name, (*lik_path, "aux_distributions", i)))
    for i, datum in enumerate(likelihood.data):
        if isinstance(datum, str) and datum not in data_names:
            raise MissingReferenceError(
                f"likelihood {likelihood.name!r} refers to dataset {datum!r}, which does not exist",
                file=file,
                path=(*lik_path, "data", i),
                expected="the name of an entry of 'data'",
                found=datum,
                known=data_names,
            )
    for name in extra_roots:
        roots.append((name, lik_path))

    graph = nx.DiGraph()
    stack = []
    for name, path in roots:
        if name not in table or table[name][0].kind != "distribution":
            raise MissingReferenceError(
                f"likelihood {likelihood.name!r} refers to distribution {name!r}, which does not exist",
                file=file,
                path=path,
                expected="the name of a distribution",
                found=name,
                known=[n for n, (node, _) in table.items() if node.kind == "distribution"],
            )
        stack.append(name)

    # variables a node integrates out (a projection's observables) are observables, not parameters
    integrated: set[str] = set()
    while stack:
        name = stack.pop()
        if name in graph and graph.nodes[name].get("node") is not None:
            continue
        node, path = table[name]
        graph.add_node(name, kind=node.kind, node=node, path=path)
        bound = getattr(node, "integration_variables", None)
        if callable(bound):
            integrated.update(bound())
        for ref in node.references():
            ref_path = (*path, *ref.path)
            if ref.name in table:
                target, _ = table[ref.name]
                if _expects_distribution(node, ref.path) and target.kind != "distribution":
                    raise DocumentError(
                        f"{node.type} {name!r} needs a distribution here, but {ref.name!r} is a {target.kind}",
                        file=file,
                        path=ref_path,
                        expected="the name of a distribution",
                        found=ref.name,
                    )
                graph.add_edge(ref.name, name, path=ref_path)
                if ref.name not in graph or graph.nodes[ref.name].get("node") is None:
                    stack.append(ref.name)
            else:
                if _expects_distribution(node, ref.path):
                    raise MissingReferenceError(
                        f"{node.type} {name!r} refers to distribution {ref.name!r}, which does not exist",
                        file=file,
                        path=ref_path,
                        expected="the name of a distribution",
                        found=ref.name,
                        known=[n for n, (d, _) in table.items() if d.kind == "distribution"],
                    )
                kind = "observable" if ref.name in observables else "parameter"
                if ref.name not in graph:
                    graph.add_node(ref.name, kind=kind, node=None, path=ref_path)
                graph.add_edge(ref.name, name, path=ref_path)

    for name in integrated:
        if name in graph and graph.nodes[name]["kind"] == "parameter":
            graph.nodes[name]["kind"] = "observable"

    try:
        cycle = nx.find_cycle(graph)
    except nx.NetworkXNoCycle:
        cycle = None
    if cycle:
        names = [edge[0] for edge in cycle] + [cycle[0][0]]
        first = graph.nodes[cycle[0][1]]
        raise CycleError(
            f"references form a cycle: {' -> '.join(names)}",
            file=file,
            path=first["path"],
            expected="references without cycles",
            found=names,
        )
    order = tuple(n for n in nx.topological_sort(graph) if graph.nodes[n]["node"] is not None)
    return ModelGraph(graph=graph, order=order, likelihood=likelihood)


def _expects_distribution(node: Node, path: tuple[str | int, ...]) -> bool:
    """Whether the reference at ``path`` in ``node`` must name a distribution."""
    if not path:
        return False
    head = path[0]
    if path[-1] == "constraint_name":
        return True
    spec = type(node).ref_fields().get(str(head))
    return spec is not None and spec.distribution

"""Base classes of every node: the document layer of a distribution or function.

A node type is one small class: its pydantic fields, which of them reference other nodes or
parameters (marked with :data:`Ref`, :data:`RefList` or :data:`Observable`), and one pure JAX
function of its resolved inputs. Nodes of one type are lowered together: the compiler gathers
each reference field of all nodes of the type into one array and calls the class's function
once, so the function must broadcast over a leading axis (scalar fields arrive with shape
``(n,)``, list fields padded to ``(n, k)``).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar

import jax
from jax.typing import ArrayLike
from pydantic import BaseModel, ConfigDict, PrivateAttr, model_validator

__all__ = [
    "DistRef",
    "DistRefList",
    "Distribution",
    "Function",
    "Node",
    "Observable",
    "Ref",
    "RefList",
    "RefSpec",
    "Reference",
]


@dataclass(frozen=True)
class RefSpec:
    """Marks a field as a reference: a name (str) or a literal number.

    ``many``: the field is a list of references, padded with ``pad`` when nodes are stacked.
    ``observable``: the field names the random variable of a distribution (HS3 ``x``).
    """

    many: bool = False
    pad: float = 0.0
    observable: bool = False
    distribution: bool = False


#: A reference to a parameter, function or distribution by name, or a literal number.
Ref = Annotated[str | float, RefSpec()]
#: A list of references; stacked nodes are padded with 0.
RefList = Annotated[list[str | float], RefSpec(many=True)]
#: The random variable of a distribution: an observable, or a parameter when used as a constraint.
Observable = Annotated[str | float, RefSpec(observable=True)]
#: A reference to another distribution (composite densities).
DistRef = Annotated[str, RefSpec(distribution=True)]
#: A list of references to distributions.
DistRefList = Annotated[list[str], RefSpec(many=True, distribution=True)]


@dataclass(frozen=True)
class Reference:
    """One reference found in a node: the name and the JSON path (relative to the node)."""

    name: str
    path: tuple[str | int, ...]


class Node(BaseModel):
    """A named node of an HS3 document. Keys a class does not declare are kept."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, protected_namespaces=())

    kind: ClassVar[str] = ""
    hs3_types: ClassVar[tuple[str, ...]] = ()

    name: str
    type: str
    _source: dict[str, Any] | None = PrivateAttr(default=None)

    @classmethod
    def ref_fields(cls) -> dict[str, RefSpec]:
        """The reference fields of this class, in declaration order."""
        out: dict[str, RefSpec] = {}
        for field_name, info in cls.model_fields.items():
            for meta in info.metadata:
                if isinstance(meta, RefSpec):
                    out[field_name] = meta
        return out

    def references(self) -> Iterator[Reference]:
        """Every name this node refers to (numbers are literals, not references)."""
        for field_name, spec in self.ref_fields().items():
            alias = type(self).model_fields[field_name].alias or field_name
            value = getattr(self, field_name)
            if value is None:
                continue
            if spec.many:
                for i, item in enumerate(value):
                    if isinstance(item, str):
                        yield Reference(item, (alias, i))
            elif isinstance(value, str):
                yield Reference(value, (alias,))

    def renamed(self, names: Mapping[str, str]) -> Node | None:
        """A copy with its own name and every reference ``r`` renamed to ``names[r]`` (names not
        in ``names`` kept), or None where this class cannot promise a faithful copy.

        Used to recognise nodes of one structure under different names (see
        :mod:`hs3jax.term_groups`). The default renames the reference fields; it declines for a
        class that finds references elsewhere (it overrides :meth:`references`) or evaluates
        itself from the scope (``evaluate``), since the names it reads are not all in those
        fields. Such a class may override this method to support renaming.
        """
        cls = type(self)
        if cls.references is not Node.references or callable(getattr(self, "evaluate", None)):
            return None
        update: dict[str, Any] = {"name": names.get(self.name, self.name)}
        for field_name, spec in cls.ref_fields().items():
            value = getattr(self, field_name)
            if value is None:
                continue
            if spec.many:
                update[field_name] = [names.get(v, v) if isinstance(v, str) else v for v in value]
            elif isinstance(value, str):
                update[field_name] = names.get(value, value)
        return self.model_copy(update=update)

    def check(self) -> None:
        """Checks across fields, run after parsing; raise DocumentError with a relative path."""

    @model_validator(mode="wrap")
    @classmethod
    def _keep_source(cls, data: Any, handler: Any) -> Any:
        node = handler(data)
        if isinstance(data, dict) and isinstance(node, Node):
            node._source = copy.deepcopy(data)
        return node

    def to_dict(self) -> dict[str, Any]:
        """The node as JSON data, with the keys it was read with (unknown keys included).

        A node that still holds what it was read from is written back exactly as read (numbers
        written as strings by ROOT stay strings, for instance); a changed node is dumped.
        """
        source = self._source
        if source is not None and type(self).model_validate(source) == self:
            return copy.deepcopy(source)
        return self.model_dump(by_alias=True, exclude_unset=True, mode="json")


class Function(Node):
    """A real-valued function of parameters and other functions (HS3 ``functions``).

    Subclasses implement :meth:`value` as a pure JAX function of the reference fields,
    broadcasting over a leading node axis.
    """

    kind: ClassVar[str] = "function"

    @staticmethod
    def value(**inputs: ArrayLike) -> jax.Array:  # pragma: no cover - abstract
        raise NotImplementedError


class Distribution(Node):
    """A probability density (HS3 ``distributions``).

    Subclasses implement :meth:`log_density`, the unnormalised log-density as a pure JAX function
    of the reference fields (broadcasting), and where known :meth:`log_integral`, the log of its
    integral over ``[lo, hi]`` in the observable, used to normalise over the observable's range.
    """

    kind: ClassVar[str] = "distribution"

    @staticmethod
    def log_density(**inputs: ArrayLike) -> jax.Array:  # pragma: no cover - abstract
        raise NotImplementedError

    @staticmethod
    def log_integral(lo: ArrayLike, hi: ArrayLike, **inputs: ArrayLike) -> jax.Array | None:
        """log ∫_lo^hi exp(log_density) dx, or None where the class has no closed form."""
        return None

    def observables(self) -> tuple[str, ...]:
        """Names of the random variables (fields marked :data:`Observable`)."""
        names: list[str] = []
        for field_name, spec in self.ref_fields().items():
            value = getattr(self, field_name)
            if spec.observable and isinstance(value, str):
                names.append(value)
        return tuple(names)

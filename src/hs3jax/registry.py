"""The open registry of node types.

Every distribution and function type hs3jax understands is a class registered here under its
HS3 ``type`` string. The built-in nodes register with the same public decorator users call, so
a user-registered type is parsed from JSON, checked in the graph, lowered to JAX and written
back exactly like a built-in one::

    @hs3jax.register("my_dist")
    class MyDist(hs3jax.Distribution):
        x: Ref
        mean: Ref

        @staticmethod
        def log_density(x, mean):
            return -0.5 * (x - mean) ** 2
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from hs3jax.schema.base import Node

__all__ = ["known_types", "lookup", "register", "registered"]

N = TypeVar("N", bound="type[Node]")

# kind ("distribution" | "function") -> HS3 type string -> node class
_REGISTRY: dict[str, dict[str, type[Node]]] = {"distribution": {}, "function": {}}


def register(*type_names: str, replace: bool = False) -> Callable[[N], N]:
    """Register a node class under one or more HS3 ``type`` strings.

    The class must derive from :class:`hs3jax.Distribution` or :class:`hs3jax.Function`; that
    decides which section of the document (``distributions`` or ``functions``) it is read from.
    Registering a name twice is an error unless ``replace=True`` (to override a built-in).
    """
    if not type_names:
        raise TypeError("register() needs at least one HS3 type name")

    def decorate(cls: N) -> N:
        kind = getattr(cls, "kind", None)
        if kind not in _REGISTRY:
            raise TypeError(
                f"{cls.__name__} must derive from hs3jax.Distribution or hs3jax.Function"
            )
        table = _REGISTRY[kind]
        for name in type_names:
            if name in table and table[name] is not cls and not replace:
                raise ValueError(
                    f"HS3 type {name!r} is already registered to {table[name].__qualname__}; "
                    "pass replace=True to override it"
                )
            table[name] = cls
        if not getattr(cls, "hs3_types", ()):
            cls.hs3_types = tuple(type_names)
        return cls

    return decorate


def lookup(kind: str, type_name: str) -> type[Node] | None:
    """The class registered for ``type_name`` in section ``kind``, or None."""
    return _REGISTRY[kind].get(type_name)


def known_types(kind: str) -> tuple[str, ...]:
    """All type names registered in section ``kind``, sorted."""
    return tuple(sorted(_REGISTRY[kind]))


def registered() -> Mapping[str, Mapping[str, type[Node]]]:
    """A read-only view of the whole registry (kind -> type -> class)."""
    return {kind: dict(table) for kind, table in _REGISTRY.items()}

"""The expression tree: immutable nodes built by :func:`hs3jax.expr.parse`.

Nodes are frozen dataclasses, compare by value and hash, so a parsed expression can be a
dictionary key or a static field of a JAX PyTree. Constructors check their arguments, so a tree
built by hand is as valid as a parsed one (and :func:`hs3jax.expr.to_string` prints it back).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, get_args

from hs3jax.expr._functions import CONSTANTS, FUNCTIONS

__all__ = [
    "BINARY_OPS",
    "UNARY_OPS",
    "Binary",
    "BinaryOp",
    "Call",
    "Const",
    "ConstName",
    "Expr",
    "Num",
    "Ternary",
    "Unary",
    "UnaryOp",
    "Var",
    "else_chain",
    "left_spine",
    "rename",
]

UnaryOp = Literal["+", "-", "!"]
BinaryOp = Literal[
    "+", "-", "*", "/", "^", "==", "===", "!=", "!==", "<", "<=", ">", ">=", "&&", "||"
]
ConstName = Literal["TRUE", "FALSE", "PI", "EULER"]

UNARY_OPS: frozenset[str] = frozenset(get_args(UnaryOp))
BINARY_OPS: frozenset[str] = frozenset(get_args(BinaryOp))

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|@[0-9]+")


class Expr:
    """Base class of the expression nodes (abstract: instantiate a subclass)."""

    __slots__ = ()

    @property
    def children(self) -> tuple[Expr, ...]:
        """The direct sub-expressions, left to right."""
        return ()

    @property
    def variables(self) -> frozenset[str]:
        """The free names the expression refers to (constants and functions excluded)."""
        found: set[str] = set()
        stack: list[Expr] = [self]
        while stack:
            node = stack.pop()
            if isinstance(node, Var):
                found.add(node.name)
            stack.extend(node.children)
        return frozenset(found)

    def _key(self) -> tuple[object, ...]:
        """The node's own data (not its children), for equality and hashing."""
        raise NotImplementedError

    def __eq__(self, other: object) -> bool:
        # Iterative, so long chains such as a + b + ... compare without deep recursion.
        if not isinstance(other, Expr):
            return NotImplemented
        stack: list[tuple[Expr, Expr]] = [(self, other)]
        while stack:
            a, b = stack.pop()
            if a is b:
                continue
            if type(a) is not type(b) or a._key() != b._key():
                return False
            stack.extend(zip(a.children, b.children, strict=True))
        return True

    def __hash__(self) -> int:
        keys: list[tuple[object, ...]] = []
        stack: list[Expr] = [self]
        while stack:
            node = stack.pop()
            keys.append((type(node).__name__, *node._key()))
            stack.extend(reversed(node.children))
        return hash(tuple(keys))

    def __str__(self) -> str:
        from hs3jax.expr._printer import to_string

        return to_string(self)


def left_spine(expr: Expr) -> tuple[Expr, list[Binary]]:
    """Split off the chain of binary nodes along ``.left``: ``(a, [a+b, (a+b)+c, ...])``.

    Walkers fold this chain in a loop, so a long left-associative chain (``a + b + c + ...``)
    needs no deep recursion.
    """
    chain: list[Binary] = []
    while isinstance(expr, Binary):
        chain.append(expr)
        expr = expr.left
    chain.reverse()
    return expr, chain


def else_chain(expr: Ternary) -> tuple[list[Ternary], Expr]:
    """Split an else-if ladder ``c1 ? a1 : c2 ? a2 : e`` into ``([t1, t2], e)``."""
    ladder: list[Ternary] = []
    node: Expr = expr
    while isinstance(node, Ternary):
        ladder.append(node)
        node = node.if_false
    return ladder, node


@dataclass(frozen=True, slots=True, eq=False)
class Num(Expr):
    """A finite number literal (the parser only makes non-negative ones)."""

    value: float

    def __post_init__(self) -> None:
        if isinstance(self.value, bool) or not isinstance(self.value, int | float):
            raise TypeError(f"Num needs a float, got {self.value!r}")
        if not math.isfinite(self.value):
            raise ValueError(f"Num needs a finite value, got {self.value!r}")
        object.__setattr__(self, "value", float(self.value))

    def _key(self) -> tuple[object, ...]:
        return (self.value,)


@dataclass(frozen=True, slots=True, eq=False)
class Const(Expr):
    """A named constant: ``TRUE`` (1), ``FALSE`` (0), ``PI`` or ``EULER`` (e)."""

    name: ConstName

    def __post_init__(self) -> None:
        if self.name not in CONSTANTS:
            raise ValueError(f"unknown constant {self.name!r}; known: {sorted(CONSTANTS)}")

    def _key(self) -> tuple[object, ...]:
        return (self.name,)

    @property
    def value(self) -> float:
        """The constant's numerical value."""
        return CONSTANTS[self.name]


@dataclass(frozen=True, slots=True, eq=False)
class Var(Expr):
    """A free name: a parameter, an observable, another node, or ROOT's positional ``@i``."""

    name: str

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.fullmatch(self.name):
            raise ValueError(f"not a variable name: {self.name!r}")
        if self.name in CONSTANTS:
            raise ValueError(f"{self.name!r} is a constant, not a variable name")

    def _key(self) -> tuple[object, ...]:
        return (self.name,)


@dataclass(frozen=True, slots=True, eq=False)
class Unary(Expr):
    """A prefix operator: ``-a``, ``+a`` or ``!a``."""

    op: UnaryOp
    operand: Expr

    def __post_init__(self) -> None:
        if self.op not in UNARY_OPS:
            raise ValueError(f"unknown unary operator {self.op!r}")
        if not isinstance(self.operand, Expr):
            raise TypeError(f"operand must be an Expr, got {self.operand!r}")

    def _key(self) -> tuple[object, ...]:
        return (self.op,)

    @property
    def children(self) -> tuple[Expr, ...]:
        return (self.operand,)


@dataclass(frozen=True, slots=True, eq=False)
class Binary(Expr):
    """An infix operator: arithmetic, comparison or logical."""

    op: BinaryOp
    left: Expr
    right: Expr

    def __post_init__(self) -> None:
        if self.op not in BINARY_OPS:
            raise ValueError(f"unknown binary operator {self.op!r}")
        if not isinstance(self.left, Expr) or not isinstance(self.right, Expr):
            raise TypeError("operands must be Expr")

    def _key(self) -> tuple[object, ...]:
        return (self.op,)

    @property
    def children(self) -> tuple[Expr, ...]:
        return (self.left, self.right)


@dataclass(frozen=True, slots=True, eq=False)
class Ternary(Expr):
    """``condition ? if_true : if_false`` (HS3's ``ifelse``); true means ``condition != 0``."""

    condition: Expr
    if_true: Expr
    if_false: Expr

    def __post_init__(self) -> None:
        if not all(isinstance(c, Expr) for c in self.children):
            raise TypeError("operands must be Expr")

    def _key(self) -> tuple[object, ...]:
        return ()

    @property
    def children(self) -> tuple[Expr, ...]:
        return (self.condition, self.if_true, self.if_false)


@dataclass(frozen=True, slots=True, eq=False)
class Call(Expr):
    """A call of a known function, by its canonical name (aliases are resolved by the parser)."""

    function: str
    args: tuple[Expr, ...]

    def __post_init__(self) -> None:
        spec = FUNCTIONS.get(self.function)
        if spec is None:
            raise ValueError(f"unknown function {self.function!r}; known: {sorted(FUNCTIONS)}")
        if not isinstance(self.args, tuple) or not all(isinstance(a, Expr) for a in self.args):
            raise TypeError("args must be a tuple of Expr")
        if not spec.accepts(len(self.args)):
            raise ValueError(f"{self.function} takes {spec.arity_text}, got {len(self.args)}")

    def _key(self) -> tuple[object, ...]:
        return (self.function, len(self.args))

    @property
    def children(self) -> tuple[Expr, ...]:
        return self.args


def rename(expr: Expr, names: Mapping[str, str]) -> Expr:
    """``expr`` with each free name ``v`` replaced by ``names[v]`` (names not in it kept).

    Rebuilt bottom-up with an explicit stack, so long chains need no deep recursion; shared
    sub-trees stay shared.
    """
    built: dict[int, Expr] = {}
    stack: list[tuple[Expr, bool]] = [(expr, False)]
    while stack:
        node, children_done = stack.pop()
        if id(node) in built:
            continue
        if not children_done:
            stack.append((node, True))
            stack.extend((c, False) for c in node.children if id(c) not in built)
            continue
        kids = tuple(built[id(c)] for c in node.children)
        new: Expr
        if isinstance(node, Var):
            new = Var(names.get(node.name, node.name))
        elif isinstance(node, Unary):
            new = Unary(node.op, kids[0])
        elif isinstance(node, Binary):
            new = Binary(node.op, kids[0], kids[1])
        elif isinstance(node, Ternary):
            new = Ternary(kids[0], kids[1], kids[2])
        elif isinstance(node, Call):
            new = Call(node.function, kids)
        else:  # Num, Const: no names
            new = node
        built[id(node)] = new
    return built[id(expr)]

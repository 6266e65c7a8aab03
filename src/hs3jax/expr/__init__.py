r"""The HS3 expression language: parse text into a tree, print it, lower it to sympy or JAX.

Used by ``generic_function`` and ``generic_dist``. Text is parsed by our own recursive-descent
parser into an immutable tree (:class:`Expr`); nothing is ever evaluated as Python, and sympy only
sees trees we build, never the file's text.

Grammar (EBNF; whitespace between tokens is ignored)::

    expression  = ternary ;
    ternary     = or_expr , [ "?" , ternary , ":" , ternary ] ;        (* right-associative *)
    or_expr     = and_expr , { "||" , and_expr } ;
    and_expr    = equality , { "&&" , equality } ;
    equality    = relation , { ( "==" | "===" | "!=" | "!==" ) , relation } ;
    relation    = additive , { ( "<" | "<=" | ">" | ">=" ) , additive } ;
    additive    = term , { ( "+" | "-" ) , term } ;
    term        = unary , { ( "*" | "/" ) , unary } ;
    unary       = ( "+" | "-" | "!" ) , unary | power ;
    power       = primary , [ "^" , unary ] ;          (* right-assoc: 2^3^2 = 2^9 *)
    primary     = number | constant | name | positional | "x" , "[" , digits , "]"
                | function , "(" , [ ternary , { "," , ternary } ] , ")"
                | "(" , ternary , ")" ;
    number      = ( digits , [ "." , [ digits ] ] | "." , digits ) , [ ( "e" | "E" ) ,
                  [ "+" | "-" ] , digits ] ;           (* 12  1.5  .5  5.  1e-3  1.2E+4 *)
    constant    = "TRUE" | "FALSE" | "PI" | "EULER" | "TMath::Pi()" | "TMath::E()" ;
    name        = letter_ , { letter_ | digit } ;      (* letter_: A-Z a-z _ ; ASCII only *)
    positional  = "@" , digits ;                       (* ROOT's @0, @1, ... *)
    function    = name , { "::" , name } ;             (* qualified names only before "(" *)

Precedence, loosest first (all binary levels left-associative except ``^``):

    ====  ==========================  ======================================================
    1     ``c ? a : b``               conditional, right-associative; also ``ifelse(c, a, b)``
    2     ``||``                      logical or
    3     ``&&``                      logical and
    4     ``==  ===  !=  !==``        (approximately / exactly) equal, not equal
    5     ``<  <=  >  >=``            ordering
    6     ``+  -``                    addition, subtraction
    7     ``*  /``                    multiplication, floating-point division
    8     ``+a  -a  !a``              prefix operators
    9     ``a ^ b``                   power, right-associative; ``-x^2 = -(x^2)``, ``2^-1 = 0.5``
    ====  ==========================  ======================================================

Semantics: comparisons and logical operators give 1.0 or 0.0; a value is true when it is not 0
(so NaN is true); ``c ? a : b`` is ``a`` where ``c != 0``. ``a == b`` is approximate (within 4
units in the last place, as HS3 recommends), ``a === b`` exact. Functions: ``exp log sqrt abs
pow min max sin cos tan asin acos atan atan2 erf erfc log10 cosh sinh tanh floor ceil`` (``min``
and ``max`` take 2 or more arguments), ROOT's ``TMath::Exp``-style names and ``TMath::Gaus(x,
mean, sigma[, norm])``, the ``std::`` spellings, and HS3's ``ifelse(c, a, b)``. ROOT's ``@i`` and
``x[i]`` refer to a caller-supplied list of names (``parse(text, positional=names)``).

Errors are :class:`hs3jax.errors.ExpressionError` naming the character offset, with a caret under
the problem, what was expected and what was found. Nesting (parentheses, calls, prefix operators,
powers, the middle of a conditional) is limited to 100 levels; chains such as ``a + b + ...`` and
else-if ladders ``c1 ? a1 : c2 ? a2 : ...`` are folded in loops and have no limit.

Lowering: :func:`to_jax` compiles a tree to a pure, ``jit``/``grad``/``vmap``-able function;
:func:`to_sympy` and :func:`diff_sympy` give symbolic forms and derivatives, and
:func:`to_jax_from_sympy` compiles those through a whitelist walker (no ``lambdify``). Inside
conditional branches, unsafe inputs (of ``sqrt``, ``log``, ``/``, ``^``...) are replaced where the
branch is not taken, so gradients stay NaN-free.
"""

import importlib
from typing import TYPE_CHECKING, Any

from hs3jax.expr._ast import Binary as Binary
from hs3jax.expr._ast import Call as Call
from hs3jax.expr._ast import Const as Const
from hs3jax.expr._ast import Expr as Expr
from hs3jax.expr._ast import Num as Num
from hs3jax.expr._ast import Ternary as Ternary
from hs3jax.expr._ast import Unary as Unary
from hs3jax.expr._ast import Var as Var
from hs3jax.expr._ast import rename as rename
from hs3jax.expr._functions import CONSTANTS as CONSTANTS
from hs3jax.expr._functions import FUNCTIONS as FUNCTIONS
from hs3jax.expr._functions import KNOWN_FUNCTIONS as KNOWN_FUNCTIONS
from hs3jax.expr._functions import FunctionSpec as FunctionSpec
from hs3jax.expr._jax import to_jax as to_jax
from hs3jax.expr._parser import parse as parse
from hs3jax.expr._printer import to_string as to_string

if TYPE_CHECKING:
    from hs3jax.expr._sympy import diff_sympy as diff_sympy
    from hs3jax.expr._sympy import symbol as symbol
    from hs3jax.expr._sympy import to_sympy as to_sympy
    from hs3jax.expr._sympy_jax import to_jax_from_sympy as to_jax_from_sympy

# the sympy side is imported on first use: models never need it, and sympy is 0.23 s of
# ``import hs3jax``
_SYMPY_ATTRIBUTES = {
    "diff_sympy": "hs3jax.expr._sympy",
    "symbol": "hs3jax.expr._sympy",
    "to_sympy": "hs3jax.expr._sympy",
    "to_jax_from_sympy": "hs3jax.expr._sympy_jax",
}


def __getattr__(name: str) -> Any:
    module = _SYMPY_ATTRIBUTES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = [
    "CONSTANTS",
    "FUNCTIONS",
    "KNOWN_FUNCTIONS",
    "Binary",
    "Call",
    "Const",
    "Expr",
    "FunctionSpec",
    "Num",
    "Ternary",
    "Unary",
    "Var",
    "diff_sympy",
    "parse",
    "rename",
    "symbol",
    "to_jax",
    "to_jax_from_sympy",
    "to_string",
    "to_sympy",
]

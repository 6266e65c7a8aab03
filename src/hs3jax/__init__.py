"""hs3jax: HS3 and pyhf JSON statistical models as one jit-compiled, differentiable JAX likelihood.

>>> import hs3jax
>>> ws = hs3jax.load("model.json")          # doctest: +SKIP
>>> model = ws.model()                      # doctest: +SKIP
>>> model.nll(model.init)                   # doctest: +SKIP
"""

from hs3jax import nodes as _nodes  # noqa: F401  (registers the built-in node types)
from hs3jax.errors import (
    CycleError as CycleError,
    DocumentError as DocumentError,
    DuplicateNameError as DuplicateNameError,
    ExpressionError as ExpressionError,
    FormatError as FormatError,
    HS3JaxError as HS3JaxError,
    MissingReferenceError as MissingReferenceError,
    ModelError as ModelError,
    UnknownTypeError as UnknownTypeError,
)
from hs3jax.model import Model as Model
from hs3jax.registry import known_types as known_types, register as register
from hs3jax.schema.base import (
    Distribution as Distribution,
    Function as Function,
    Observable as Observable,
    Ref as Ref,
    RefList as RefList,
)
from hs3jax.workspace import Workspace as Workspace, dump as dump, load as load

__version__ = "0.1.0"

__all__ = [
    "CycleError",
    "Distribution",
    "DocumentError",
    "DuplicateNameError",
    "ExpressionError",
    "FormatError",
    "Function",
    "HS3JaxError",
    "MissingReferenceError",
    "Model",
    "ModelError",
    "Observable",
    "Ref",
    "RefList",
    "UnknownTypeError",
    "Workspace",
    "dump",
    "known_types",
    "load",
    "register",
]

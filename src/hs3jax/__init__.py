"""hs3jax: HS3 and pyhf JSON statistical models as one jit-compiled, differentiable JAX likelihood.

>>> import hs3jax
>>> ws = hs3jax.load("model.json")          # doctest: +SKIP
>>> model = ws.model()                      # doctest: +SKIP
>>> model.nll(model.init)                   # doctest: +SKIP
"""

from hs3jax import nodes as _nodes  # noqa: F401  (registers the built-in node types)
from hs3jax.cache import compilation_cache_dir as compilation_cache_dir
from hs3jax.cache import enable_compilation_cache as enable_compilation_cache
from hs3jax.cache import enable_from_env as _enable_cache_from_env
from hs3jax.errors import (
    CycleError as CycleError,
)
from hs3jax.errors import (
    DocumentError as DocumentError,
)
from hs3jax.errors import (
    DuplicateNameError as DuplicateNameError,
)
from hs3jax.errors import (
    ExpressionError as ExpressionError,
)
from hs3jax.errors import (
    FormatError as FormatError,
)
from hs3jax.errors import (
    HS3JaxError as HS3JaxError,
)
from hs3jax.errors import (
    MissingReferenceError as MissingReferenceError,
)
from hs3jax.errors import (
    ModelError as ModelError,
)
from hs3jax.errors import (
    UnknownTypeError as UnknownTypeError,
)
from hs3jax.formats.patchset import PatchSet as PatchSet
from hs3jax.infer import FitFailed as FitFailed
from hs3jax.infer import FitResult as FitResult
from hs3jax.infer import fit as fit
from hs3jax.infer import hypotest as hypotest
from hs3jax.infer import significance as significance
from hs3jax.infer import upper_limit as upper_limit
from hs3jax.model import Model as Model
from hs3jax.registry import known_types as known_types
from hs3jax.registry import register as register
from hs3jax.schema.base import (
    Distribution as Distribution,
)
from hs3jax.schema.base import (
    Function as Function,
)
from hs3jax.schema.base import (
    Observable as Observable,
)
from hs3jax.schema.base import (
    Ref as Ref,
)
from hs3jax.schema.base import (
    RefList as RefList,
)
from hs3jax.workspace import Workspace as Workspace
from hs3jax.workspace import dump as dump
from hs3jax.workspace import load as load

__version__ = "0.1.0"

# opt-in only: the persistent compilation cache is turned on when $HS3JAX_CACHE_DIR is set
_enable_cache_from_env()

__all__ = [
    "CycleError",
    "Distribution",
    "DocumentError",
    "DuplicateNameError",
    "ExpressionError",
    "FitFailed",
    "FitResult",
    "FormatError",
    "Function",
    "HS3JaxError",
    "MissingReferenceError",
    "Model",
    "ModelError",
    "Observable",
    "PatchSet",
    "Ref",
    "RefList",
    "UnknownTypeError",
    "Workspace",
    "compilation_cache_dir",
    "dump",
    "enable_compilation_cache",
    "fit",
    "hypotest",
    "known_types",
    "load",
    "register",
    "significance",
    "upper_limit",
]

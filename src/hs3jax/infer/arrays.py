"""Array namespace for the formulas shared by host numbers and JAX arrays (test statistics,
CL_s, expected global observables).

The same formulas run on host floats (the fits' results: numpy, no compilation) and inside JAX
transformations (implicit differentiation, toys under ``vmap``): run op by op on floats, the JAX
versions would compile one program per primitive on a first call.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import digamma as jax_digamma
from jax.scipy.special import log_ndtr as jax_log_ndtr
from jax.scipy.special import ndtr as jax_ndtr
from scipy.special import digamma as scipy_digamma
from scipy.special import log_ndtr as scipy_log_ndtr
from scipy.special import ndtr as scipy_ndtr

__all__ = ["digamma", "log_ndtr", "namespace", "ndtr"]


def namespace(*values: Any) -> ModuleType:
    """``jax.numpy`` where any value is a JAX array or tracer, else ``numpy``."""
    return jnp if any(isinstance(v, jax.Array) for v in values) else np


def ndtr(x: Any) -> Any:
    """Φ(x), the standard normal CDF, in the namespace of ``x``."""
    return jax_ndtr(x) if isinstance(x, jax.Array) else scipy_ndtr(x)


def log_ndtr(x: Any) -> Any:
    """ln Φ(x), accurate far in the lower tail, in the namespace of ``x``."""
    return jax_log_ndtr(x) if isinstance(x, jax.Array) else scipy_log_ndtr(x)


def digamma(x: Any) -> Any:
    """ψ(x), the digamma function, in the namespace of ``x``."""
    return jax_digamma(x) if isinstance(x, jax.Array) else scipy_digamma(x)

"""Built-in node families; importing this package registers them."""

from hs3jax.nodes import basic, composite, functions
from hs3jax.nodes.histfactory import dist as _histfactory

__all__ = ["basic", "composite", "functions"]
